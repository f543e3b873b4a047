// The self-test page's script (same origin, no inline script): connects the wallet, sends an ERC-20 approve on the
// EVM devnet and an SPL Token Approve on LiteSVM, and shows each result in the DOM for the test to read.
"use strict";

const $ = (id) => document.getElementById(id);

function show(element, state, text, data = {}) {
  element.dataset.state = state;
  element.textContent = text;
  for (const [key, value] of Object.entries(data)) element.dataset[key] = String(value);
}

function showError(element, error) {
  show(element, "error", `Error ${error.code ?? "?"}: ${error.message}`, { errorCode: error.code ?? "" });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ------------------------------------------------------------------ wallet discovery (EIP-6963, Wallet Standard)
const found = [];
function listWallets() {
  $("discovery").textContent = "Wallets found: " + (found.length ? found.join("; ") : "none");
}
window.addEventListener("eip6963:announceProvider", (event) => {
  const name = `${event.detail.info.name} (EIP-6963, ${event.detail.info.rdns})`;
  if (!found.includes(name)) found.push(name);
  listWallets();
});
window.addEventListener("wallet-standard:register-wallet", (event) => {
  event.detail({ register: registerStandardWallets });
});
function registerStandardWallets(...wallets) {
  for (const wallet of wallets) found.push(`${wallet.name} (Wallet Standard, ${wallet.chains.join(", ")})`);
  listWallets();
  return () => {};
}
window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: { register: registerStandardWallets } }));
window.dispatchEvent(new Event("eip6963:requestProvider"));

// ------------------------------------------------------------------ EVM: ERC-20 approve
const evm = $("evm").dataset;
let evmAccount = null;

function hexWord(value) {
  return BigInt(value).toString(16).padStart(64, "0");
}

async function evmConnect() {
  const status = $("evm-status");
  try {
    [evmAccount] = await window.ethereum.request({ method: "eth_requestAccounts" });
    $("evm-account").textContent = evmAccount;
    const wanted = "0x" + BigInt(evm.chainId).toString(16);
    if ((await window.ethereum.request({ method: "eth_chainId" })) !== wanted) {
      await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: wanted }] });
    }
    $("evm-chain").textContent = String(BigInt(await window.ethereum.request({ method: "eth_chainId" })));
    $("evm-approve").disabled = false;
    show(status, "connected", "Connected.");
  } catch (error) {
    showError(status, error);
  }
}

async function evmApprove() {
  const status = $("evm-status");
  try {
    const data = "0x095ea7b3" + hexWord(evm.spender) + hexWord(evm.amount);   // approve(address,uint256)
    const hash = await window.ethereum.request({
      method: "eth_sendTransaction", params: [{ from: evmAccount, to: evm.token, data }],
    });
    show(status, "sent", `Sent ${hash}, waiting for the receipt…`, { tx: hash });
    let receipt = null;
    while (!receipt) {
      receipt = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (!receipt) await sleep(250);
    }
    const block = Number(BigInt(receipt.blockNumber));
    if (receipt.status === "0x1") {
      show(status, "approved", `Approved in block ${block}: ${hash}`, { tx: hash, block });
    } else {
      show(status, "error", `Reverted in block ${block}: ${hash}`, { tx: hash, block });
    }
  } catch (error) {
    showError(status, error);
  }
}

window.ethereum?.on("accountsChanged", (accounts) => {
  evmAccount = accounts[0] ?? null;
  $("evm-account").textContent = evmAccount ?? "not connected";
});
window.ethereum?.on("chainChanged", (chainId) => {
  $("evm-chain").textContent = String(BigInt(chainId));
});

// ------------------------------------------------------------------ Solana: SPL Token Approve
// The server builds the unsigned transaction (as a checkout page's server would); the wallet signs and sends it.
function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function solConnect() {
  const status = $("sol-status");
  try {
    const { publicKey } = await window.solana.connect();
    $("sol-account").textContent = publicKey.toBase58();
    $("sol-approve").disabled = false;
    show(status, "connected", "Connected.");
  } catch (error) {
    showError(status, error);
  }
}

async function solApprove() {
  const status = $("sol-status");
  try {
    const owner = window.solana.publicKey.toBase58();
    const built = await (await fetch(`/solana/approve-tx?owner=${encodeURIComponent(owner)}`)).json();
    const { signature } = await window.solana.signAndSendTransaction(fromBase64(built.transaction));
    show(status, "sent", `Sent ${signature}, waiting for confirmation…`, { signature });
    for (;;) {
      const answer = await (await fetch(`/solana/status?signature=${encodeURIComponent(signature)}`)).json();
      if (answer.err) throw Object.assign(new Error(JSON.stringify(answer.err)), { code: "chain" });
      if (answer.confirmationStatus === "confirmed" || answer.confirmationStatus === "finalized") {
        show(status, "approved", `Approved in slot ${answer.slot}: ${signature}`, { signature, slot: answer.slot });
        return;
      }
      await sleep(250);
    }
  } catch (error) {
    showError(status, error);
  }
}

$("evm-connect").addEventListener("click", evmConnect);
$("evm-approve").addEventListener("click", evmApprove);
$("sol-connect").addEventListener("click", solConnect);
$("sol-approve").addEventListener("click", solApprove);
