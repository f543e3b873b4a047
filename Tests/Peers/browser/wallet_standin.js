// A TEST STAND-IN FOR A BROWSER WALLET (MetaMask, Phantom and the like), which cannot run in headless Chromium here.
// Injected by the browser harness (Tests/Peers/browser/wallet.py) with Page.addScriptToEvaluateOnNewDocument, so it
// runs before the page's own scripts, outside the page's Content-Security-Policy. It holds no keys and reaches no
// network: every request is queued here and answered by the Python side, which polls with driver.execute_script,
// signs with the customer's devnet key (eth_account) or keypair (solders) and sends to the devnet / LiteSVM RPC.
//
// What a page sees:
//   window.ethereum  EIP-1193: request({method, params}) -> Promise; on(event, fn) / removeListener(event, fn) for
//                    "accountsChanged", "chainChanged", "connect", "disconnect"; errors are Error objects with
//                    `code` (4001 user rejected, 4100 unauthorized, 4200 unsupported, 4901 wrong chain, 4902
//                    unknown chain, -326xx/3 from the node) and `data`. Also announced through EIP-6963
//                    ("eip6963:announceProvider" in answer to "eip6963:requestProvider").
//   window.solana    Phantom-like: connect({onlyIfTrusted}) -> {publicKey}; disconnect(); publicKey (null until
//                    connected) with toBase58(), toString(), toBytes(), equals(); isConnected;
//                    signTransaction(bytes) -> Uint8Array; signAllTransactions([bytes]) -> [Uint8Array];
//                    signAndSendTransaction(bytes, {skipPreflight?}) -> {signature: base58, publicKey};
//                    signMessage(bytes) -> {signature: Uint8Array, publicKey}; on/off/removeListener for
//                    "connect", "disconnect", "accountChanged". Transactions are serialized wire bytes
//                    (Uint8Array, legacy or v0 message, signature slots present), not web3.js objects.
//   Wallet Standard  the same account registered by "wallet-standard:register-wallet" and in answer to
//                    "wallet-standard:app-ready": standard:connect, standard:disconnect, standard:events,
//                    solana:signTransaction, solana:signAndSendTransaction, solana:signMessage on solana:localnet.
(() => {
  "use strict";
  if (window.__settleWallet) return;

  const NAME = "Settle test wallet";
  const ICON = "data:image/svg+xml;base64," + btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#345"/>' +
    '<text x="16" y="22" font-size="16" text-anchor="middle" fill="#fff">T</text></svg>');
  const SOLANA_CHAIN = "solana:localnet";

  // ---- the queue the Python side drains: {id, chain, method, params}; answers come back through exchange()
  const queue = [];
  const pending = new Map();
  let nextId = 1;

  function ask(chain, method, params) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      queue.push({ id, chain, method, params: params === undefined ? null : params });
    });
  }

  function providerError(code, message, data) {
    const error = new Error(message);
    error.code = code;
    if (data !== undefined && data !== null) error.data = data;
    return error;
  }

  // ---- tiny event emitters
  function emitter() {
    const listeners = new Map();
    return {
      on(event, fn) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event).add(fn);
      },
      off(event, fn) { listeners.get(event)?.delete(fn); },
      emit(event, ...args) {
        for (const fn of [...(listeners.get(event) ?? [])]) {
          try { fn(...args); } catch (error) { setTimeout(() => { throw error; }); }
        }
      },
    };
  }

  // ---- bytes <-> base64 (the wire between page and Python carries base64 strings)
  function toBytes(value, what) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (Array.isArray(value)) return Uint8Array.from(value);
    throw new TypeError(`${what} must be a Uint8Array of serialized bytes`);
  }
  function b64(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }
  function unb64(text) {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }

  // ================================================================ EVM: EIP-1193
  const evmEvents = emitter();
  const ethereum = {
    isSettleTestWallet: true,
    request(args) {
      if (!args || typeof args !== "object" || typeof args.method !== "string") {
        return Promise.reject(providerError(-32600, "request() takes {method: string, params?: array | object}"));
      }
      const params = args.params === undefined ? [] : args.params;
      return ask("evm", args.method, params);
    },
    on(event, fn) { evmEvents.on(event, fn); return ethereum; },
    removeListener(event, fn) { evmEvents.off(event, fn); return ethereum; },
  };
  ethereum.off = ethereum.removeListener;

  const eip6963 = Object.freeze({
    info: Object.freeze({ uuid: "5e771e00-0000-4000-8000-000000000001", name: NAME, icon: ICON,
                          rdns: "org.settle.test-wallet" }),
    provider: ethereum,
  });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: eip6963 }));
  window.addEventListener("eip6963:requestProvider", announce);

  // ================================================================ Solana: Phantom-like provider
  const solanaEvents = emitter();
  const standardEvents = emitter();
  let solanaAccount = null;   // {address, publicKey: PublicKeyLike}

  function publicKeyLike(address, bytes) {
    return Object.freeze({
      toBase58: () => address,
      toString: () => address,
      toJSON: () => address,
      toBytes: () => bytes.slice(),
      equals: (other) => other != null && String(other.toBase58 ? other.toBase58() : other) === address,
    });
  }

  function setSolanaAccount(answer) {
    const before = solanaAccount?.address ?? null;
    solanaAccount = answer ? { address: answer.publicKey, bytes: unb64(answer.bytes) } : null;
    if (solanaAccount) solanaAccount.publicKey = publicKeyLike(solanaAccount.address, solanaAccount.bytes);
    if ((solanaAccount?.address ?? null) !== before) standardEvents.emit("change", { accounts: standardWallet.accounts });
  }

  const solana = {
    isSettleTestWallet: true,
    get publicKey() { return solanaAccount?.publicKey ?? null; },
    get isConnected() { return solanaAccount !== null; },
    async connect(options) {
      const answer = await ask("solana", "connect", { onlyIfTrusted: Boolean(options?.onlyIfTrusted) });
      setSolanaAccount(answer);
      solanaEvents.emit("connect", solanaAccount.publicKey);
      return { publicKey: solanaAccount.publicKey };
    },
    async disconnect() {
      await ask("solana", "disconnect", {});
      setSolanaAccount(null);
      solanaEvents.emit("disconnect");
    },
    async signTransaction(transaction) {
      const answer = await ask("solana", "signTransaction", { transaction: b64(toBytes(transaction, "transaction")) });
      return unb64(answer.transaction);
    },
    async signAllTransactions(transactions) {
      const answer = await ask("solana", "signAllTransactions",
                               { transactions: transactions.map((t) => b64(toBytes(t, "transaction"))) });
      return answer.transactions.map(unb64);
    },
    async signAndSendTransaction(transaction, options) {
      const answer = await ask("solana", "signAndSendTransaction",
                               { transaction: b64(toBytes(transaction, "transaction")), options: options ?? {} });
      return { signature: answer.signature, publicKey: solana.publicKey };
    },
    async signMessage(message) {
      const answer = await ask("solana", "signMessage", { message: b64(toBytes(message, "message")) });
      return { signature: unb64(answer.signature), publicKey: solana.publicKey };
    },
    on(event, fn) { solanaEvents.on(event, fn); return solana; },
    off(event, fn) { solanaEvents.off(event, fn); return solana; },
  };
  solana.removeListener = solana.off;

  // ================================================================ Solana: Wallet Standard registration
  const SOLANA_FEATURES = ["solana:signTransaction", "solana:signAndSendTransaction", "solana:signMessage"];
  function requireOurAccount(input) {
    if (!solanaAccount || input?.account?.address !== solanaAccount.address) {
      throw providerError(4100, "The requested account has not been authorized by the user.");
    }
  }
  const standardWallet = {
    version: "1.0.0",
    name: NAME,
    icon: ICON,
    chains: [SOLANA_CHAIN],
    get accounts() {
      if (!solanaAccount) return [];
      return [Object.freeze({ address: solanaAccount.address, publicKey: solanaAccount.bytes.slice(),
                              chains: [SOLANA_CHAIN], features: SOLANA_FEATURES })];
    },
    features: {
      "standard:connect": { version: "1.0.0", async connect(input) {
        if (!solanaAccount) await solana.connect({ onlyIfTrusted: Boolean(input?.silent) });
        return { accounts: standardWallet.accounts };
      } },
      "standard:disconnect": { version: "1.0.0", disconnect: () => solana.disconnect() },
      "standard:events": { version: "1.0.0", on(event, listener) {
        standardEvents.on(event, listener);
        return () => standardEvents.off(event, listener);
      } },
      "solana:signTransaction": { version: "1.0.0", supportedTransactionVersions: ["legacy", 0],
        async signTransaction(...inputs) {
          inputs.forEach(requireOurAccount);
          const signed = await solana.signAllTransactions(inputs.map((input) => input.transaction));
          return signed.map((signedTransaction) => ({ signedTransaction }));
        } },
      "solana:signAndSendTransaction": { version: "1.0.0", supportedTransactionVersions: ["legacy", 0],
        async signAndSendTransaction(...inputs) {
          const outputs = [];
          for (const input of inputs) {
            requireOurAccount(input);
            const answer = await ask("solana", "signAndSendTransaction",
                                     { transaction: b64(toBytes(input.transaction, "transaction")),
                                       options: input.options ?? {} });
            outputs.push({ signature: unb64(answer.signatureBytes) });
          }
          return outputs;
        } },
      "solana:signMessage": { version: "1.0.0",
        async signMessage(...inputs) {
          const outputs = [];
          for (const input of inputs) {
            requireOurAccount(input);
            const { signature } = await solana.signMessage(input.message);
            outputs.push({ signedMessage: toBytes(input.message, "message"), signature });
          }
          return outputs;
        } },
    },
  };
  const registerCallback = ({ register }) => register(standardWallet);
  window.addEventListener("wallet-standard:app-ready", (event) => registerCallback(event.detail));
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: registerCallback }));

  // ================================================================ the Python side's entry point
  // exchange(answers, events): settles answered requests ({id, result} or {id, error: {code, message, data}}),
  // fires events ({chain: "evm" | "solana", event, args}), then hands over (and forgets) every queued request.
  function exchange(answers, events) {
    for (const answer of answers ?? []) {
      const waiting = pending.get(answer.id);
      if (!waiting) continue;   // asked by an earlier document
      pending.delete(answer.id);
      if (answer.error) waiting.reject(providerError(answer.error.code, answer.error.message, answer.error.data));
      else waiting.resolve(answer.result);
    }
    for (const { chain, event, args } of events ?? []) {
      if (chain === "evm") evmEvents.emit(event, ...args);
      else if (event === "accountChanged") {
        setSolanaAccount(args[0]);
        solanaEvents.emit("accountChanged", solana.publicKey);
      } else solanaEvents.emit(event, ...args);
    }
    return queue.splice(0, queue.length);
  }

  Object.defineProperty(window, "__settleWallet", { value: Object.freeze({ exchange }), enumerable: false });
  Object.defineProperty(window, "ethereum", { value: ethereum, enumerable: true, configurable: true });
  Object.defineProperty(window, "solana", { value: solana, enumerable: true, configurable: true });
  announce();
})();
