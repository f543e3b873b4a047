#!/usr/bin/env python3
"""Self-check of solana_rpc.py: starts it, drives a delegated-payment flow through urllib + solders, and checks
every answer parses with the matching solders response type. Run with the peers' venv python:
    python Tests/Peers/test_solana_rpc.py
Prints timings and ends with 'N passed, 0 failed'; exit code 1 on any failure."""
import base64
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc import responses as R
from solders.system_program import (
    AdvanceNonceAccountParams,
    TransferParams,
    advance_nonce_account,
    create_nonce_account,
    transfer,
)
from solders.transaction import VersionedTransaction
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import approve, get_associated_token_address, revoke, transfer_checked
from spl.token.models import ApproveParams, RevokeParams, TransferCheckedParams

HERE = os.path.dirname(os.path.abspath(__file__))
LAG = 4
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}", flush=True)


class Client:
    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}"
        self.next_id = 0

    def raw(self, body: bytes) -> bytes:
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def call(self, method, *params, resp=None):
        """(result or None, error or None); with resp, the raw text must parse as that solders type."""
        self.next_id += 1
        text = self.raw(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                    "params": list(params)}).encode())
        body = json.loads(text)
        if resp is not None and "result" in body:
            parsed = resp.from_json(text.decode())
            check(f"{method} parses as {resp.__name__}", isinstance(parsed, resp), repr(parsed)[:300])
        return body.get("result"), body.get("error")

    def ok(self, method, *params, resp=None):
        result, error = self.call(method, *params, resp=resp)
        if error is not None:
            raise AssertionError(f"{method} failed: {error}")
        return result


class KeepAliveClient(Client):
    """One persistent HTTP/1.1 connection (what the Swift side's libcurl does)."""

    def __init__(self, port):
        super().__init__(port)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def raw(self, body: bytes) -> bytes:
        self.conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        return self.conn.getresponse().read()


def start(*flags):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "solana_rpc.py"), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    if not line.startswith("PORT "):
        proc.kill()
        raise AssertionError(f"no PORT line: {line!r} {proc.stderr.read().decode()[-2000:]}")
    return proc, int(line.split()[1])


def stop(proc):
    proc.kill()
    proc.wait()
    err = proc.stderr.read().decode()
    if err.strip():
        print("server stderr:\n" + err[-3000:])


def b64tx(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


def keypair(entry) -> Keypair:
    return Keypair.from_bytes(bytes(entry["secretKey"]))


def main():
    started = time.time()
    proc, port = start("--finalized-lag", str(LAG))
    print(f"server up in {time.time() - started:.2f}s", flush=True)
    try:
        run(Client(port), port)
        t0 = time.time()
        run_token2022(Client(port))
        print(f"token-2022 extensions {time.time() - t0:.2f}s", flush=True)
    finally:
        stop(proc)
    proc, port = start("--txs-per-slot", "3", "--slot-stride", "2", "--finalized-lag", "2")
    try:
        run_packed_slots(Client(port))
    finally:
        stop(proc)
    proc, port = start("--slot-interval-ms", "20")
    try:
        c = Client(port)
        first = c.ok("getSlot", {"commitment": "processed"})
        time.sleep(0.5)
        later = c.ok("getSlot", {"commitment": "processed"})
        check("slot ticker", later - first >= 5, (first, later))
    finally:
        stop(proc)
    print(f"total {time.time() - started:.1f}s")
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


def latest_blockhash(c, commitment="confirmed"):
    value = c.ok("getLatestBlockhash", {"commitment": commitment}, resp=R.GetLatestBlockhashResp)["value"]
    return Hash.from_string(value["blockhash"]), value["lastValidBlockHeight"]


def send(c, ixs, signers, skip=False, v0_tables=None, blockhash=None):
    blockhash = blockhash or latest_blockhash(c)[0]
    if v0_tables is not None:
        msg = MessageV0.try_compile(signers[0].pubkey(), ixs, v0_tables, blockhash)
    else:
        msg = Message.new_with_blockhash(ixs, signers[0].pubkey(), blockhash)
    tx = VersionedTransaction(msg, signers)
    return c.call("sendTransaction", b64tx(tx), {"encoding": "base64", "skipPreflight": skip,
                                                 "preflightCommitment": "confirmed"}, resp=R.SendTransactionResp), tx


def get_tx(c, sig, **config):
    config.setdefault("commitment", "confirmed")
    config.setdefault("maxSupportedTransactionVersion", 0)
    return c.ok("getTransaction", sig, config, resp=R.GetTransactionResp)


def run(c: Client, port: int):
    # ---------------------------------------------------------------- plain node methods
    check("health", c.ok("getHealth", resp=R.GetHealthResp) == "ok")
    c.ok("getVersion", resp=R.GetVersionResp)
    c.ok("getGenesisHash", resp=R.GetGenesisHashResp)
    c.ok("getIdentity", resp=R.GetIdentityResp)
    c.ok("getEpochInfo", resp=R.GetEpochInfoResp)
    c.ok("getFirstAvailableBlock", resp=R.GetFirstAvailableBlockResp)
    rent = c.ok("getMinimumBalanceForRentExemption", 165, resp=R.GetMinimumBalanceForRentExemptionResp)
    check("rent 165", rent == 2039280, rent)

    # ---------------------------------------------------------------- setup via dev methods
    t0 = time.time()
    kps = c.ok("settle_keypairs", {"count": 5, "lamports": 10 * 10**9})
    owner, delegate, treasury, stranger, extra = (keypair(k) for k in kps)
    check("keypair pubkeys", str(owner.pubkey()) == kps[0]["pubkey"])
    bal = c.ok("getBalance", str(owner.pubkey()), {"commitment": "confirmed"}, resp=R.GetBalanceResp)
    check("funded", bal["value"] == 10 * 10**9, bal)
    mint = c.ok("settle_createMint", {"decimals": 6, "program": "token"})
    mint22 = c.ok("settle_createMint", {"decimals": 9, "program": "token2022"})
    owner_ata = c.ok("settle_createAta", {"owner": str(owner.pubkey()), "mint": mint})
    treasury_ata = c.ok("settle_createAta", {"owner": str(treasury.pubkey()), "mint": mint})
    check("ata derivation", owner_ata == str(get_associated_token_address(owner.pubkey(), Pubkey.from_string(mint))))
    c.ok("settle_mintTo", {"mint": mint, "destination": owner_ata, "amount": 1_000_000_000})
    owner_ata22 = str(get_associated_token_address(owner.pubkey(), Pubkey.from_string(mint22),
                                                   Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")))
    c.ok("settle_mintTo", {"mint": mint22, "destination": str(owner.pubkey()), "amount": "18446744073709551615"})
    bal22 = c.ok("getTokenAccountBalance", owner_ata22, {"commitment": "confirmed"},
                 resp=R.GetTokenAccountBalanceResp)["value"]
    check("u64 max exact", bal22["amount"] == "18446744073709551615"
          and bal22["uiAmountString"] == "18446744073.709551615", bal22)
    print(f"setup (dev methods) {time.time() - t0:.2f}s", flush=True)

    mint_pk, owner_ata_pk, treasury_ata_pk = (Pubkey.from_string(x) for x in (mint, owner_ata, treasury_ata))
    bal = c.ok("getTokenAccountBalance", owner_ata, {"commitment": "confirmed"}, resp=R.GetTokenAccountBalanceResp)
    check("token balance", bal["value"] == {"uiAmount": 1000.0, "decimals": 6, "amount": "1000000000",
                                            "uiAmountString": "1000"}, bal)

    # ---------------------------------------------------------------- approve, delegated transfer
    (approve_sig, error), approve_tx = send(c, [approve(ApproveParams(
        program_id=TOKEN_PROGRAM_ID, source=owner_ata_pk, delegate=delegate.pubkey(), owner=owner.pubkey(),
        amount=300_000_000))], [owner])
    check("approve sent", error is None and approve_sig == str(approve_tx.signatures[0]), error)
    by_delegate = c.ok("getTokenAccountsByDelegate", str(delegate.pubkey()), {"programId": str(TOKEN_PROGRAM_ID)},
                       {"encoding": "base64", "commitment": "confirmed"}, resp=R.GetTokenAccountsByDelegateResp)
    check("by delegate", [a["pubkey"] for a in by_delegate["value"]] == [owner_ata], by_delegate)
    by_delegate_fin = c.ok("getTokenAccountsByDelegate", str(delegate.pubkey()), {"mint": mint},
                           {"encoding": "base64"}, resp=R.GetTokenAccountsByDelegateResp)
    check("by delegate not yet finalized", by_delegate_fin["value"] == [], by_delegate_fin)
    _, error = c.call("getTokenAccountsByDelegate", str(delegate.pubkey()), {"mint": mint},
                      {"commitment": "confirmed"})
    check("binary encoding of 165 bytes refused", error and error["code"] == -32600, error)
    by_owner = c.ok("getTokenAccountsByOwner", str(owner.pubkey()), {"programId": str(TOKEN_PROGRAM_ID)},
                    {"encoding": "base64", "commitment": "confirmed"}, resp=R.GetTokenAccountsByOwnerResp)
    check("by owner (token)", [a["pubkey"] for a in by_owner["value"]] == [owner_ata], by_owner)
    by_owner22 = c.ok("getTokenAccountsByOwner", str(owner.pubkey()),
                      {"programId": "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"},
                      {"encoding": "base64", "commitment": "confirmed"}, resp=R.GetTokenAccountsByOwnerResp)
    check("by owner (token-2022)", [a["pubkey"] for a in by_owner22["value"]] == [owner_ata22], by_owner22)

    t22 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
    (_, error), _ = send(c, [approve(ApproveParams(program_id=t22, source=Pubkey.from_string(owner_ata22),
                                                   delegate=delegate.pubkey(), owner=owner.pubkey(), amount=5))],
                         [owner])
    check("approve token-2022", error is None, error)
    by22 = c.ok("getTokenAccountsByDelegate", str(delegate.pubkey()), {"programId": str(t22)},
                {"encoding": "base64", "commitment": "confirmed"}, resp=R.GetTokenAccountsByDelegateResp)
    check("by delegate (token-2022)", [a["pubkey"] for a in by22["value"]] == [owner_ata22], by22)
    (sig22, error), _ = send(c, [transfer_checked(TransferCheckedParams(
        program_id=t22, source=Pubkey.from_string(owner_ata22), mint=Pubkey.from_string(mint22),
        dest=Pubkey.from_string(owner_ata22), owner=delegate.pubkey(), amount=5, decimals=9))], [delegate])
    check("token-2022 delegated transfer", error is None, error)
    tb = get_tx(c, sig22)["meta"]["postTokenBalances"]
    check("token-2022 token balances", len(tb) == 1 and tb[0]["programId"] == str(t22) and
          tb[0]["uiTokenAmount"]["uiAmountString"] == "18446744073.709551615", tb)

    (pull_sig, error), _ = send(c, [transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID, source=owner_ata_pk, mint=mint_pk, dest=treasury_ata_pk,
        owner=delegate.pubkey(), amount=100_000_000, decimals=6))], [delegate])
    check("delegated transfer", error is None, error)
    tx = get_tx(c, pull_sig)
    meta = tx["meta"]
    check("pull ok", meta["err"] is None and meta["status"] == {"Ok": None}, meta)
    check("pull version", tx["version"] == "legacy")
    pre = {b["accountIndex"]: b["uiTokenAmount"]["amount"] for b in meta["preTokenBalances"]}
    post = {b["accountIndex"]: b["uiTokenAmount"]["amount"] for b in meta["postTokenBalances"]}
    keys = tx["transaction"]["message"]["accountKeys"]
    check("pull token balances", pre[keys.index(owner_ata)] == "1000000000" and
          post[keys.index(owner_ata)] == "900000000" and post[keys.index(treasury_ata)] == "100000000", meta)
    check("pull token balance fields", all(set(b) == {"accountIndex", "mint", "owner", "programId", "uiTokenAmount"}
                                           for b in meta["postTokenBalances"]), meta["postTokenBalances"])
    check("fee exact", meta["fee"] == 5000 and meta["preBalances"][0] - meta["postBalances"][0] == 5000, meta)
    check("instructions stackHeight null", tx["transaction"]["message"]["instructions"][0]["stackHeight"] is None)
    b64_tx = get_tx(c, pull_sig, encoding="base64")
    check("base64 encoding", b64_tx["transaction"][1] == "base64" and
          VersionedTransaction.from_bytes(base64.b64decode(b64_tx["transaction"][0])).signatures[0] ==
          approve_tx.signatures[0].__class__.from_string(pull_sig))

    # ---------------------------------------------------------------- failures
    over = [transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID, source=owner_ata_pk, mint=mint_pk, dest=treasury_ata_pk,
        owner=delegate.pubkey(), amount=500_000_000, decimals=6))]
    (_, error), _ = send(c, over, [delegate])
    check("preflight failure code", error and error["code"] == -32002, error)
    check("preflight failure message", error and error["message"] ==
          "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1", error)
    check("preflight failure data", error and error["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
          and error["data"]["logs"] and error["data"]["accounts"] is None, error)
    (fail_sig, error), _ = send(c, over, [delegate], skip=True)
    check("skipPreflight accepted", error is None and isinstance(fail_sig, str), error)
    tx = get_tx(c, fail_sig)
    check("failed recorded", tx and tx["meta"]["err"] == {"InstructionError": [0, {"Custom": 1}]}, tx)
    check("failed charged fee", tx["meta"]["preBalances"][0] - tx["meta"]["postBalances"][0] == 5000)
    sigs = c.ok("getSignaturesForAddress", owner_ata, {"commitment": "confirmed"}, resp=R.GetSignaturesForAddressResp)
    check("failed listed with err", sigs[0]["signature"] == fail_sig and sigs[0]["err"] is not None
          and sigs[1]["signature"] == pull_sig and sigs[1]["err"] is None, sigs[:2])
    check("signature entry fields", set(sigs[0]) == {"signature", "slot", "err", "memo", "blockTime",
                                                     "confirmationStatus"}, sigs[0])
    statuses = c.ok("getSignatureStatuses", [fail_sig, pull_sig, str(Keypair().pubkey()) * 0 or "1" * 64],
                    resp=R.GetSignatureStatusesResp)["value"]
    check("statuses", statuses[0]["err"] is not None and statuses[0]["confirmations"] == 0 and
          statuses[0]["confirmationStatus"] == "confirmed" and statuses[1]["err"] is None and statuses[2] is None,
          statuses)
    _, error = c.call("sendTransaction", b64tx(approve_tx), {"encoding": "base64"})
    check("duplicate", error and error["code"] == -32002 and error["data"]["err"] == "AlreadyProcessed", error)
    poor = Keypair()
    (dropped_sig, error), _ = send(c, [transfer(TransferParams(from_pubkey=poor.pubkey(), to_pubkey=owner.pubkey(),
                                                               lamports=1))], [poor], skip=True)
    check("unfunded fee payer dropped", error is None and
          c.ok("getSignatureStatuses", [dropped_sig], {"searchTransactionHistory": True})["value"] == [None])
    (_, error), _ = send(c, [transfer(TransferParams(from_pubkey=poor.pubkey(), to_pubkey=owner.pubkey(),
                                                     lamports=1))], [poor])
    check("unfunded fee payer preflight", error and error["data"]["err"] == "AccountNotFound" and error["message"] ==
          "Transaction simulation failed: Attempt to debit an account but found no record of a prior credit.", error)
    # bad signature
    good = VersionedTransaction(Message.new_with_blockhash(
        [transfer(TransferParams(from_pubkey=owner.pubkey(), to_pubkey=treasury.pubkey(), lamports=1))],
        owner.pubkey(), latest_blockhash(c)[0]), [owner])
    forged = VersionedTransaction.populate(good.message, [stranger.sign_message(to_bytes_versioned(good.message))])
    _, error = c.call("sendTransaction", b64tx(forged), {"encoding": "base64"})
    check("sig verify", error and error["code"] == -32003, error)

    # ---------------------------------------------------------------- revoke and finalized view of delegations
    (revoke_sig, error), _ = send(c, [revoke(RevokeParams(program_id=TOKEN_PROGRAM_ID, account=owner_ata_pk,
                                                          owner=owner.pubkey()))], [owner])
    check("revoke", error is None, error)
    now = c.ok("getTokenAccountsByDelegate", str(delegate.pubkey()), {"mint": mint},
               {"encoding": "base64", "commitment": "confirmed"}, resp=R.GetTokenAccountsByDelegateResp)
    check("revoked (confirmed)", now["value"] == [], now)
    c.ok("settle_advanceSlots", LAG - 1)
    fin = c.ok("getTokenAccountsByDelegate", str(delegate.pubkey()), {"mint": mint}, {"encoding": "base64"},
               resp=R.GetTokenAccountsByDelegateResp)
    check("still delegated at finalized", [a["pubkey"] for a in fin["value"]] == [owner_ata], fin)
    check("finalized getTransaction hides revoke", c.ok("getTransaction", revoke_sig) is None)
    check("finalized slot lag", c.ok("getSlot", {"commitment": "confirmed"}, resp=R.GetSlotResp) -
          c.ok("getSlot", resp=R.GetSlotResp) == LAG)
    check("block height lag", c.ok("getBlockHeight", {"commitment": "processed"}, resp=R.GetBlockHeightResp) -
          c.ok("getBlockHeight", resp=R.GetBlockHeightResp) == LAG)
    c.ok("settle_advanceSlots", 1)
    fin = c.ok("getTokenAccountsByDelegate", str(delegate.pubkey()), {"mint": mint}, {"encoding": "base64"})
    check("revoked at finalized", fin["value"] == [], fin)
    fin_tx = c.ok("getTransaction", revoke_sig, {"maxSupportedTransactionVersion": 0}, resp=R.GetTransactionResp)
    check("finalized getTransaction", fin_tx is not None and fin_tx["slot"] > 0)
    st = c.ok("getSignatureStatuses", [revoke_sig])["value"][0]
    check("finalized status", st["confirmationStatus"] == "finalized" and st["confirmations"] is None, st)
    _, error = c.call("getTransaction", revoke_sig, {"commitment": "processed"})
    check("processed refused", error and error["code"] == -32602, error)

    # ---------------------------------------------------------------- v0 with a lookup table
    table = c.ok("settle_createLookupTable", {"addresses": [treasury_ata, mint, str(TOKEN_PROGRAM_ID)]})
    alt = AddressLookupTableAccount(Pubkey.from_string(table), [treasury_ata_pk, mint_pk, TOKEN_PROGRAM_ID])
    (v0_sig, error), v0_tx = send(c, [transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID, source=owner_ata_pk, mint=mint_pk, dest=treasury_ata_pk,
        owner=owner.pubkey(), amount=50_000_000, decimals=6))], [owner], v0_tables=[alt])
    check("v0 sent", error is None and len(v0_tx.message.address_table_lookups) == 1, error)
    _, error = c.call("getTransaction", v0_sig, {"commitment": "confirmed"})
    check("v0 needs maxSupportedTransactionVersion", error and error["code"] == -32015 and error["message"] ==
          "Transaction version (0) is not supported by the requesting client. Please try the request again with "
          "the following configuration parameter: \"maxSupportedTransactionVersion\": 0", error)
    tx = get_tx(c, v0_sig)
    check("v0 version", tx["version"] == 0)
    check("v0 loaded", tx["meta"]["loadedAddresses"] == {"writable": [treasury_ata], "readonly": [mint]},
          tx["meta"]["loadedAddresses"])
    check("v0 lookups", tx["transaction"]["message"]["addressTableLookups"] ==
          [{"accountKey": table, "writableIndexes": [0], "readonlyIndexes": [1]}], tx["transaction"]["message"])
    n_keys = len(tx["transaction"]["message"]["accountKeys"]) + 2
    check("v0 balances cover loaded", len(tx["meta"]["preBalances"]) == n_keys)
    tsigs = c.ok("getSignaturesForAddress", treasury_ata, {"commitment": "confirmed", "limit": 1})
    check("loaded address indexed", tsigs[0]["signature"] == v0_sig, tsigs)
    msigs = c.ok("getSignaturesForAddress", mint, {"commitment": "confirmed", "limit": 1})
    check("readonly loaded indexed", msigs[0]["signature"] == v0_sig, msigs)

    # ---------------------------------------------------------------- CPI: ATA RecoverNested (TransferChecked by CPI)
    nested = c.ok("settle_createAta", {"owner": owner_ata, "mint": mint})
    c.ok("settle_mintTo", {"mint": mint, "destination": nested, "amount": 7_000_000})
    recover = Instruction(ASSOCIATED_TOKEN_PROGRAM_ID, bytes([2]), [
        AccountMeta(Pubkey.from_string(nested), False, True), AccountMeta(mint_pk, False, False),
        AccountMeta(owner_ata_pk, False, True), AccountMeta(owner_ata_pk, False, False),
        AccountMeta(mint_pk, False, False), AccountMeta(owner.pubkey(), True, True),
        AccountMeta(TOKEN_PROGRAM_ID, False, False)])
    (cpi_sig, error), _ = send(c, [recover], [owner])
    check("cpi sent", error is None, error)
    if error is None:
        tx = get_tx(c, cpi_sig)
        inner = tx["meta"]["innerInstructions"]
        keys = tx["transaction"]["message"]["accountKeys"]
        check("inner instructions", len(inner) == 1 and inner[0]["index"] == 0 and
              all(i["stackHeight"] == 2 for i in inner[0]["instructions"]), inner)
        kinds = [(keys[i["programIdIndex"]], __import__("base58").b58decode(i["data"])[0])
                 for i in inner[0]["instructions"]]
        check("cpi TransferChecked", (str(TOKEN_PROGRAM_ID), 12) in kinds, kinds)
        pre = {b["accountIndex"]: b["uiTokenAmount"] for b in tx["meta"]["preTokenBalances"]}
        post = {b["accountIndex"]: b["uiTokenAmount"] for b in tx["meta"]["postTokenBalances"]}
        check("cpi token balances", pre[keys.index(nested)]["amount"] == "7000000" and keys.index(nested) not in post
              and int(post[keys.index(owner_ata)]["amount"]) - int(pre[keys.index(owner_ata)]["amount"]) == 7000000,
              (pre, post))
    # ATA creation by a client: CPIs into system + token programs
    (ata_sig, error), _ = send(c, [Instruction(ASSOCIATED_TOKEN_PROGRAM_ID, bytes([1]), [
        AccountMeta(extra.pubkey(), True, True),
        AccountMeta(get_associated_token_address(extra.pubkey(), mint_pk), False, True),
        AccountMeta(extra.pubkey(), False, False), AccountMeta(mint_pk, False, False),
        AccountMeta(Pubkey.default(), False, False), AccountMeta(TOKEN_PROGRAM_ID, False, False)])], [extra])
    check("create_idempotent inner", error is None and len(get_tx(c, ata_sig)["meta"]["innerInstructions"][0][
        "instructions"]) >= 3, error)

    # ---------------------------------------------------------------- memo, priority fee
    memo_ix = Instruction(Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"), b"invoice 42",
                          [AccountMeta(extra.pubkey(), True, False)])
    (memo_sig, error), _ = send(c, [set_compute_unit_price(1234), memo_ix], [extra])
    check("memo sent", error is None, error)
    esigs = c.ok("getSignaturesForAddress", str(extra.pubkey()), {"commitment": "confirmed", "limit": 1})
    check("memo field", esigs[0]["memo"] == "[10] invoice 42", esigs)
    fees = c.ok("getRecentPrioritizationFees", [str(extra.pubkey())], resp=R.GetRecentPrioritizationFeesResp)
    check("priority fee", fees[-1] == {"slot": esigs[0]["slot"], "prioritizationFee": 1234}, fees[-3:])
    check("priority fee zero elsewhere", all(f["prioritizationFee"] == 0 for f in fees[:-1]), fees)
    fee_msg = Message.new_with_blockhash([memo_ix], extra.pubkey(), latest_blockhash(c, "finalized")[0])
    fee = c.ok("getFeeForMessage", base64.b64encode(bytes(fee_msg)).decode(), resp=R.GetFeeForMessageResp)
    check("fee for message", fee["value"] == 5000, fee)

    # ---------------------------------------------------------------- simulate
    sim_tx = VersionedTransaction(Message.new_with_blockhash(over, delegate.pubkey(), latest_blockhash(c)[0]),
                                  [delegate])
    sim = c.ok("simulateTransaction", b64tx(sim_tx), {"encoding": "base64", "sigVerify": True},
               resp=R.SimulateTransactionResp)
    check("simulate err", sim["value"]["err"] == {"InstructionError": [0, {"Custom": 4}]} or
          sim["value"]["err"] is not None, sim)
    unsigned = VersionedTransaction.populate(Message.new_with_blockhash(
        [transfer(TransferParams(from_pubkey=owner.pubkey(), to_pubkey=treasury.pubkey(), lamports=5))],
        owner.pubkey(), Hash.default()), [__import__("solders.signature", fromlist=["Signature"]).Signature.default()])
    sim = c.ok("simulateTransaction", b64tx(unsigned), {"encoding": "base64", "replaceRecentBlockhash": True,
                                                        "accounts": {"addresses": [str(treasury.pubkey())],
                                                                     "encoding": "base64"}},
               resp=R.SimulateTransactionResp)
    check("simulate replace", sim["value"]["err"] is None and sim["value"]["replacementBlockhash"] is not None
          and sim["value"]["unitsConsumed"] > 0 and sim["value"]["accounts"][0]["lamports"] == 10 * 10**9 + 5, sim)
    sim = c.ok("simulateTransaction", b64tx(unsigned), {"encoding": "base64"}, resp=R.SimulateTransactionResp)
    check("simulate stale blockhash", sim["value"]["err"] == "BlockhashNotFound", sim)

    # ---------------------------------------------------------------- blockhash expiry
    bh, last_valid = latest_blockhash(c)
    height = c.ok("getBlockHeight", {"commitment": "confirmed"})
    check("lastValidBlockHeight", last_valid == height + 150)
    c.ok("settle_advanceSlots", last_valid - height - 1)  # the next block is the last valid one
    check("isBlockhashValid", c.ok("isBlockhashValid", str(bh), {"commitment": "confirmed"},
                                   resp=R.IsBlockhashValidResp)["value"] is True)
    (sig, error), _ = send(c, [transfer(TransferParams(from_pubkey=owner.pubkey(), to_pubkey=treasury.pubkey(),
                                                       lamports=11))], [owner], blockhash=bh)
    check("valid at lastValidBlockHeight", error is None, error)
    (sig, error), _ = send(c, [transfer(TransferParams(from_pubkey=owner.pubkey(), to_pubkey=treasury.pubkey(),
                                                       lamports=12))], [owner], blockhash=bh)
    check("expired", error and error["code"] == -32002 and error["data"]["err"] == "BlockhashNotFound" and
          error["message"] == "Transaction simulation failed: Blockhash not found", error)
    check("isBlockhashValid false", c.ok("isBlockhashValid", str(bh), {"commitment": "confirmed"})["value"] is False)

    # ---------------------------------------------------------------- paging
    t0 = time.time()
    n = 200
    payer = owner
    bh = latest_blockhash(c)[0]
    sent = []
    for i in range(n):
        if i % 100 == 99:
            bh = latest_blockhash(c)[0]
        (sig, error), _ = send(c, [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=stranger.pubkey(),
                                                           lamports=1000 + i))], [payer], blockhash=bh)
        if error is not None:
            check("bulk send", False, error)
            break
        sent.append(sig)
    elapsed = time.time() - t0
    print(f"sendTransaction: {len(sent)} transfers in {elapsed:.2f}s = {len(sent) / elapsed:.0f} tx/s "
          f"(urllib, one connection per request)", flush=True)
    full = c.ok("getSignaturesForAddress", str(stranger.pubkey()), {"commitment": "confirmed"})
    newest_first = list(reversed(sent))
    check("history newest first", [s["signature"] for s in full][:n] == newest_first, len(full))
    check("slots descending", all(a["slot"] > b["slot"] for a, b in zip(full, full[1:])))
    paged, before = [], None
    t0 = time.time()
    calls = 0
    while True:
        config = {"commitment": "confirmed", "limit": 37}
        if before:
            config["before"] = before
        page = c.ok("getSignaturesForAddress", str(stranger.pubkey()), config, resp=R.GetSignaturesForAddressResp)
        calls += 1
        if not page:
            break
        paged += page
        before = page[-1]["signature"]
    print(f"getSignaturesForAddress: {calls} pages in {time.time() - t0:.2f}s", flush=True)
    check("paging concatenates", [s["signature"] for s in paged] == [s["signature"] for s in full])
    window = c.ok("getSignaturesForAddress", str(stranger.pubkey()),
                  {"commitment": "confirmed", "before": sent[150], "until": sent[100], "limit": 1000})
    check("before/until window", [s["signature"] for s in window] == list(reversed(sent[101:150])), len(window))
    fin = c.ok("getSignaturesForAddress", str(stranger.pubkey()), {"limit": 10})
    check("finalized history lags", fin[0]["signature"] == sent[-1 - LAG] and
          fin[0]["confirmationStatus"] == "finalized", fin[:1])
    # getBlock / getBlockTime
    block = c.ok("getBlock", full[0]["slot"], {"commitment": "confirmed", "maxSupportedTransactionVersion": 0,
                                               "transactionDetails": "signatures"}, resp=R.GetBlockResp)
    check("getBlock signatures", block["signatures"] == [sent[-1]], block)
    check("getBlockTime", c.ok("getBlockTime", full[0]["slot"], resp=R.GetBlockTimeResp) == full[0]["blockTime"])
    block = c.ok("getBlock", full[3]["slot"], {"commitment": "confirmed", "maxSupportedTransactionVersion": 0},
                 resp=R.GetBlockResp)
    check("getBlock full", block["transactions"][0]["transaction"]["signatures"] == [full[3]["signature"]])

    # ---------------------------------------------------------------- durable nonce
    nonce = Keypair()
    (_, error), _ = send(c, list(create_nonce_account(extra.pubkey(), nonce.pubkey(), extra.pubkey(), 10**8)),
                         [extra, nonce])
    check("nonce account", error is None, error)
    data = base64.b64decode(c.ok("getAccountInfo", str(nonce.pubkey()), {"encoding": "base64",
                                                                         "commitment": "confirmed"})["value"]["data"][0])
    c.ok("settle_advanceSlots", 200)
    (nonce_sig, error), _ = send(c, [advance_nonce_account(AdvanceNonceAccountParams(
        nonce_pubkey=nonce.pubkey(), authorized_pubkey=extra.pubkey())), memo_ix], [extra],
        blockhash=Hash.from_bytes(data[40:72]))
    check("durable nonce accepted after 200 blocks", error is None, error)

    # ---------------------------------------------------------------- keep-alive throughput
    k = KeepAliveClient(port)
    bh = latest_blockhash(k)[0]
    t0 = time.time()
    count = 300
    for i in range(count):
        if i % 100 == 99:
            bh = latest_blockhash(k)[0]
        (_, error), _ = send(k, [transfer_checked(TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID, source=owner_ata_pk, mint=mint_pk, dest=treasury_ata_pk,
            owner=owner.pubkey(), amount=1 + i, decimals=6))], [owner], blockhash=bh)
        if error is not None:
            check("keep-alive send", False, error)
            break
    elapsed = time.time() - t0
    print(f"sendTransaction (TransferChecked, keep-alive): {count} in {elapsed:.2f}s = {count / elapsed:.0f} tx/s",
          flush=True)
    t0 = time.time()
    for _ in range(300):
        k.ok("getSignaturesForAddress", owner_ata, {"commitment": "confirmed", "limit": 100})
    elapsed = time.time() - t0
    print(f"getSignaturesForAddress (limit 100, keep-alive): 300 in {elapsed:.2f}s = {300 / elapsed:.0f}/s",
          flush=True)

    # ---------------------------------------------------------------- concurrent senders
    senders = [keypair(k) for k in c.ok("settle_keypairs", 4)]
    errors, landed = [], []

    def worker(kp):
        client = KeepAliveClient(port)
        blockhash = latest_blockhash(client)[0]
        for i in range(50):
            if i % 25 == 24:  # 200 blocks in all: one blockhash would expire
                blockhash = latest_blockhash(client)[0]
            (sig, error), _ = send(client, [transfer(TransferParams(from_pubkey=kp.pubkey(),
                                                                    to_pubkey=target.pubkey(), lamports=1 + i))],
                                   [kp], blockhash=blockhash)
            (errors if error else landed).append(error or sig)

    target = Keypair()
    c.ok("settle_fund", {"address": str(target.pubkey()), "lamports": 10**9})  # rent-exempt before 1-lamport sends
    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(kp,)) for kp in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    print(f"sendTransaction (4 concurrent keep-alive clients): {len(landed)} in {elapsed:.2f}s = "
          f"{len(landed) / elapsed:.0f} tx/s", flush=True)
    hist = c.ok("getSignaturesForAddress", str(target.pubkey()), {"commitment": "confirmed"})
    check("concurrent sends all land", not errors and len(landed) == 200 and
          {h["signature"] for h in hist[:200]} == set(landed), errors[:3])
    check("concurrent balance", c.ok("getBalance", str(target.pubkey()), {"commitment": "confirmed"})["value"] ==
          10**9 + 4 * sum(range(1, 51)))

    # ---------------------------------------------------------------- accounts API shapes
    acc = c.ok("getAccountInfo", owner_ata, {"encoding": "base64", "commitment": "confirmed"},
               resp=R.GetAccountInfoResp)
    check("account info", acc["value"]["owner"] == str(TOKEN_PROGRAM_ID) and acc["value"]["space"] == 165, acc)
    missing = c.ok("getAccountInfo", str(Keypair().pubkey()), {"encoding": "base64"}, resp=R.GetAccountInfoResp)
    check("missing account null", missing["value"] is None)
    multi = c.ok("getMultipleAccounts", [owner_ata, str(Keypair().pubkey()), mint], {"encoding": "base64"},
                 resp=R.GetMultipleAccountsResp)
    check("multiple accounts", multi["value"][1] is None and multi["value"][0]["lamports"] == 2039280, multi)
    sliced = c.ok("getAccountInfo", mint, {"encoding": "base58", "dataSlice": {"offset": 44, "length": 1}},
                  resp=R.GetAccountInfoResp)
    check("dataSlice", sliced["value"]["data"] == ["7", "base58"], sliced)  # decimals 6 -> base58 "7"
    sig = c.ok("requestAirdrop", str(Keypair().pubkey()), 10**9, resp=R.RequestAirdropResp)
    check("airdrop signature", len(sig) > 80)
    c.ok("getTransactionCount", resp=R.GetTransactionCountResp)

    # ---------------------------------------------------------------- protocol errors
    _, error = c.call("noSuchMethod")
    check("unknown method", error["code"] == -32601, error)
    _, error = c.call("getBalance", "not-a-key")
    check("bad params", error["code"] == -32602 and "Invalid param" in error["message"], error)
    _, error = c.call("getSignaturesForAddress", owner_ata, {"limit": 1001})
    check("limit max", error["code"] == -32602 and error["message"] == "Invalid limit; max 1000", error)
    _, error = c.call("getBalance", str(owner.pubkey()), {"commitment": "recent"})
    check("bad commitment", error["code"] == -32602, error)
    _, error = c.call("sendTransaction", "!!!", {"encoding": "base64"})
    check("bad tx encoding", error["code"] == -32602, error)
    _, error = c.call("sendTransaction", base64.b64encode(b"\x01" + b"\x00" * 80).decode(), {"encoding": "base64"})
    check("bad tx bytes", error["code"] == -32602, error)
    check("malformed json", json.loads(c.raw(b"{nope"))["error"]["code"] == -32700)
    batch = json.loads(c.raw(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
                                         {"jsonrpc": "2.0", "id": 2, "method": "getHealth"},
                                         {"jsonrpc": "2.0", "id": 3, "method": "nope"}]).encode()))
    check("batch", [b["id"] for b in batch] == [1, 2, 3] and batch[1]["result"] == "ok" and
          batch[2]["error"]["code"] == -32601, batch)
    check("garbage params survive", c.call("getTransaction", {"x": 1})[1]["code"] == -32602)
    check("server alive", c.ok("getHealth") == "ok")

    # ---------------------------------------------------------------- read throughput
    t0 = time.time()
    for _ in range(200):
        c.ok("getTransaction", pull_sig, {"maxSupportedTransactionVersion": 0})
    print(f"getTransaction: 200 in {time.time() - t0:.2f}s = {200 / (time.time() - t0):.0f}/s", flush=True)


T22 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def tlv(c, address):
    """(data length, {ExtensionType: value bytes}) of a Token-2022 mint or account, read independently of the peer."""
    data = base64.b64decode(c.ok("getAccountInfo", address, {"encoding": "base64", "commitment": "confirmed"})
                            ["value"]["data"][0])
    out, i = {}, 166
    while i + 4 <= len(data):
        kind, length = int.from_bytes(data[i:i + 2], "little"), int.from_bytes(data[i + 2:i + 4], "little")
        if kind == 0:
            break
        out[kind] = data[i + 4:i + 4 + length]
        i += 4 + length
    return len(data), out


def t22_setup(c, extensions, *wallets, amount=5_000_000, **mint_spec):
    """A 6-decimal Token-2022 mint with `extensions`, an ATA per wallet; the first funded with `amount`."""
    mint = c.ok("settle_createMint", {"decimals": 6, "program": "token2022", "extensions": extensions, **mint_spec})
    atas = [c.ok("settle_createAta", {"owner": str(w.pubkey()), "mint": mint}) for w in wallets]
    if amount:
        c.ok("settle_mintTo", {"mint": mint, "destination": atas[0], "amount": amount})
    return mint, atas


def t22_transfer(c, source, mint, dest, authority, amount, skip=False, before=(), after=(), extra=()):
    ix = transfer_checked(TransferCheckedParams(program_id=T22, source=Pubkey.from_string(source),
                                                mint=Pubkey.from_string(mint), dest=Pubkey.from_string(dest),
                                                owner=authority.pubkey(), amount=amount, decimals=6))
    if extra:
        ix = Instruction(ix.program_id, bytes(ix.data), list(ix.accounts) + list(extra))
    return send(c, [*before, ix, *after], [authority], skip=skip)


def expect_failure(c, name, result, err, message):
    (_, error), _ = result
    check(f"{name}: preflight", error is not None and error["code"] == -32002 and error["data"]["err"] == err and
          error["message"] == "Transaction simulation failed: " + message, error)


def run_token2022(c: Client):
    """Token-2022 mints and accounts with extensions, built by the peer's dev methods with real instructions."""
    kps = c.ok("settle_keypairs", {"count": 3, "lamports": 10**9})
    payer, treasury, spender = (keypair(k) for k in kps)

    # ------------------------------------------------ TransferFee 1% (max 1 token): the receiver gets 99%
    mint, (src, dst) = t22_setup(c, {"transferFee": {"basisPoints": 100, "maximumFee": 1_000_000}}, payer, treasury)
    size, ext = tlv(c, mint)
    check("fee mint sized", size == 278 and set(ext) == {1} and int.from_bytes(ext[1][-2:], "little") == 100
          and int.from_bytes(ext[1][-10:-2], "little") == 1_000_000, (size, ext))
    size, ext = tlv(c, dst)
    check("fee ATA: TransferFeeAmount + ImmutableOwner", size == 182 and set(ext) == {2, 7}, (size, ext))
    (_, error), _ = send(c, [approve(ApproveParams(program_id=T22, source=Pubkey.from_string(src),
                                                   delegate=spender.pubkey(), owner=payer.pubkey(),
                                                   amount=1_000_000))], [payer])
    check("fee approve", error is None, error)
    (sig, error), _ = t22_transfer(c, src, mint, dst, spender, 1_000_000)
    check("fee TransferChecked by the delegate", error is None, error)
    tx = get_tx(c, sig)
    keys = tx["transaction"]["message"]["accountKeys"]
    pre = {keys[b["accountIndex"]]: b for b in tx["meta"]["preTokenBalances"]}
    post = {keys[b["accountIndex"]]: b for b in tx["meta"]["postTokenBalances"]}
    check("fee token balances", pre[src]["uiTokenAmount"]["amount"] == "5000000" and
          post[src]["uiTokenAmount"]["amount"] == "4000000" and pre[dst]["uiTokenAmount"]["amount"] == "0" and
          pre[dst]["uiTokenAmount"]["uiAmount"] is None and post[dst]["uiTokenAmount"]["amount"] == "990000" and
          post[dst]["uiTokenAmount"]["uiAmountString"] == "0.99" and post[dst]["programId"] == str(T22) and
          post[dst]["owner"] == str(treasury.pubkey()) and post[dst]["mint"] == mint, (pre, post))
    _, ext = tlv(c, dst)
    check("fee withheld in the receiver's TransferFeeAmount", int.from_bytes(ext[2], "little") == 10_000, ext)
    bal = c.ok("getTokenAccountBalance", dst, {"commitment": "confirmed"}, resp=R.GetTokenAccountBalanceResp)
    check("fee receiver balance", bal["value"]["amount"] == "990000", bal)
    by_owner = c.ok("getTokenAccountsByOwner", str(treasury.pubkey()), {"mint": mint},
                    {"encoding": "base64", "commitment": "confirmed"}, resp=R.GetTokenAccountsByOwnerResp)
    check("extended account indexed", [a["pubkey"] for a in by_owner["value"]] == [dst], by_owner)

    # ------------------------------------------------ NonTransferable: TransferChecked fails with 37
    mint, (src, dst) = t22_setup(c, {"nonTransferable": True}, payer, treasury)
    size, ext = tlv(c, dst)
    check("non-transferable ATA: NonTransferableAccount + ImmutableOwner", size == 174 and set(ext) == {7, 13},
          (size, ext))
    expect_failure(c, "non-transferable", t22_transfer(c, src, mint, dst, payer, 1),
                   {"InstructionError": [0, {"Custom": 37}]},
                   "Error processing Instruction 0: custom program error: 0x25")

    # ------------------------------------------------ TransferHook to a program that is not there
    hook = Keypair().pubkey()
    mint, (src, dst) = t22_setup(c, {"transferHook": {"programId": str(hook)}}, payer, treasury)
    size, ext = tlv(c, mint)
    check("hook mint", size == 234 and ext[14][32:] == bytes(hook), (size, ext))
    size, ext = tlv(c, dst)
    check("hook ATA: TransferHookAccount + ImmutableOwner", size == 175 and set(ext) == {7, 15}, (size, ext))
    expect_failure(c, "hook without its accounts", t22_transfer(c, src, mint, dst, payer, 1),
                   {"InstructionError": [0, "MissingAccount"]},
                   "Error processing Instruction 0: An account required by the instruction is missing")
    expect_failure(c, "hook program passed but absent",
                   t22_transfer(c, src, mint, dst, payer, 1, extra=[AccountMeta(hook, False, False)]),
                   {"InstructionError": [0, "UnsupportedProgramId"]},
                   "Error processing Instruction 0: Unsupported program id")
    bh = latest_blockhash(c)[0]
    sim_tx = VersionedTransaction(Message.new_with_blockhash([transfer_checked(TransferCheckedParams(
        program_id=T22, source=Pubkey.from_string(src), mint=Pubkey.from_string(mint), dest=Pubkey.from_string(dst),
        owner=payer.pubkey(), amount=1, decimals=6))], payer.pubkey(), bh), [payer])
    sim = c.ok("simulateTransaction", b64tx(sim_tx), {"encoding": "base64"}, resp=R.SimulateTransactionResp)
    check("hook simulate", sim["value"]["err"] == {"InstructionError": [0, "MissingAccount"]}, sim)

    # ------------------------------------------------ freeze / thaw: 17 AccountFrozen
    mint, (src, dst) = t22_setup(c, {}, payer, treasury, freezeAuthority="default")
    c.ok("settle_freeze", {"account": src})
    check("frozen state", base64.b64decode(c.ok("getAccountInfo", src, {"encoding": "base64", "commitment":
                                                                        "confirmed"})["value"]["data"][0])[108] == 2)
    expect_failure(c, "frozen source", t22_transfer(c, src, mint, dst, payer, 1),
                   {"InstructionError": [0, {"Custom": 17}]},
                   "Error processing Instruction 0: custom program error: 0x11")
    (sig, error), _ = t22_transfer(c, src, mint, dst, payer, 2, skip=True)
    status = c.ok("getSignatureStatuses", [sig], resp=R.GetSignatureStatusesResp)["value"][0]
    check("frozen source (skipPreflight) status", error is None and status is not None and
          status["err"] == {"InstructionError": [0, {"Custom": 17}]} and
          status["status"] == {"Err": {"InstructionError": [0, {"Custom": 17}]}}, status)
    c.ok("settle_thaw", src)
    (_, error), _ = t22_transfer(c, src, mint, dst, payer, 3)
    check("thawed transfer", error is None, error)
    classic = c.ok("settle_createMint", {"decimals": 6, "program": "token", "freezeAuthority": "default"})
    classic_src, classic_dst = (c.ok("settle_createAta", {"owner": str(w.pubkey()), "mint": classic})
                                for w in (payer, treasury))
    c.ok("settle_mintTo", {"mint": classic, "destination": classic_src, "amount": 10})
    c.ok("settle_freeze", classic_src)
    (_, error), _ = send(c, [transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID, source=Pubkey.from_string(classic_src), mint=Pubkey.from_string(classic),
        dest=Pubkey.from_string(classic_dst), owner=payer.pubkey(), amount=1, decimals=6))], [payer])
    check("frozen source (SPL Token)", error and error["data"]["err"] == {"InstructionError": [0, {"Custom": 17}]},
          error)
    plain = c.ok("settle_createMint", {"decimals": 6, "program": "token"})
    plain_ata = c.ok("settle_createAta", {"owner": str(payer.pubkey()), "mint": plain})
    _, error = c.call("settle_freeze", {"account": plain_ata})
    check("freeze needs a freeze authority", error and error["code"] == -32602 and "no freeze authority" in
          error["message"], error)

    # ------------------------------------------------ DefaultAccountState frozen
    mint, (frozen,) = t22_setup(c, {"defaultFrozen": True}, treasury, amount=0)
    check("default frozen ATA", base64.b64decode(c.ok("getAccountInfo", frozen, {
        "encoding": "base64", "commitment": "confirmed"})["value"]["data"][0])[108] == 2)
    _, error = c.call("settle_mintTo", {"mint": mint, "destination": frozen, "amount": 1})
    check("mint to a default-frozen account fails", error and error["data"]["err"] ==
          {"InstructionError": [0, {"Custom": 17}]}, error)
    c.ok("settle_thaw", {"account": frozen})
    c.ok("settle_mintTo", {"mint": mint, "destination": frozen, "amount": 1})

    # ------------------------------------------------ memo-required receiver: Memo must come before the transfer
    mint, (src, dst) = t22_setup(c, {}, payer, treasury)
    c.ok("settle_enableRequiredMemo", {"account": dst})
    size, ext = tlv(c, dst)
    check("memo-required account", size == 175 and ext.get(8) == b"\x01" and 7 in ext, (size, ext))
    expect_failure(c, "transfer without memo", t22_transfer(c, src, mint, dst, payer, 1),
                   {"InstructionError": [0, {"Custom": 36}]},
                   "Error processing Instruction 0: custom program error: 0x24")
    memo = Instruction(MEMO, b"in_1AbC", [AccountMeta(payer.pubkey(), True, False)])
    expect_failure(c, "memo after the transfer", t22_transfer(c, src, mint, dst, payer, 1, after=[memo]),
                   {"InstructionError": [0, {"Custom": 36}]},
                   "Error processing Instruction 0: custom program error: 0x24")
    (sig, error), _ = t22_transfer(c, src, mint, dst, payer, 1, before=[memo])
    check("transfer with memo first", error is None, error)
    sigs = c.ok("getSignaturesForAddress", dst, {"commitment": "confirmed", "limit": 1})
    check("memo listed", sigs[0]["signature"] == sig and sigs[0]["memo"] == "[7] in_1AbC", sigs)
    _, error = c.call("settle_enableRequiredMemo", {"account": c.ok("settle_createAta", {
        "owner": str(Keypair().pubkey()), "mint": mint})})
    check("memo needs the owner", error and error["code"] == -32602 and "does not hold owner" in error["message"],
          error)
    _, error = c.call("settle_createMint", {"extensions": {"transferFee": {"basisPoints": 1, "maximumFee": 1}},
                                            "program": "token"})
    check("extensions need token-2022", error and error["code"] == -32602, error)


def run_packed_slots(c: Client):
    """--txs-per-slot 3 --slot-stride 2 --finalized-lag 2: several signatures per slot, skipped slots."""
    kps = c.ok("settle_keypairs", {"count": 2})
    payer, target = keypair(kps[0]), keypair(kps[1])
    bh = latest_blockhash(c)[0]
    sent = []
    for i in range(9):
        (sig, error), _ = send(c, [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=target.pubkey(),
                                                           lamports=1 + i))], [payer], blockhash=bh)
        check("packed send", error is None, error)
        sent.append(sig)
    hist = c.ok("getSignaturesForAddress", str(target.pubkey()), {"commitment": "confirmed", "limit": 9})
    slots = [h["slot"] for h in hist]
    check("three per slot", slots[0] == slots[1] == slots[2] and slots[3] == slots[4] == slots[5]
          and slots[0] - slots[3] == 2, slots)
    check("newest first within a slot", [h["signature"] for h in hist] == list(reversed(sent)), hist)
    page = c.ok("getSignaturesForAddress", str(target.pubkey()), {"commitment": "confirmed", "before": sent[7],
                                                                   "until": sent[1]})
    check("paging inside a slot", [h["signature"] for h in page] == list(reversed(sent[2:7])), page)
    block = c.ok("getBlock", slots[0], {"commitment": "confirmed", "transactionDetails": "signatures"},
                 resp=R.GetBlockResp)
    check("block holds three", block["signatures"] == sent[6:9] and block["parentSlot"] == slots[0] - 2, block)
    _, error = c.call("getBlockTime", slots[0] - 1)
    check("skipped slot", error and error["code"] == -32007, error)
    s_conf = c.ok("getSlot", {"commitment": "confirmed"})
    s_fin = c.ok("getSlot", {"commitment": "finalized"})
    h_conf = c.ok("getBlockHeight", {"commitment": "confirmed"})
    check("finalized lag in blocks", s_conf - s_fin == 4 and h_conf != s_conf, (s_conf, s_fin, h_conf))
    tx = get_tx(c, sent[4])
    check("same-slot getTransaction", tx["slot"] == slots[4])


if __name__ == "__main__":
    main()
