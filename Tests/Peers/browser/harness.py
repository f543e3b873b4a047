"""Headless Chromium for page tests: Debian's chromium through Debian's chromedriver (selenium), desktop and phone
viewports, screenshots into an artifacts folder, and a page that logs an error (console.error, an uncaught
exception, a Content-Security-Policy violation) fails the test.

    with Browser("artifacts/checkout", wallet=wallet) as browser:
        browser.open(url)
        browser.click("#connect")
        browser.wait_for_text("#status", "Connected")      # services the wallet while it waits
        browser.screenshot("01-connected")                  # 01-connected-desktop.png and 01-connected-phone.png

Nothing is left running: close() (and leaving the `with`) quits the driver and kills what remains of its process
group, and a watchdog process does the same if this Python process dies without closing (SIGKILL, crash).
"""
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@dataclass(frozen=True)
class Viewport:
    width: int
    height: int
    scale: float
    mobile: bool


VIEWPORTS = {
    "desktop": Viewport(1280, 900, 1, False),
    "phone": Viewport(390, 844, 2, True),   # an iPhone-12-sized screen (at 2x, not 3x: smaller artifacts), touch
}


class BrowserProblem(AssertionError):
    """The page logged an error: a CSP violation, an uncaught exception, a failed load, console.error."""


# Runs beside the test: when the test process dies its stdin reaches EOF, and it kills chromedriver's process group
# (chromedriver, chromium and all chromium's helpers share it) and removes the browser profile.
_WATCHDOG = """
import os, shutil, signal, sys
sys.stdin.buffer.read()
try:
    os.killpg(int(sys.argv[1]), signal.SIGKILL)
except ProcessLookupError:
    pass
shutil.rmtree(sys.argv[2], ignore_errors=True)
"""


def live_processes(group):
    """Pids of the processes in process group `group` that are not yet dead (zombies waiting for a reaper are)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] not in ("Z", "X"):
            found.append(int(entry))
    return found


class Browser:
    """One headless Chromium. `artifacts`: folder for screenshots (created). `wallet`: a wallet.Wallet whose
    stand-in script is injected into every page and serviced by wait_for. `ignore`: regexes of console messages
    that are expected and not problems."""

    def __init__(self, artifacts, wallet=None, viewport="desktop", ignore=()):
        self.artifacts = os.path.abspath(artifacts)
        os.makedirs(self.artifacts, exist_ok=True)
        self.wallet = wallet
        self.ignore = [re.compile(pattern) for pattern in ignore]
        self.viewport = None
        self.screenshots = []
        self._problems = []
        self._profile = tempfile.mkdtemp(prefix="settle-chromium-")
        self._service = self._watchdog = self.driver = self._group = None
        try:
            self._start()
            self.set_viewport(viewport)
        except BaseException:
            self.close()
            raise

    def _start(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--no-first-run", "--disable-extensions", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-crash-reporter",
                         "--window-size=1280,900", f"--user-data-dir={self._profile}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Its own session, so chromedriver, chromium and chromium's helpers form one process group to kill. Once in a
        # run chromedriver exited at start with status 1 (cause not established; selenium picks the port before
        # chromedriver binds it, so a race is one candidate): it is started again, on a fresh port, at most three
        # times, and its log is printed when it never starts.
        log = os.path.join(self._profile, "chromedriver.log")
        for attempt in range(3):
            self._service = Service(CHROMEDRIVER, popen_kw={"start_new_session": True}, log_output=log)
            try:
                self._service.start()
                break
            except WebDriverException:
                if attempt == 2:
                    with open(log, errors="replace") as handle:
                        sys.stderr.write("chromedriver's log:\n" + handle.read()[-2000:])
                    raise
        self._group = self._service.process.pid
        # Its own session too: `timeout --signal=KILL` kills the test's process group, and the watchdog must outlive
        # that to clean up.
        self._watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(self._group), self._profile],
                                          stdin=subprocess.PIPE, start_new_session=True)
        self.driver = webdriver.Chrome(service=self._service, options=options)
        self.driver.set_page_load_timeout(30)
        if self.wallet is not None:
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": self.wallet.script()})

    # ------------------------------------------------------------------ pages
    def open(self, url):
        self.driver.get(url)
        self.check()

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        return self.find(css).text

    def click(self, css):
        self.find(css).click()

    def type(self, css, text):
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def execute(self, script, *args):
        """driver.execute_script (runs outside the page's CSP)."""
        return self.driver.execute_script(script, *args)

    def wait_for(self, condition, timeout=15, what="condition"):
        """Polls condition() until it returns something truthy, answering the wallet and failing at once on a page
        problem. Returns condition's value; raises TimeoutError (with the page's visible text) after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            if self.wallet is not None:
                self.wallet.pump(self.driver)
            self.check()
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                body = self.driver.find_element(By.TAG_NAME, "body").text
                raise TimeoutError(f"waited {timeout} s for {what}; the page shows:\n{body}")
            time.sleep(0.05)

    def wait_for_text(self, css, contains, timeout=15):
        """Waits until the element `css` exists and its text contains `contains`; returns the text."""
        def found():
            elements = self.driver.find_elements(By.CSS_SELECTOR, css)
            return elements and contains in elements[0].text and elements[0].text
        return self.wait_for(found, timeout, f"{css} to show {contains!r}")

    def wait_for_attribute(self, css, name, timeout=15):
        """Waits until the element `css` has a non-empty attribute `name`; returns its value."""
        def found():
            elements = self.driver.find_elements(By.CSS_SELECTOR, css)
            return elements and elements[0].get_attribute(name)
        return self.wait_for(found, timeout, f"{css} to have {name}")

    # ------------------------------------------------------------------ viewports and screenshots
    def set_viewport(self, name):
        """"desktop" (1280x900) or "phone" (390x844 at 2x, mobile, touch): device metrics emulation, no reload."""
        size = VIEWPORTS[name]
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": size.width, "height": size.height, "deviceScaleFactor": size.scale, "mobile": size.mobile})
        self.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": size.mobile})
        self.viewport = name

    def screenshot(self, name, viewports=("desktop", "phone"), full_page=True):
        """Saves NAME-VIEWPORT.png for each viewport and returns the paths: the whole page (full_page) or the visible
        part. The viewport in use before is restored."""
        before, paths = self.viewport, []
        for viewport in viewports:
            self.set_viewport(viewport)
            self.driver.execute_script("return new Promise((done) => requestAnimationFrame(() => done()))")
            capture = {"format": "png"}
            if full_page:
                size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
                capture.update(captureBeyondViewport=True,
                               clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
            path = os.path.join(self.artifacts, f"{name}-{viewport}.png")
            with open(path, "wb") as png:
                png.write(base64.b64decode(self.driver.execute_cdp_cmd("Page.captureScreenshot", capture)["data"]))
            paths.append(path)
        self.set_viewport(before)
        self.screenshots.extend(paths)
        return paths

    # ------------------------------------------------------------------ problems
    def problems(self):
        """Drains the browser's console log and returns the errors not ignored (CSP violations, uncaught
        exceptions, failed loads, console.error), each as the browser's text."""
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE" and not any(p.search(entry["message"]) for p in self.ignore):
                self._problems.append(f"[{entry.get('source', '?')}] {entry['message']}")
        found, self._problems = self._problems, []
        return found

    def check(self):
        """Raises BrowserProblem if the page has logged an error since the last check."""
        found = self.problems()
        if found:
            raise BrowserProblem("the page logged errors:\n  " + "\n  ".join(found))

    # ------------------------------------------------------------------ shutdown
    def close(self):
        """Quits the driver and kills whatever is left of chromedriver's process group. Safe to call twice."""
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:
                pass
            self.driver = None
        if self._group is not None:
            try:
                os.killpg(self._group, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while live_processes(self._group) and time.monotonic() < deadline:
                time.sleep(0.05)
            self._group = None
        if self._service is not None:
            if self._service.process is not None:
                self._service.process.wait()
            self._service = None
        if self._watchdog is not None:
            self._watchdog.stdin.close()
            self._watchdog.wait()
            self._watchdog = None
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        try:
            if kind is not None and self.driver is not None:
                self.screenshot("FAILED", viewports=(self.viewport,))
        except Exception:
            pass
        finally:
            self.close()
        return False
