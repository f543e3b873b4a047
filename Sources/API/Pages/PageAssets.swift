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
        .change-form { border: 1px solid var(--line); border-radius: 8px; padding: 4px 12px 12px; margin-top: 8px; background: #fafbfd; }
        .readiness { font-weight: 600; padding: 8px 12px; border-radius: 8px; background: #eef2ff; }
        .readiness.all_set { background: #e8f5ec; color: var(--ok); } .readiness.raise_allowance, .readiness.top_up { background: #fdecea; color: var(--bad); }
        button.secondary { background: #fff; color: var(--bad); border: 1px solid var(--bad); }
        button.neutral { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
        @media (max-width: 480px) { body { padding: 0; } .card { border-radius: 0; border-left: 0; border-right: 0; padding: 18px 16px; } }
        """

    /// The checkout page: choose token and allowance, connect an EIP-1193 wallet (`window.ethereum`) or a Solana one
    /// (`window.solana`), send the approval the server built, report it, and follow the server's progress.
    static let checkoutJS = #"""
        "use strict";
        (function () {
          const $ = (id) => document.getElementById(id);
          const { json, walletError, sleep, sendApprovals, transaction } = window.SettleWallet;
          const meta = (name) => document.querySelector('meta[name="' + name + '"]').content;
          const session = meta("settle-session"), csrf = meta("settle-csrf");
          const base = "/checkout/" + encodeURIComponent(session);
          let account = null, busy = false, polling = null;

          function option() { return $("option").selectedOptions[0].dataset; }
          function say(text) { $("status").textContent = text; }
          function problem(text) { $("problem").textContent = text || ""; }
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
          async function approve() {
            if (busy || !account) return;
            problem(""); busy = true; $("approve").disabled = true;
            const o = option();
            try {
              const amount = toUnits($("allowance").value, Number(o.decimals));
              const query = new URLSearchParams({ chain: o.chain, token: o.token, wallet: account, amount: amount });
              const sent = await sendApprovals(base + "/approval?" + query.toString(), o.family, say);
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
              li.textContent = (invoice.amount ? invoice.amount + " " + invoice.token + " · " : "") + (invoice.paid ? "paid" : invoice.state);
              transaction(li, " · transaction ", invoice.transaction, invoice.transaction_url);
              li.dataset.paid = invoice.paid ? "yes" : "no";
              list.appendChild(li);
            }
            if (state.expired) { say("This checkout expired. Ask the merchant for a new link."); $("approve").disabled = true; $("connect").disabled = true; }
            else if (state.step === "open" && state.problem) { say("That approval cannot be used. Approve again."); $("approve").disabled = !account; }
            else if (state.step === "approving") say("Waiting to see the approval on chain…");
            else if (state.step === "approved") say("Approval seen. Setting up the payment…");
            else if (state.step === "switched") say("Subscription switched.");
            else if (state.step === "charging") say("Taking the payment from your wallet…");
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
    /// What checkout.js and portal.js share (loaded before them): JSON requests that fail with the server's message, the
    /// wallet's errors in words, and the approval transactions sent from the wallet (`sendApprovals`).
    static let walletJS = #"""
        "use strict";
        window.SettleWallet = (function () {
          async function json(url, init) {
            const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { "Accept": "application/json" } }, init || {}));
            const body = await response.json().catch(() => ({}));
            if (!response.ok) throw new Error((body.error && body.error.message) || ("HTTP " + response.status));
            return body;
          }
          function walletError(error) {
            if (error && error.code === 4001) return "You rejected the request in your wallet. Nothing was sent.";
            return (error && error.message) ? error.message : String(error);
          }
          function fromBase64(text) { return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)); }
          const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
          async function sendOne(item, family) {
            if (family === "evm") {
              const tx = Object.assign({}, item.transaction); delete tx.nonce; delete tx.chainId; delete tx.type;
              return await window.ethereum.request({ method: "eth_sendTransaction", params: [tx] });
            }
            return (await window.solana.signAndSendTransaction(fromBase64(item.transaction))).signature;
          }
          // The approval transactions from `url`, sent from the wallet; the last one's hash or signature. A token that
          // refuses to change a standing allowance gets approve(0) first: sent, waited for, then the approval itself.
          async function sendApprovals(url, family, say) {
            let built = await json(url);
            const twice = built.then === "approve";
            if (twice) {
              say("Confirm transaction 1 of 2 in your wallet: this token needs its allowance set to zero first.");
              await sendOne(built.transactions[0], family);
              say("Waiting for transaction 1 of 2 to be on chain…");
              for (let i = 0; built.then && i < 120; i++) { await sleep(1000); built = await json(url); }
              if (built.then) throw new Error("The first transaction is not on chain after two minutes. Try again.");
            }
            say(twice ? "Confirm transaction 2 of 2 in your wallet…" : "Confirm the approval in your wallet…");
            let sent = null;
            for (const item of built.transactions) sent = await sendOne(item, family);
            return sent;
          }
          // Appends `prefix` and the transaction id to `element`: a link to the explorer when the chain file names one.
          function transaction(element, prefix, id, url) {
            if (!id) return;
            element.appendChild(document.createTextNode(prefix));
            if (url && /^https?:\/\//.test(url)) {
              const link = document.createElement("a");
              link.href = url; link.textContent = id; link.target = "_blank"; link.rel = "noopener noreferrer";
              element.appendChild(link);
            } else {
              element.appendChild(document.createTextNode(id));
            }
          }
          return { json, walletError, sleep, sendApprovals, transaction };
        })();
        """#

    static let portalJS = #"""
        "use strict";
        (function () {
          const $ = (id) => document.getElementById(id);
          const { json, walletError, sleep, sendApprovals, transaction } = window.SettleWallet;
          const meta = (name) => document.querySelector('meta[name="' + name + '"]').content;
          const session = meta("settle-session"), csrf = meta("settle-csrf");
          const base = "/portal/" + encodeURIComponent(session);
          let busy = false;
          const done = { raise: "Allowance raised.", revoke: "Allowance revoked: no more payments will be taken.",
                         change: "Done: the next payments come from the new wallet and token." };
          const words = { all_set: "All set", top_up: "Top up the balance", raise_allowance: "Raise the allowance" };

          function say(text) { $("status").textContent = text; }
          function problem(text) { $("problem").textContent = text || ""; }
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
              const change = document.createElement("button");
              change.type = "button"; change.className = "change neutral";
              change.textContent = "Pay from another wallet or token";
              const form = document.createElement("div");
              form.className = "change-form"; form.hidden = true;
              const label = document.createElement("label");
              label.textContent = "Token";
              const select = document.createElement("select");
              select.className = "change-token";
              for (const symbol of a.tokens) {
                const option = document.createElement("option");
                option.value = symbol; option.textContent = symbol + " on " + a.chain; option.selected = symbol === a.token;
                select.appendChild(option);
              }
              label.appendChild(select);
              const go = document.createElement("button");
              go.type = "button"; go.className = "change-approve";
              go.textContent = "Connect the new wallet and approve";
              const hint = document.createElement("p");
              hint.className = "hint";
              hint.textContent = "Choose the token, then connect the wallet that should pay from now on (switch accounts in your wallet first). " +
                "It applies once the approval is on chain and no payment is on its way.";
              form.appendChild(label); form.appendChild(hint); form.appendChild(go);
              change.addEventListener("click", () => { form.hidden = !form.hidden; });
              go.addEventListener("click", () => act(a, "change", null, select.value));
              if (BigInt(a.allowance_units) > 0n) {
                const stop = document.createElement("button");
                stop.type = "button"; stop.className = "stop secondary";
                stop.textContent = "Stop paying (revoke the allowance)";
                stop.addEventListener("click", () => act(a, "revoke", "0"));
                card.appendChild(stop);
              }
              card.appendChild(change); card.appendChild(form);
              if (a.history.length) {
                const h = document.createElement("h3"); h.textContent = "Payments"; card.appendChild(h);
                const ul = document.createElement("ul"); ul.className = "mono";
                for (const p of a.history) {
                  const li = document.createElement("li");
                  li.textContent = p.invoice + " · " + p.amount + " " + a.token;
                  transaction(li, " · ", p.transaction, p.transaction_url);
                  ul.appendChild(li);
                }
                card.appendChild(ul);
              }
              root.appendChild(card);
            }
          }
          // The connected account; for a raise or a revoke it must be the agreement's wallet, for a change any.
          async function connect(a, any) {
            if (a.family === "evm") {
              if (!window.ethereum) throw new Error("No Ethereum wallet found in this browser.");
              const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
              if (a.chain_id && BigInt(await window.ethereum.request({ method: "eth_chainId" })) !== BigInt(a.chain_id)) {
                await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + BigInt(a.chain_id).toString(16) }] });
              }
              if (!any && accounts[0].toLowerCase() !== a.wallet.toLowerCase()) throw new Error("Connect the wallet " + a.wallet + ": it is the one paying.");
              return accounts[0];
            } else {
              if (!window.solana) throw new Error("No Solana wallet found in this browser.");
              const key = (await window.solana.connect()).publicKey.toBase58();
              if (!any && key !== a.wallet) throw new Error("Connect the wallet " + a.wallet + ": it is the one paying.");
              return key;
            }
          }
          async function act(a, action, amount, token) {
            if (busy) return;
            busy = true; problem("");
            try {
              const account = await connect(a, action === "change");
              const query = { agreement: a.id };
              if (amount !== null) query.amount = amount;
              if (action === "change") { query.token = token; query.wallet = account; }
              const sent = await sendApprovals(base + "/approval?" + new URLSearchParams(query).toString(), a.family, say);
              say("Sent. Waiting to see it on chain…");
              for (let i = 0; i < 60; i++) {
                const state = await json(base + "/approval", { method: "POST", headers: { "Content-Type": "application/json", "X-Settle-CSRF": csrf },
                                                               body: JSON.stringify({ agreement: a.id, action: action, transaction: sent,
                                                                                     token: action === "change" ? token : null }) });
                if (state.action.status === "done") { render(state); say(done[action]); break; }
                if (state.action.status === "refused") { render(state); problem(state.action.problem); break; }
                if (state.action.status === "waiting") say(state.action.problem);
                await sleep(1000);
              }
            } catch (error) { problem(walletError(error)); }
            busy = false;
          }
          json(base + "/state").then(render).catch((error) => { say(""); problem(error.message); });
        })();
        """#
}
