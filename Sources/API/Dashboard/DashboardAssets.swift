/// The dashboard's stylesheet (on top of pages.css) and script (after the pages' shared /assets/wallet.js). The script only fills in "Get data" and runs actions
/// after the browser's confirmation, sending the session's CSRF token in a header; every page works as plain HTML.
enum DashboardAssets {
    static let css = """
        body.dashboard { padding: 0; background: #f4f6fa; }
        .bar { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; padding: 10px 16px; background: #14171f; color: #fff; }
        .bar .brand { font-weight: 700; letter-spacing: .02em; }
        .bar nav { display: flex; flex-wrap: wrap; gap: 4px 14px; flex: 1; }
        .bar nav a { color: #c9d3ea; text-decoration: none; padding: 4px 0; }
        .bar nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #7aa2ff; }
        .signout { display: flex; gap: 10px; align-items: center; margin: 0; }
        .who { color: #c9d3ea; font-size: 14px; }
        button.link { width: auto; margin: 0; padding: 4px 10px; background: transparent; border: 1px solid #5b6472; font-weight: 500; font-size: 14px; }
        main.wide { max-width: 1120px; margin: 0 auto; padding: 16px; }
        main.wide section, main.wide .grid > section { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 12px 16px; margin: 0 0 16px; }
        main.wide h2 { margin-top: 4px; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; }
        .scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
        table { border-collapse: collapse; width: 100%; font-size: 14px; }
        th, td { text-align: left; padding: 6px 10px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; white-space: nowrap; }
        td .mono, td.mono { font-size: 12px; }
        .chart { width: 100%; height: auto; display: block; }
        .legend { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 14px; }
        .big { font-size: 32px; font-weight: 700; margin: 0; } .big a { text-decoration: none; color: var(--accent); }
        button.small { width: auto; margin: 0; padding: 6px 12px; font-size: 14px; }
        .state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 13px; background: #eef2ff; white-space: nowrap; }
        .state.settled, .state.reported { background: #e8f5ec; color: var(--ok); }
        .state.awaiting_funds, .state.unknown, .state.mismatch, .state.failed { background: #fdecea; color: var(--bad); }
        .delivery.delivered { color: var(--ok); } .delivery.gave_up { color: var(--bad); }
        .tag { font-size: 12px; padding: 0 6px; border-radius: 8px; background: #fdecea; color: var(--bad); }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; border: 1px solid var(--line);
                 border-radius: 12px; padding: 12px 16px; margin: 0 0 16px; }
        .facts dt { color: var(--muted); } .facts dd { margin: 0; overflow-wrap: anywhere; }
        .actions { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; margin: 0 0 16px; }
        .actions .live, .actions .result { flex-basis: 100%; margin: 0; }
        .result:empty { display: none; } .result.error { color: var(--bad); }
        .search .row input { flex: 1; } .search .row button { margin: 0; }
        .filters { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin: 0 0 12px; }
        .filters label { margin: 0; } .filters select { width: auto; }
        [data-readiness="all_set"] { color: var(--ok); font-weight: 600; }
        [data-readiness="top_up"], [data-readiness="raise_allowance"] { color: var(--bad); font-weight: 600; }
        @media (max-width: 640px) {
          .bar { padding: 8px 12px; } main.wide { padding: 10px; }
          .facts { grid-template-columns: 1fr; } .facts dt { margin-top: 6px; }
          table.stack thead { display: none; }
          table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
          table.stack td { display: grid; grid-template-columns: 7.5em minmax(0, 1fr); gap: 8px; border: 0; padding: 2px 0; }
          table.stack td::before { content: attr(data-label); color: var(--muted); font-weight: 600; }
          table.stack td > * { justify-self: start; }
          table.stack td[data-label=""]::before { content: none; }
          table.stack td[data-label=""] { display: block; }
        }
        """

    static let js = #"""
        "use strict";
        (function () {
          const { json } = window.SettleWallet;  // /assets/wallet.js, loaded first
          const csrf = document.querySelector('meta[name="settle-csrf"]').content;
          const words = { all_set: "all set", top_up: "top up the balance", raise_allowance: "raise the allowance" };
          function fill(scope, data) {
            const set = (field, text) => { const el = scope.querySelector('[data-field="' + field + '"]'); if (el) el.textContent = text; return el; };
            set("allowance", data.allowance + " " + data.token);
            set("balance", data.balance + " " + data.token);
            const ready = set("readiness", data.readiness ? words[data.readiness] + (data.next ? " (" + data.next.amount + " " + data.token + ")" : "") : "no open invoice");
            if (ready) { ready.dataset.readiness = data.readiness || ""; ready.title = data.advice || ""; }
          }
          for (const button of document.querySelectorAll("[data-get-data]")) {
            button.addEventListener("click", async () => {
              const id = button.dataset.getData;
              const scope = button.closest("tr") || document.querySelector('[data-live="' + id + '"]') || document;
              button.disabled = true; button.textContent = "Reading…";
              try { fill(scope, await json("/dashboard/data/agreements/" + encodeURIComponent(id))); button.textContent = "Refresh"; }
              catch (error) { button.textContent = "Get data"; alert(error.message); }
              button.disabled = false;
            });
          }
          const audit = document.querySelector("[data-audit]");
          if (audit) audit.addEventListener("click", async () => {
            const list = document.getElementById("audit"); list.textContent = ""; audit.disabled = true;
            try {
              const body = await json("/dashboard/data/audit");
              for (const line of body.findings.length ? body.findings : ["Nothing: Stripe and Settle agree on who collects."]) {
                const li = document.createElement("li"); li.textContent = line; list.appendChild(li);
              }
            } catch (error) { const li = document.createElement("li"); li.className = "error"; li.textContent = error.message; list.appendChild(li); }
            audit.disabled = false;
          });
          for (const button of document.querySelectorAll("[data-action]")) {
            button.addEventListener("click", async () => {
              if (!window.confirm(button.dataset.confirm)) return;
              const out = document.querySelector('[data-result-for="' + button.dataset.result + '"]');
              button.disabled = true;
              try {
                const body = await json(button.dataset.action, { method: "POST", headers: { "Accept": "application/json", "X-Settle-CSRF": csrf } });
                if (out) {
                  out.classList.remove("error"); out.textContent = body.message || "Done.";
                  if (body.url) { const a = document.createElement("a"); a.href = body.url; a.textContent = " Open"; a.rel = "noopener noreferrer"; a.target = "_blank"; out.appendChild(a); }
                }
              } catch (error) { if (out) { out.classList.add("error"); out.textContent = error.message; } }
              button.disabled = false;
            });
          }
        })();
        """#
}
