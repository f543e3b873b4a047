/// The pages' stylesheet, scripts and icon, served from this server (`/assets/…`; the CSP allows nothing else).
/// Written for this project by hand: no framework, no build step, no CDN.
enum PageAssets {
    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f4fd6"/>\
        <path d="M9 17l5 5 9-11" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"/></svg>
        """

    static let css = """
        :root { color-scheme: light; --ink: #14171f; --muted: #5b6472; --line: #dde2ea; --accent: #1f4fd6; --ok: #137a3a; --bad: #b3261e; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
               background: #f4f6fa; padding: 24px 12px; }
        .card { max-width: 560px; margin: 0 auto; background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 24px; }
        footer { max-width: 560px; margin: 12px auto; color: var(--muted); font-size: 13px; text-align: center; }
        h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; }
        .eyebrow { margin: 0; color: var(--muted); font-size: 14px; text-transform: uppercase; letter-spacing: .04em; }
        .price { font-size: 18px; margin: 0 0 8px; } .lead { font-size: 17px; }
        label { display: block; font-weight: 600; margin: 12px 0 4px; font-size: 14px; }
        select, input { width: 100%; font: inherit; padding: 10px 12px; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
        .row { display: flex; gap: 8px; align-items: center; } .row input { flex: 1; } .unit { color: var(--muted); min-width: 4em; }
        .hint { color: var(--muted); font-size: 14px; margin: 6px 0 0; }
        button, .button { display: inline-block; width: 100%; margin: 8px 0 0; padding: 12px 16px; font: inherit; font-weight: 600;
                          color: #fff; background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; text-align: center;
                          text-decoration: none; }
        button:disabled { background: #9aa6bd; cursor: default; }
        .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; overflow-wrap: anywhere; }
        #steps { padding-left: 0; list-style: none; margin: 0; }
        #steps li { padding: 6px 0 6px 28px; position: relative; color: var(--muted); }
        #steps li::before { content: ""; position: absolute; left: 4px; top: 12px; width: 12px; height: 12px; border-radius: 50%;
                            border: 2px solid var(--line); }
        #steps li.done { color: var(--ink); } #steps li.done::before { background: var(--ok); border-color: var(--ok); }
        #steps li.current { color: var(--ink); font-weight: 600; } #steps li.current::before { border-color: var(--accent); }
        .error { color: var(--bad); } .error:empty, #status:empty { display: none; }
        #payments { padding-left: 18px; } [hidden] { display: none !important; }
        .agreement { border-top: 1px solid var(--line); padding-top: 12px; margin-top: 16px; }
        .agreement dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 8px 0; }
        .agreement dt { color: var(--muted); } .agreement dd { margin: 0; overflow-wrap: anywhere; }
        .readiness { font-weight: 600; padding: 8px 12px; border-radius: 8px; background: #eef2ff; }
        .readiness.all_set { background: #e8f5ec; color: var(--ok); } .readiness.raise_allowance, .readiness.top_up { background: #fdecea; color: var(--bad); }
        button.secondary { background: #fff; color: var(--bad); border: 1px solid var(--bad); }
        @media (max-width: 480px) { body { padding: 0; } .card { border-radius: 0; border-left: 0; border-right: 0; padding: 18px 16px; } }
        """

    /// The checkout page: choose token and allowance, connect an EIP-1193 wallet (`window.ethereum`) or a Solana one
    /// (`window.solana`), send the approval the server built, report it, and follow the server's progress.
    static let checkoutJS = #"""
        "use strict";
        (function () {
          const $ = (id) => document.getElementById(id);
          const meta = (name) => document.querySelector('meta[name="' + name + '"]').content;
          const session = meta("settle-session"), csrf = meta("settle-csrf");
          const base = "/checkout/" + encodeURIComponent(session);
          let account = null, busy = false, polling = null;

          function option() { return $("option").selectedOptions[0].dataset; }
          function say(text) { $("status").textContent = text; }
          function problem(text) { $("problem").textContent = text || ""; }
          function walletError(error) {
            if (error && error.code === 4001) return "You rejected the request in your wallet. Nothing was sent.";
            return (error && error.message) ? error.message : String(error);
          }
          function toUnits(text, decimals) {
            const clean = text.trim();
            if (!/^\d+(\.\d+)?$/.test(clean)) throw new Error("Enter the allowance as a number, like 130.00");
            const [whole, frac = ""] = clean.split(".");
            if (frac.length > decimals) throw new Error("At most " + decimals + " decimals");
            return (BigInt(whole) * 10n ** BigInt(decimals) + BigInt((frac + "0".repeat(decimals)).slice(0, decimals) || "0")).toString();
          }
          function showOption() {
            const o = option();
            $("allowance").value = o.suggestedDisplay;
            $("allowance-token").textContent = o.token;
            $("reason").textContent = "Suggested: " + o.suggestedDisplay + " " + o.token + " covers " + o.payments +
              " payments of " + o.paymentDisplay + " " + o.token + ". You approve it once; each payment is taken when due.";
            account = null; $("account").textContent = ""; $("approve").disabled = true; $("connect").disabled = false;
            $("connect").textContent = "Connect wallet";
          }
          async function json(url, init) {
            const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { "Accept": "application/json" } }, init || {}));
            const body = await response.json().catch(() => ({}));
            if (!response.ok) throw new Error((body.error && body.error.message) || ("HTTP " + response.status));
            return body;
          }
          async function connect() {
            problem("");
            const o = option();
            try {
              if (o.family === "evm") {
                if (!window.ethereum) throw new Error("No Ethereum wallet found in this browser. Install one, or open this page in your wallet's browser.");
                const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
                const chainId = await window.ethereum.request({ method: "eth_chainId" });
                if (o.chainId && BigInt(chainId) !== BigInt(o.chainId)) {
                  await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + BigInt(o.chainId).toString(16) }] });
                }
                account = accounts[0];
              } else {
                if (!window.solana) throw new Error("No Solana wallet found in this browser.");
                const result = await window.solana.connect();
                account = result.publicKey.toBase58();
              }
              $("account").textContent = "Connected: " + account;
              say("Connected. Check the allowance, then approve.");
              $("approve").disabled = false;
              $("approve").textContent = "Approve " + $("allowance").value + " " + o.token;
            } catch (error) { problem(walletError(error)); }
          }
          function fromBase64(text) { return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)); }
          async function approve() {
            if (busy || !account) return;
            problem(""); busy = true; $("approve").disabled = true;
            const o = option();
            try {
              const amount = toUnits($("allowance").value, Number(o.decimals));
              const query = new URLSearchParams({ chain: o.chain, token: o.token, wallet: account, amount: amount });
              const built = await json(base + "/approval?" + query.toString());
              let sent = null;
              for (const [index, item] of built.transactions.entries()) {
                say("Confirm " + (built.transactions.length > 1 ? "transaction " + (index + 1) + " of " + built.transactions.length : "the approval") + " in your wallet…");
                if (o.family === "evm") {
                  const tx = Object.assign({}, item.transaction); delete tx.nonce; delete tx.chainId; delete tx.type;
                  sent = await window.ethereum.request({ method: "eth_sendTransaction", params: [tx] });
                } else {
                  sent = (await window.solana.signAndSendTransaction(fromBase64(item.transaction))).signature;
                }
              }
              say("Approval sent. Waiting to see it on chain…");
              const state = await json(base + "/approval", { method: "POST", headers: { "Content-Type": "application/json", "X-Settle-CSRF": csrf },
                                                             body: JSON.stringify({ chain: o.chain, token: o.token, transaction: sent }) });
              render(state); poll();
            } catch (error) { problem(walletError(error)); $("approve").disabled = false; }
            busy = false;
          }
          const order = ["open", "approving", "approved", "switched", "charging", "complete"];
          function render(state) {
            const at = order.indexOf(state.step);
            for (const item of document.querySelectorAll("#steps li")) {
              const i = order.indexOf(item.dataset.step);
              item.className = i < at || state.step === "complete" ? "done" : i === at ? "current" : "";
            }
            document.querySelector('meta[name="settle-step"]').content = state.step;
            problem(state.problem || "");
            const list = $("payments"); list.textContent = "";
            for (const invoice of state.invoices || []) {
              const li = document.createElement("li");
              li.textContent = (invoice.amount ? invoice.amount + " " + invoice.token + " · " : "") + (invoice.paid ? "paid" : invoice.state) +
                (invoice.transaction ? " · transaction " + invoice.transaction : "");
              li.dataset.paid = invoice.paid ? "yes" : "no";
              list.appendChild(li);
            }
            if (state.expired) { say("This checkout expired. Ask the merchant for a new link."); $("approve").disabled = true; $("connect").disabled = true; }
            else if (state.step === "open" && state.problem) { say("That approval cannot be used. Approve again."); $("approve").disabled = !account; }
            else if (state.step === "approving") say("Waiting to see the approval on chain…");
            else if (state.step === "approved") say("Approval seen. Switching your subscription…");
            else if (state.step === "switched") say("Subscription switched.");
            else if (state.step === "charging") say("Paying the first invoice from your wallet…");
            else if (state.step === "complete") {
              say(state.invoices && state.invoices.length ? "Paid. Thank you!" : "All set: future invoices are paid from your wallet.");
              if (state.success_url) $("done").hidden = false;
              $("choose").hidden = true; $("wallet").hidden = true;
            }
            if (state.step !== "open") { $("approve").disabled = true; $("connect").disabled = true; }
          }
          async function poll() {
            if (polling) return;
            polling = setInterval(async () => {
              try {
                const state = await json(base + "/state");
                render(state);
                if (state.step === "complete" || state.expired || (state.step === "open" && state.problem)) { clearInterval(polling); polling = null; }
              } catch (error) { problem(error.message); }
            }, 1000);
          }
          $("option").addEventListener("change", showOption);
          $("allowance").addEventListener("input", () => { if (account) $("approve").textContent = "Approve " + $("allowance").value + " " + option().token; });
          $("connect").addEventListener("click", connect);
          $("approve").addEventListener("click", approve);
          showOption();
          if (meta("settle-step") !== "open") { json(base + "/state").then(render).catch((e) => problem(e.message)); poll(); }
        })();
        """#

    /// The portal: render each agreement from the server's state; raise the allowance or stop paying through the
    /// customer's wallet; report the transaction; show what the chain then says.
    static let portalJS = #"""
        "use strict";
        (function () {
          const $ = (id) => document.getElementById(id);
          const meta = (name) => document.querySelector('meta[name="' + name + '"]').content;
          const session = meta("settle-session"), csrf = meta("settle-csrf");
          const base = "/portal/" + encodeURIComponent(session);
          let busy = false;
          const words = { all_set: "All set", top_up: "Top up the balance", raise_allowance: "Raise the allowance" };

          function say(text) { $("status").textContent = text; }
          function problem(text) { $("problem").textContent = text || ""; }
          function walletError(error) {
            if (error && error.code === 4001) return "You rejected the request in your wallet. Nothing was sent.";
            return (error && error.message) ? error.message : String(error);
          }
          async function json(url, init) {
            const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { "Accept": "application/json" } }, init || {}));
            const body = await response.json().catch(() => ({}));
            if (!response.ok) throw new Error((body.error && body.error.message) || ("HTTP " + response.status));
            return body;
          }
          function row(list, label, value) {
            const dt = document.createElement("dt"); dt.textContent = label;
            const dd = document.createElement("dd"); dd.textContent = value;
            list.appendChild(dt); list.appendChild(dd);
          }
          function render(state) {
            const root = $("agreements"); root.textContent = "";
            if (!state.agreements.length) { say("No wallet pays a subscription of yours yet."); return; }
            say("");
            for (const a of state.agreements) {
              const card = document.createElement("section");
              card.className = "agreement"; card.dataset.agreement = a.id;
              const title = document.createElement("h2"); title.textContent = a.token + " on " + a.chain; card.appendChild(title);
              const list = document.createElement("dl");
              row(list, "Wallet", a.wallet);
              row(list, "Balance", a.balance + " " + a.token);
              row(list, "Allowance", a.allowance + " " + a.token);
              row(list, "Next invoice", a.next ? a.next.amount + " " + a.token + ", due " + new Date(a.next.due_at * 1000).toLocaleDateString() : "none open");
              card.appendChild(list);
              if (a.readiness) {
                const ready = document.createElement("p");
                ready.className = "readiness " + a.readiness; ready.dataset.readiness = a.readiness;
                ready.textContent = a.advice || words[a.readiness];
                card.appendChild(ready);
              }
              if (a.suggested && BigInt(a.allowance_units) < BigInt(a.suggested.amount)) {
                const raise = document.createElement("button");
                raise.type = "button"; raise.className = "raise";
                raise.textContent = "Raise the allowance to " + a.suggested.display + " " + a.token;
                raise.addEventListener("click", () => act(a, "raise", a.suggested.amount));
                card.appendChild(raise);
              }
              if (BigInt(a.allowance_units) > 0n) {
                const stop = document.createElement("button");
                stop.type = "button"; stop.className = "stop secondary";
                stop.textContent = "Stop paying (revoke the allowance)";
                stop.addEventListener("click", () => act(a, "revoke", "0"));
                card.appendChild(stop);
              }
              if (a.history.length) {
                const h = document.createElement("h3"); h.textContent = "Payments"; card.appendChild(h);
                const ul = document.createElement("ul"); ul.className = "mono";
                for (const p of a.history) {
                  const li = document.createElement("li");
                  li.textContent = p.invoice + " · " + p.amount + " " + a.token + (p.transaction ? " · " + p.transaction : "");
                  ul.appendChild(li);
                }
                card.appendChild(ul);
              }
              root.appendChild(card);
            }
          }
          function fromBase64(text) { return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)); }
          async function connect(a) {
            if (a.family === "evm") {
              if (!window.ethereum) throw new Error("No Ethereum wallet found in this browser.");
              const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
              if (a.chain_id && BigInt(await window.ethereum.request({ method: "eth_chainId" })) !== BigInt(a.chain_id)) {
                await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + BigInt(a.chain_id).toString(16) }] });
              }
              if (accounts[0].toLowerCase() !== a.wallet.toLowerCase()) throw new Error("Connect the wallet " + a.wallet + ": it is the one paying.");
            } else {
              if (!window.solana) throw new Error("No Solana wallet found in this browser.");
              const key = (await window.solana.connect()).publicKey.toBase58();
              if (key !== a.wallet) throw new Error("Connect the wallet " + a.wallet + ": it is the one paying.");
            }
          }
          async function act(a, action, amount) {
            if (busy) return;
            busy = true; problem("");
            try {
              await connect(a);
              const built = await json(base + "/approval?" + new URLSearchParams({ agreement: a.id, amount: amount }).toString());
              say("Confirm in your wallet…");
              let sent = null;
              for (const item of built.transactions) {
                if (a.family === "evm") {
                  const tx = Object.assign({}, item.transaction); delete tx.nonce; delete tx.chainId; delete tx.type;
                  sent = await window.ethereum.request({ method: "eth_sendTransaction", params: [tx] });
                } else {
                  sent = (await window.solana.signAndSendTransaction(fromBase64(item.transaction))).signature;
                }
              }
              say("Sent. Waiting to see it on chain…");
              for (let i = 0; i < 60; i++) {
                const state = await json(base + "/approval", { method: "POST", headers: { "Content-Type": "application/json", "X-Settle-CSRF": csrf },
                                                               body: JSON.stringify({ agreement: a.id, action: action, transaction: sent }) });
                if (state.action.status === "done") { render(state); say(action === "raise" ? "Allowance raised." : "Allowance revoked: no more payments will be taken."); break; }
                if (state.action.status === "refused") { render(state); problem(state.action.problem); break; }
                await new Promise((resolve) => setTimeout(resolve, 1000));
              }
            } catch (error) { problem(walletError(error)); }
            busy = false;
          }
          json(base + "/state").then(render).catch((error) => { say(""); problem(error.message); });
        })();
        """#
}
