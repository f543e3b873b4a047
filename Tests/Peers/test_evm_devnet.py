#!/usr/bin/env python3
"""Self-check of evm_devnet.py over plain HTTP with eth-account signing. Run with the venv that has
requirements-evm.txt:  python Tests/Peers/test_evm_devnet.py   (also collectable by pytest).
Ends with the line `N passed, N failed` and exits non-zero on any failure."""
import http.client
import json
import os
import subprocess
import sys
import time

from eth_abi import decode as abi_decode, encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
APPROVAL_TOPIC = "0x" + keccak(text="Approval(address,address,uint256)").hex()


def sel(signature):
    return keccak(text=signature)[:4]


def call_data(signature, types, values):
    return "0x" + (sel(signature) + abi_encode(types, values)).hex()


def topic_address(address):
    return "0x" + "00" * 12 + address[2:].lower()


class Devnet:
    """A devnet subprocess and a keep-alive JSON-RPC client to it."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "evm_devnet.py"), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"devnet did not announce its port: {line!r}")
        self.port = int(line.split()[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.next_id = 0

    def post(self, body: bytes):
        self.conn.request("POST", "/", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, response.read()

    def raw(self, method, *params):
        self.next_id += 1
        status, body = self.post(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)}).encode())
        assert status == 200, status
        return json.loads(body)

    def __call__(self, method, *params):
        answer = self.raw(method, *params)
        if "error" in answer:
            raise AssertionError(f"{method} failed: {answer['error']}")
        return answer["result"]

    def error(self, method, *params):
        answer = self.raw(method, *params)
        assert "error" in answer, f"{method} should have failed, got {answer.get('result')!r}"
        return answer["error"]

    def close(self):
        self.conn.close()
        self.proc.kill()
        self.proc.wait()


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")

    def equal(self, name, have, want):
        self.check(name, have == want, f"have {have!r} want {want!r}")


def sign(key, chain_id, nonce, to, data="0x", gas=200_000, value=0, max_fee=3 * 10**9, tip=10**9, legacy=False):
    fields = {"chainId": chain_id, "nonce": nonce, "to": to_checksum_address(to), "data": data, "gas": gas, "value": value}
    if legacy:
        fields["gasPrice"] = max_fee
    else:
        fields.update({"type": 2, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip})
    return "0x" + bytes(Account.sign_transaction(fields, key).raw_transaction).hex()


def main_devnet_checks(c: Checks):
    started = time.time()
    node = Devnet()
    print(f"start: {time.time() - started:.2f} s")
    try:
        chain_id = int(node("eth_chainId"), 16)
        c.equal("chainId", chain_id, 1337)
        c.equal("net_version", node("net_version"), "1337")
        accounts = node("settle_accounts")
        c.check("at least 10 accounts", len(accounts) >= 10)
        owner, spender, payee = accounts[0], accounts[1], accounts[2]
        c.check("prefunded", int(node("eth_getBalance", owner["address"], "latest"), 16) >= 1000 * 10**18)

        started = time.time()
        token = node("settle_deployToken", {"name": "Settle Test USD", "symbol": "STUSD", "decimals": 6})
        print(f"deploy token: {time.time() - started:.2f} s")
        c.check("token has code", len(node("eth_getCode", token, "latest")) > 1000)

        def view(signature, types, values, out):
            result = node("eth_call", {"to": token, "data": call_data(signature, types, values)}, "latest")
            return abi_decode(out, bytes.fromhex(result[2:]))[0]

        c.equal("decimals", view("decimals()", [], [], ["uint8"]), 6)
        c.equal("symbol", view("symbol()", [], [], ["string"]), "STUSD")

        mint_hash = node("settle_mint", {"token": token, "to": owner["address"], "amount": "1000000000"})
        mint_receipt = node("eth_getTransactionReceipt", mint_hash)
        c.equal("mint status", mint_receipt["status"], "0x1")
        c.equal("mint Transfer from zero", mint_receipt["logs"][0]["topics"][:2], [TRANSFER_TOPIC, "0x" + "00" * 32])
        c.equal("balance after mint", view("balanceOf(address)", ["address"], [owner["address"]], ["uint256"]), 10**9)

        # approve (owner -> spender), EIP-1559 signed by eth-account
        nonce = int(node("eth_getTransactionCount", owner["address"], "pending"), 16)
        approve = sign(owner["privateKey"], chain_id, nonce, token,
                       call_data("approve(address,uint256)", ["address", "uint256"], [spender["address"], 300]))
        approve_hash = node("eth_sendRawTransaction", approve)
        c.equal("approve mined", node("eth_getTransactionReceipt", approve_hash)["status"], "0x1")
        c.equal("duplicate is already known", node.error("eth_sendRawTransaction", approve)["message"], "already known")
        stale = sign(owner["privateKey"], chain_id, nonce, token, "0x", gas=30000)
        c.check("nonce too low", node.error("eth_sendRawTransaction", stale)["message"].startswith("nonce too low"))

        # transferFrom by the spender
        spender_balance = int(node("eth_getBalance", spender["address"], "latest"), 16)
        pull = sign(spender["privateKey"], chain_id, 0, token,
                    call_data("transferFrom(address,address,uint256)", ["address", "address", "uint256"],
                              [owner["address"], payee["address"], 100]))
        pull_hash = node("eth_sendRawTransaction", pull)
        receipt = node("eth_getTransactionReceipt", pull_hash)
        c.equal("transferFrom status", receipt["status"], "0x1")
        c.equal("receipt type", receipt["type"], "0x2")
        c.equal("receipt from", receipt["from"], spender["address"])
        c.equal("receipt to", receipt["to"], token)
        c.check("receipt gas fields", int(receipt["gasUsed"], 16) > 21000 and int(receipt["effectiveGasPrice"], 16) > 0)
        c.equal("Approval then Transfer", [log["topics"][0] for log in receipt["logs"]], [APPROVAL_TOPIC, TRANSFER_TOPIC])
        c.equal("per-block logIndex", [log["logIndex"] for log in receipt["logs"]], ["0x0", "0x1"])
        c.equal("reduced allowance in Approval", int(receipt["logs"][0]["data"], 16), 200)
        spent = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
        c.equal("spender paid gas", int(node("eth_getBalance", spender["address"], "latest"), 16), spender_balance - spent)
        tx = node("eth_getTransactionByHash", pull_hash)
        c.equal("tx blockHash", tx["blockHash"], receipt["blockHash"])
        c.equal("tx from", tx["from"], spender["address"])
        block = node("eth_getBlockByNumber", receipt["blockNumber"], False)
        c.equal("block has the tx", block["transactions"], [pull_hash])
        c.equal("block by hash", node("eth_getBlockByHash", block["hash"], True)["transactions"][0]["hash"], pull_hash)
        for key in ("hash", "parentHash", "number", "timestamp", "baseFeePerGas", "gasUsed", "gasLimit", "logsBloom", "miner"):
            c.check(f"block has {key}", key in block)
        parent = node("eth_getBlockByNumber", hex(int(block["number"], 16) - 1), False)
        c.equal("parentHash links", block["parentHash"], parent["hash"])
        c.check("timestamps increase", int(block["timestamp"], 16) > int(parent["timestamp"], 16))

        by_hash = node("eth_getLogs", {"blockHash": receipt["blockHash"]})
        c.equal("getLogs by blockHash", by_hash, receipt["logs"])
        filtered = node("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": [token],
                                        "topics": [TRANSFER_TOPIC, topic_address(owner["address"])]})
        c.equal("getLogs topic filter", [log["transactionHash"] for log in filtered], [pull_hash])
        either = node("eth_getLogs", {"fromBlock": "earliest", "address": token,
                                      "topics": [[TRANSFER_TOPIC, APPROVAL_TOPIC], None, topic_address(spender["address"])]})
        c.equal("getLogs OR + wildcard", [(log["transactionHash"], log["topics"][0]) for log in either],
                [(approve_hash, APPROVAL_TOPIC), (pull_hash, APPROVAL_TOPIC)])

        # calls: nothing charged, revert data kept
        before = node("eth_getBalance", spender["address"], "latest")
        c.equal("allowance via eth_call", view("allowance(address,address)", ["address", "address"],
                                               [owner["address"], spender["address"]], ["uint256"]), 200)
        c.equal("balanceOf payee", view("balanceOf(address)", ["address"], [payee["address"]], ["uint256"]), 100)
        earlier = node("eth_call", {"to": token, "data": call_data("balanceOf(address)", ["address"], [payee["address"]])},
                       hex(int(receipt["blockNumber"], 16) - 1))
        c.equal("historical eth_call", int(earlier, 16), 0)
        exact = sign(owner["privateKey"], chain_id, int(node("eth_getTransactionCount", owner["address"], "latest"), 16), token,
                     call_data("transfer(address,uint256)", ["address", "uint256"], [payee["address"], 1]), gas=int(node(
                         "eth_estimateGas", {"from": owner["address"], "to": token, "data": call_data(
                             "transfer(address,uint256)", ["address", "uint256"], [payee["address"], 1])}), 16))
        c.equal("estimateGas is enough", node("eth_getTransactionReceipt", node("eth_sendRawTransaction", exact))["status"], "0x1")
        too_much = call_data("transferFrom(address,address,uint256)", ["address", "address", "uint256"],
                             [owner["address"], payee["address"], 1000])
        error = node.error("eth_call", {"from": spender["address"], "to": token, "data": too_much, "gas": "0x30d40"}, "latest")
        c.equal("revert code", error["code"], 3)
        c.check("revert message", error["message"].startswith("execution reverted"), error["message"])
        c.check("revert data", error.get("data", "").startswith("0x08c379a0"), error)
        c.equal("eth_call charged nothing", node("eth_getBalance", spender["address"], "latest"), before)
        c.equal("estimateGas reverts too", node.error("eth_estimateGas", {"from": spender["address"], "to": token, "data": too_much})["code"], 3)
        estimate = int(node("eth_estimateGas", {"from": spender["address"], "to": token, "data": call_data(
            "transferFrom(address,address,uint256)", ["address", "address", "uint256"], [owner["address"], payee["address"], 1])}), 16)
        c.check("estimateGas plausible", 30000 < estimate < 120000, estimate)
        failing = sign(spender["privateKey"], chain_id, 1, token, too_much, gas=100_000)
        failing_receipt = node("eth_getTransactionReceipt", node("eth_sendRawTransaction", failing))
        c.equal("reverting send mined with status 0", (failing_receipt["status"], failing_receipt["logs"]), ("0x0", []))

        # admission rules
        wrong = sign(payee["privateKey"], 1, 0, token, "0x", gas=50000)
        c.check("wrong chain id (1559) rejected", "chain id" in node.error("eth_sendRawTransaction", wrong)["message"])
        wrong_legacy = sign(payee["privateKey"], 5, 0, token, "0x", gas=50000, legacy=True)
        c.check("wrong chain id (legacy) rejected", "chain id" in node.error("eth_sendRawTransaction", wrong_legacy)["message"])
        pauper = Account.create()
        broke = sign(pauper.key, chain_id, 0, token, "0x", gas=50000)
        c.check("insufficient funds", node.error("eth_sendRawTransaction", broke)["message"].startswith(
            "insufficient funds for gas * price + value"))
        payee_nonce = int(node("eth_getTransactionCount", payee["address"], "latest"), 16)
        queued = sign(payee["privateKey"], chain_id, payee_nonce + 1, token, "0x", gas=50000, max_fee=3 * 10**9, tip=10**9)
        node("eth_sendRawTransaction", queued)  # nonce gap: waits in the pool
        c.equal("pending nonce counts nothing past a gap", node("eth_getTransactionCount", payee["address"], "pending"), hex(payee_nonce))
        cheaper = sign(payee["privateKey"], chain_id, payee_nonce + 1, token, "0x", gas=50000, max_fee=32 * 10**8, tip=10**9)
        c.equal("replacement underpriced", node.error("eth_sendRawTransaction", cheaper)["message"], "replacement transaction underpriced")
        bumped = sign(payee["privateKey"], chain_id, payee_nonce + 1, token, "0x", gas=50000, max_fee=33 * 10**8, tip=11 * 10**8)
        bumped_hash = node("eth_sendRawTransaction", bumped)
        c.equal("queued tx has no receipt", node("eth_getTransactionReceipt", bumped_hash), None)
        gap = sign(payee["privateKey"], chain_id, payee_nonce, token, "0x", gas=50000, legacy=True)
        node("eth_sendRawTransaction", gap)
        c.check("gap filled: both mined", node("eth_getTransactionReceipt", bumped_hash) is not None)

        # snapshot / revert / mine: a reorg at the reverted height
        height = int(node("eth_blockNumber"), 16)
        snap = node("evm_snapshot")
        x = sign(owner["privateKey"], chain_id, int(node("eth_getTransactionCount", owner["address"], "pending"), 16), token,
                 call_data("transfer(address,uint256)", ["address", "uint256"], [payee["address"], 5]))
        x_hash = node("eth_sendRawTransaction", x)
        old_block = node("eth_getBlockByNumber", hex(height + 1), False)
        c.equal("x mined at H+1", node("eth_getTransactionReceipt", x_hash)["blockNumber"], hex(height + 1))
        c.equal("revert", node("evm_revert", snap), True)
        c.equal("height back to H", node("eth_blockNumber"), hex(height))
        c.equal("x receipt gone", node("eth_getTransactionReceipt", x_hash), None)
        c.equal("x tx gone", node("eth_getTransactionByHash", x_hash), None)
        c.equal("old block by hash gone", node("eth_getBlockByHash", old_block["hash"], False), None)
        node("evm_mine")
        new_block = node("eth_getBlockByNumber", hex(height + 1), False)
        c.check("new hash at H+1", new_block["hash"] != old_block["hash"])
        c.equal("same parent", new_block["parentHash"], old_block["parentHash"])
        c.check("x's logs gone", all(log["transactionHash"] != x_hash for log in node("eth_getLogs", {"fromBlock": "0x0"})))
        c.equal("snapshot used up", node("evm_revert", snap), False)

        # tags
        node("evm_mine", 6)
        latest = int(node("eth_blockNumber"), 16)
        c.equal("safe lag", node("eth_getBlockByNumber", "safe", False)["number"], hex(latest - 2))
        c.equal("finalized lag", node("eth_getBlockByNumber", "finalized", False)["number"], hex(latest - 4))
        c.equal("earliest", node("eth_getBlockByNumber", "earliest", False)["number"], "0x0")
        c.equal("future block is null", node("eth_getBlockByNumber", hex(latest + 10), False), None)

        # fees
        history = node("eth_feeHistory", "0x4", "latest", [10, 90])
        c.equal("feeHistory oldestBlock", history["oldestBlock"], hex(latest - 3))
        c.equal("feeHistory baseFee n+1", len(history["baseFeePerGas"]), 5)
        c.equal("feeHistory ratios", len(history["gasUsedRatio"]), 4)
        c.equal("feeHistory rewards", [len(r) for r in history["reward"]], [2, 2, 2, 2])
        c.check("gasPrice", int(node("eth_gasPrice"), 16) > 0)
        c.equal("maxPriorityFeePerGas", node("eth_maxPriorityFeePerGas"), hex(10**9))

        # protocol errors
        c.equal("unknown method", node.error("eth_nope")["code"], -32601)
        c.equal("bad params", node.error("eth_getBalance", "0x1234", "latest")["code"], -32602)
        c.equal("bad quantity", node.error("eth_getBlockByNumber", "0x01", False)["code"], -32602)
        status, body = node.post(b'{"jsonrpc":"2.0","id":1,"method":')
        c.equal("malformed JSON", json.loads(body)["error"]["code"], -32700)
        status, body = node.post(json.dumps([
            {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 8, "method": "eth_nope", "params": []},
        ]).encode())
        batch = json.loads(body)
        c.equal("batch", [(r["id"], "result" in r) for r in batch], [(7, True), (8, False)])
        c.equal("still alive", node("eth_chainId"), "0x539")

        # throughput: 200 transfers, each mined in its own block
        nonce = int(node("eth_getTransactionCount", owner["address"], "pending"), 16)
        raws = [sign(owner["privateKey"], chain_id, nonce + i, token,
                     call_data("transfer(address,uint256)", ["address", "uint256"], [accounts[3 + i % 7]["address"], 1]),
                     gas=80_000, max_fee=10**10)
                for i in range(200)]
        first = int(node("eth_blockNumber"), 16) + 1
        started = time.time()
        for raw in raws:
            node("eth_sendRawTransaction", raw)
        elapsed = time.time() - started
        print(f"200 transfers: {elapsed:.2f} s, {200 / elapsed:.0f} tx/s (one block each)")
        last = int(node("eth_blockNumber"), 16)
        c.equal("one block per tx", last - first + 1, 200)
        started = time.time()
        logs = node("eth_getLogs", {"fromBlock": hex(first), "toBlock": hex(last), "topics": [TRANSFER_TOPIC]})
        print(f"eth_getLogs of {len(logs)} logs over 200 blocks: {1000 * (time.time() - started):.1f} ms")
        c.equal("200 Transfer logs", len(logs), 200)
        started = time.time()
        for n in range(first, last + 1):
            node("eth_getBlockByNumber", hex(n), False)
        print(f"eth_getBlockByNumber: {1000 * (time.time() - started) / 200:.2f} ms each (keep-alive)")
    finally:
        node.close()


def batch_devnet_checks(c: Checks):
    node = Devnet("--no-automine", "--max-logs", "5", "--chain-id", "31337", "--safe-lag", "1", "--finalized-lag", "3")
    try:
        chain_id = int(node("eth_chainId"), 16)
        c.equal("custom chain id", chain_id, 31337)
        genesis = int(node("eth_getBlockByNumber", "0x0", False)["timestamp"], 16)
        time.sleep(2.1)
        before = int(time.time())
        node("evm_mine")
        stamp = int(node("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
        c.check("timestamp tracks the clock after idle", stamp >= before and stamp > genesis, (genesis, before, stamp))
        accounts = node("settle_accounts")
        owner = accounts[0]
        token = node("settle_deployToken", {"name": "Batch", "symbol": "BAT", "decimals": 18,
                                            "initialSupply": hex(10**24), "owner": owner["address"]})
        height = int(node("eth_blockNumber"), 16)
        nonce = int(node("eth_getTransactionCount", owner["address"], "pending"), 16)
        hashes = [node("eth_sendRawTransaction", sign(owner["privateKey"], chain_id, nonce + i, token,
                                                    call_data("transfer(address,uint256)", ["address", "uint256"],
                                                              [accounts[1 + i]["address"], 10 + i])))
                  for i in range(3)]
        c.equal("no automine: nothing mined", int(node("eth_blockNumber"), 16), height)
        c.equal("pending nonce", node("eth_getTransactionCount", owner["address"], "pending"), hex(nonce + 3))
        c.equal("pending tx visible", node("eth_getTransactionByHash", hashes[0])["blockHash"], None)
        node("evm_mine")
        block = node("eth_getBlockByNumber", "latest", True)
        c.equal("one block, three txs", [t["hash"] for t in block["transactions"]], hashes)
        logs = node("eth_getLogs", {"blockHash": block["hash"]})
        c.equal("logIndex per block across txs", [log["logIndex"] for log in logs], ["0x0", "0x1", "0x2"])
        c.equal("transactionIndex", [log["transactionIndex"] for log in logs], ["0x0", "0x1", "0x2"])
        minted = node("settle_mint", {"token": token, "to": accounts[5]["address"], "amount": 7})
        node("evm_mine", "0x3")
        c.equal("settle_mint mined by evm_mine", node("eth_getTransactionReceipt", minted)["status"], "0x1")
        latest = int(node("eth_blockNumber"), 16)
        c.equal("safe lag 1", node("eth_getBlockByNumber", "safe", False)["number"], hex(latest - 1))
        c.equal("finalized lag 3", node("eth_getBlockByNumber", "finalized", False)["number"], hex(latest - 3))
        error = node.error("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
        c.equal("too many results code", error["code"], -32005)
        c.check("too many results message", error["message"].startswith("query returned more than 5 results. Try with this block range ["),
                error["message"])
        suggested = error["message"].split("[")[1].split("]")[0].split(", ")
        fitting = node("eth_getLogs", {"fromBlock": suggested[0], "toBlock": suggested[1]})
        c.check("suggested range fits", 0 < len(fitting) <= 5, len(fitting))
    finally:
        node.close()


def token_kind_checks(c: Checks):
    """The test tokens with real-world behaviours (settle_deployToken "kind"), each proven over JSON-RPC."""
    node = Devnet()
    try:
        chain_id = int(node("eth_chainId"), 16)
        accounts = node("settle_accounts")
        payer, spender, treasury = accounts[3], accounts[4], accounts[5]
        collector = "0x000000000000000000000000000000000000fee1"
        max_uint = 2**256 - 1

        def send(account, token, data, gas=200_000):
            nonce = int(node("eth_getTransactionCount", account["address"], "pending"), 16)
            return node("eth_getTransactionReceipt", node("eth_sendRawTransaction",
                                                          sign(account["privateKey"], chain_id, nonce, token, data, gas=gas)))

        def view(token, signature, types, values, out="uint256"):
            result = node("eth_call", {"to": token, "data": call_data(signature, types, values)}, "latest")
            return abi_decode([out], bytes.fromhex(result[2:]))[0]

        def balance(token, account):
            address = account if isinstance(account, str) else account["address"]
            return view(token, "balanceOf(address)", ["address"], [address])

        def allowance(token):
            return view(token, "allowance(address,address)", ["address", "address"], [payer["address"], spender["address"]])

        def pull(amount, to=None):
            return call_data("transferFrom(address,address,uint256)", ["address", "address", "uint256"],
                             [payer["address"], (to or treasury)["address"], amount])

        def approve(amount):
            return call_data("approve(address,uint256)", ["address", "uint256"], [spender["address"], amount])

        def transfer(to, amount):
            return call_data("transfer(address,uint256)", ["address", "uint256"], [to, amount])

        def transfers(receipt):
            return [(log["topics"][1], log["topics"][2], int(log["data"], 16))
                    for log in receipt["logs"] if log["topics"][0] == TRANSFER_TOPIC]

        def deploy(kind, **extra):
            started = time.time()
            token = node("settle_deployToken", {"name": f"Settle {kind}", "symbol": "TK", "kind": kind, **extra})
            print(f"deploy {kind}: {time.time() - started:.2f} s")
            c.equal(f"{kind}: decimals default 6", view(token, "decimals()", [], [], "uint8"), 6)
            node("settle_mint", {"token": token, "to": payer["address"], "amount": 1_000_000})
            c.equal(f"{kind}: minted", balance(token, payer), 1_000_000)
            return token

        c.equal("unknown kind", node.error("settle_deployToken", {"name": "X", "symbol": "X", "kind": "nope"})["code"], -32602)
        c.equal("feeBps only for fee", node.error("settle_deployToken", {"name": "X", "symbol": "X", "feeBps": 5})["code"], -32602)

        # fee: 1% by default, to the collector; Transfer(to, amount - fee) then Transfer(collector, fee)
        fee = deploy("fee")
        c.equal("fee: feeBps", view(fee, "feeBps()", [], []), 100)
        c.equal("fee: feeCollector", view(fee, "feeCollector()", [], [], "address"), collector)
        c.equal("fee: approve mined", send(payer, fee, approve(500_000))["status"], "0x1")
        c.equal("fee: eth_call returns true", node("eth_call", {"from": spender["address"], "to": fee, "data": pull(100_000)}),
                "0x" + "00" * 31 + "01")
        receipt = send(spender, fee, pull(100_000))
        c.equal("fee: mined", receipt["status"], "0x1")
        c.equal("fee: Approval then two Transfers", [log["topics"][0] for log in receipt["logs"]],
                [APPROVAL_TOPIC, TRANSFER_TOPIC, TRANSFER_TOPIC])
        c.equal("fee: Transfer logs", transfers(receipt), [
            (topic_address(payer["address"]), topic_address(treasury["address"]), 99_000),
            (topic_address(payer["address"]), topic_address(collector), 1_000)])
        c.equal("fee: treasury got 99%", balance(fee, treasury), 99_000)
        c.equal("fee: collector got 1%", balance(fee, collector), 1_000)
        c.equal("fee: payer paid 100%", balance(fee, payer), 900_000)
        c.equal("fee: allowance spent in full", allowance(fee), 400_000)
        small = send(spender, fee, pull(99))
        c.equal("fee: no fee below 100 units, one Transfer", transfers(small),
                [(topic_address(payer["address"]), topic_address(treasury["address"]), 99)])
        set_fee = node("settle_tokenCall", {"token": fee, "function": "setFeeBps(uint256)", "args": [250]})
        c.equal("fee: setFeeBps via settle_tokenCall", (node("eth_getTransactionReceipt", set_fee)["status"],
                                                        view(fee, "feeBps()", [], [])), ("0x1", 250))
        node("settle_tokenCall", {"token": fee, "function": "transfer", "args": [treasury["address"], "1000"], "from": 3})
        c.equal("fee: 2.5% on transfer", balance(fee, treasury), 99_000 + 99 + 975)
        not_owner = node.error("settle_tokenCall", {"token": fee, "function": "setFeeBps", "args": [1], "from": spender["address"]})
        c.equal("fee: setFeeBps by another account reverts", (not_owner["code"], not_owner["message"]),
                (3, "execution reverted: ownable: caller is not the owner"))
        other = node("settle_deployToken", {"name": "Fee 5%", "symbol": "F5", "kind": "fee", "feeBps": "500",
                                            "feeCollector": accounts[9]["address"]})
        c.equal("fee: feeBps and feeCollector given", (view(other, "feeBps()", [], []),
                                                       view(other, "feeCollector()", [], [], "address")), (500, accounts[9]["address"]))

        # false: short balance or allowance returns false (32 zero bytes); nothing moves, no log, status 1
        false_token = deploy("false")
        send(payer, false_token, approve(500))
        false_word = "0x" + "00" * 32
        c.equal("false: short allowance returns false",
                node("eth_call", {"from": spender["address"], "to": false_token, "data": pull(600)}), false_word)
        c.check("false: eth_estimateGas does not fail",
                int(node("eth_estimateGas", {"from": spender["address"], "to": false_token, "data": pull(600)}), 16) > 21000)
        receipt = send(spender, false_token, pull(600))
        c.equal("false: mined with status 1 and no logs", (receipt["status"], receipt["logs"]), ("0x1", []))
        c.equal("false: nothing moved", (balance(false_token, payer), balance(false_token, treasury), allowance(false_token)),
                (1_000_000, 0, 500))
        c.equal("false: short balance returns false (transfer)",
                node("eth_call", {"from": payer["address"], "to": false_token, "data": transfer(treasury["address"], 2_000_000)}),
                false_word)
        send(payer, false_token, approve(5_000_000))
        c.equal("false: short balance returns false (transferFrom)",
                node("eth_call", {"from": spender["address"], "to": false_token, "data": pull(2_000_000)}), false_word)
        receipt = send(spender, false_token, pull(300))
        c.equal("false: success returns true and moves",
                (receipt["status"], len(transfers(receipt)), balance(false_token, treasury)), ("0x1", 1, 300))

        # noreturn: USDT-style, no return data; reverts on failure
        noreturn = deploy("noreturn")
        c.equal("noreturn: approve returns no data",
                node("eth_call", {"from": payer["address"], "to": noreturn, "data": approve(1)}), "0x")
        receipt = send(payer, noreturn, approve(500))
        c.equal("noreturn: approve mined with Approval", (receipt["status"], [log["topics"][0] for log in receipt["logs"]]),
                ("0x1", [APPROVAL_TOPIC]))
        c.equal("noreturn: transferFrom returns no data",
                node("eth_call", {"from": spender["address"], "to": noreturn, "data": pull(200)}), "0x")
        c.equal("noreturn: transfer returns no data",
                node("eth_call", {"from": payer["address"], "to": noreturn, "data": transfer(treasury["address"], 1)}), "0x")
        receipt = send(spender, noreturn, pull(200))
        c.equal("noreturn: mined, Approval then Transfer", (receipt["status"], [log["topics"][0] for log in receipt["logs"]]),
                ("0x1", [APPROVAL_TOPIC, TRANSFER_TOPIC]))
        c.equal("noreturn: moved", (balance(noreturn, treasury), allowance(noreturn)), (200, 300))
        error = node.error("eth_estimateGas", {"from": spender["address"], "to": noreturn, "data": pull(301)})
        c.equal("noreturn: short allowance reverts", (error["code"], error["message"]),
                (3, "execution reverted: erc20: insufficient allowance"))
        receipt = send(spender, noreturn, pull(301), gas=100_000)
        c.equal("noreturn: reverting pull mined with status 0", (receipt["status"], receipt["logs"]), ("0x0", []))

        # usdt: USDT's approve (issue 16): non-zero to non-zero reverts (bare revert); 0 first, then the amount
        usdt = deploy("usdt")

        def approval_log(receipt):
            return (receipt["status"], [(log["topics"], int(log["data"], 16)) for log in receipt["logs"]])

        approval_topics = [APPROVAL_TOPIC, topic_address(payer["address"]), topic_address(spender["address"])]
        c.equal("usdt: approve returns no data",
                node("eth_call", {"from": payer["address"], "to": usdt, "data": approve(500)}), "0x")
        receipt = send(payer, usdt, approve(500))
        c.equal("usdt: approve 0 -> 500 mined with Approval(500)", approval_log(receipt),
                ("0x1", [(approval_topics, 500)]))
        c.equal("usdt: allowance 500", allowance(usdt), 500)
        error = node.error("eth_call", {"from": payer["address"], "to": usdt, "data": approve(700)})
        c.equal("usdt: approve 500 -> 700 reverts at eth_call, no reason", (error["code"], error["message"], error.get("data")),
                (3, "execution reverted", "0x"))
        error = node.error("eth_estimateGas", {"from": payer["address"], "to": usdt, "data": approve(700)})
        c.equal("usdt: approve 500 -> 700 reverts at estimate", (error["code"], error["message"]), (3, "execution reverted"))
        receipt = send(payer, usdt, approve(700), gas=100_000)
        c.equal("usdt: approve 500 -> 700 mined with status 0, no logs", (receipt["status"], receipt["logs"]), ("0x0", []))
        c.equal("usdt: allowance stays 500", allowance(usdt), 500)
        error = node.error("eth_call", {"from": payer["address"], "to": usdt, "data": approve(max_uint)})
        c.equal("usdt: approve 500 -> 2**256-1 reverts too", error["message"], "execution reverted")
        c.equal("usdt: approve 500 -> 500 (same value) reverts too",
                node.error("eth_call", {"from": payer["address"], "to": usdt, "data": approve(500)})["message"], "execution reverted")
        receipt = send(payer, usdt, approve(0))
        c.equal("usdt: approve 500 -> 0 mined with Approval(0)", approval_log(receipt), ("0x1", [(approval_topics, 0)]))
        c.equal("usdt: allowance 0", allowance(usdt), 0)
        receipt = send(payer, usdt, approve(0))
        c.equal("usdt: approve 0 -> 0 works", approval_log(receipt), ("0x1", [(approval_topics, 0)]))
        receipt = send(payer, usdt, approve(700))
        c.equal("usdt: approve 0 -> 700 mined with Approval(700)", approval_log(receipt),
                ("0x1", [(approval_topics, 700)]))
        c.equal("usdt: allowance 700", allowance(usdt), 700)
        c.equal("usdt: transferFrom returns no data",
                node("eth_call", {"from": spender["address"], "to": usdt, "data": pull(200)}), "0x")
        c.equal("usdt: transfer returns no data",
                node("eth_call", {"from": payer["address"], "to": usdt, "data": transfer(treasury["address"], 1)}), "0x")
        receipt = send(spender, usdt, pull(200))
        c.equal("usdt: transferFrom mined, Approval(500) then Transfer(200)",
                (receipt["status"], [log["topics"][0] for log in receipt["logs"]], transfers(receipt)),
                ("0x1", [APPROVAL_TOPIC, TRANSFER_TOPIC],
                 [(topic_address(payer["address"]), topic_address(treasury["address"]), 200)]))
        c.equal("usdt: transferFrom moved", (balance(usdt, payer), balance(usdt, treasury), allowance(usdt)),
                (1_000_000 - 200, 200, 500))
        c.equal("usdt: approve after a partial pull (500 left) -> 300 reverts",
                node.error("eth_call", {"from": payer["address"], "to": usdt, "data": approve(300)})["message"], "execution reverted")
        error = node.error("eth_estimateGas", {"from": spender["address"], "to": usdt, "data": pull(501)})
        c.equal("usdt: short allowance reverts", (error["code"], error["message"]),
                (3, "execution reverted: erc20: insufficient allowance"))
        error = node.error("eth_estimateGas", {"from": treasury["address"], "to": usdt, "data": transfer(payer["address"], 201)})
        c.equal("usdt: short balance reverts", (error["code"], error["message"]),
                (3, "execution reverted: erc20: transfer amount exceeds balance"))
        receipt = send(spender, usdt, pull(500))
        c.equal("usdt: pull of the whole allowance leaves 0", (receipt["status"], allowance(usdt)), ("0x1", 0))
        receipt = send(payer, usdt, approve(max_uint))
        c.equal("usdt: approve 0 -> 2**256-1 after the allowance is used up", (receipt["status"], allowance(usdt)),
                ("0x1", max_uint))
        send(spender, usdt, pull(100))
        c.equal("usdt: infinite allowance not reduced", (allowance(usdt), balance(usdt, treasury)), (max_uint, 800))
        other = node("settle_tokenCall", {"token": usdt, "function": "approve", "args": [spender["address"], 5], "from": 6})
        c.equal("usdt: another owner's allowance is its own (0 -> 5 works)",
                (node("eth_getTransactionReceipt", other)["status"],
                 view(usdt, "allowance(address,address)", ["address", "address"], [accounts[6]["address"], spender["address"]])),
                ("0x1", 5))
        error = node.error("settle_tokenCall", {"token": usdt, "function": "approve", "args": [spender["address"], 6], "from": 6})
        c.equal("usdt: settle_tokenCall approve 5 -> 6 fails with the revert", (error["code"], error["message"]),
                (3, "execution reverted"))

        # pausable_blocklist: USDC-style
        usdc = deploy("pausable_blocklist")
        send(payer, usdc, approve(max_uint))

        def estimate_error(data, sender=spender):
            error = node.error("eth_estimateGas", {"from": sender["address"], "to": usdc, "data": data})
            return error["code"], error["message"], error.get("data", "")[:10]

        paused = node("settle_pause", usdc)
        c.equal("pausable: settle_pause mined", node("eth_getTransactionReceipt", paused)["status"], "0x1")
        c.equal("pausable: paused()", view(usdc, "paused()", [], [], "bool"), True)
        c.equal("pausable: paused transferFrom reverts at estimate", estimate_error(pull(10)),
                (3, "execution reverted: paused", "0x08c379a0"))
        c.equal("pausable: paused approve reverts", estimate_error(approve(1), payer)[:2], (3, "execution reverted: paused"))
        c.equal("pausable: paused transfer reverts",
                estimate_error(transfer(treasury["address"], 1), payer)[:2], (3, "execution reverted: paused"))
        receipt = send(spender, usdc, pull(10), gas=100_000)
        c.equal("pausable: paused pull mined with status 0", (receipt["status"], receipt["logs"]), ("0x0", []))
        error = node.error("eth_call", {"from": spender["address"], "to": usdc, "data": pull(10)}, receipt["blockNumber"])
        c.equal("pausable: eth_call at the failed block gives the reason", error["message"], "execution reverted: paused")
        node("settle_unpause", {"token": usdc})
        c.equal("pausable: unpaused", view(usdc, "paused()", [], [], "bool"), False)
        c.check("pausable: unpaused pull estimates",
                int(node("eth_estimateGas", {"from": spender["address"], "to": usdc, "data": pull(10)}), 16) > 21000)
        for who, account in (("payer", payer), ("treasury", treasury), ("spender", spender)):
            node("settle_blocklist", usdc, account["address"])
            c.equal(f"pausable: {who} isBlocklisted", view(usdc, "isBlocklisted(address)", ["address"], [account["address"]], "bool"), True)
            c.equal(f"pausable: {who} blocklisted reverts", estimate_error(pull(10)),
                    (3, "execution reverted: blocklisted", "0x08c379a0"))
            receipt = send(spender, usdc, pull(10), gas=100_000)
            c.equal(f"pausable: {who} blocklisted pull mined with status 0", (receipt["status"], receipt["logs"]), ("0x0", []))
            node("settle_unblocklist", {"token": usdc, "account": account["address"]})
        receipt = send(spender, usdc, pull(10))
        c.equal("pausable: all unblocked, pull works", (receipt["status"], transfers(receipt)),
                ("0x1", [(topic_address(payer["address"]), topic_address(treasury["address"]), 10)]))
        c.equal("pausable: infinite allowance not reduced", allowance(usdc), max_uint)
        node("settle_pause", usdc)
        node("settle_mint", {"token": usdc, "to": payer["address"], "amount": 5})
        c.equal("pausable: mint ignores pause", balance(usdc, payer), 1_000_000 - 10 + 5)
        node("settle_unpause", usdc)
        standard = node("settle_deployToken", {"name": "Plain", "symbol": "P", "decimals": 6})
        c.equal("settle_pause refuses another kind", node.error("settle_pause", standard)["code"], -32602)
        not_owner = node.error("settle_tokenCall", {"token": usdc, "function": "pause", "from": 1})
        c.equal("pausable: pause by another account reverts", not_owner["message"],
                "execution reverted: ownable: caller is not the owner")

        # lying: logs Transfer(amount), credits amount / 2, burns the rest
        lying = deploy("lying")
        send(payer, lying, approve(10_000))
        supply = view(lying, "totalSupply()", [], [])
        receipt = send(spender, lying, pull(1_001))
        c.equal("lying: mined, Approval then Transfer", (receipt["status"], [log["topics"][0] for log in receipt["logs"]]),
                ("0x1", [APPROVAL_TOPIC, TRANSFER_TOPIC]))
        c.equal("lying: Transfer says the full amount", transfers(receipt),
                [(topic_address(payer["address"]), topic_address(treasury["address"]), 1_001)])
        c.equal("lying: treasury credited half", balance(lying, treasury), 500)
        c.equal("lying: payer debited in full", balance(lying, payer), 1_000_000 - 1_001)
        c.equal("lying: the rest burned", view(lying, "totalSupply()", [], []), supply - 501)
        c.equal("lying: allowance spent in full", allowance(lying), 10_000 - 1_001)

        # compiled once, cached per kind
        sys.path.insert(0, HERE)
        from evm_devnet_token import KINDS, TokenArtifact
        c.check("every kind cached", all(TokenArtifact(kind=kind).cache_path().exists() for kind in KINDS))
    finally:
        node.close()


def test_evm_devnet():
    c = Checks()
    main_devnet_checks(c)
    batch_devnet_checks(c)
    token_kind_checks(c)
    assert c.failed == 0, f"{c.failed} checks failed"


def main():
    started = time.time()
    c = Checks()
    for group in (main_devnet_checks, batch_devnet_checks, token_kind_checks):
        try:
            group(c)
        except Exception as exc:  # noqa: BLE001 - report and count, then carry on to the next group
            c.failed += 1
            print(f"FAIL {group.__name__} raised {type(exc).__name__}: {exc}")
    print(f"total: {time.time() - started:.1f} s")
    print(f"{c.passed} passed, {c.failed} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
