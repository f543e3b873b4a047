import Billing
import EVM
import Foundation
import Hummingbird
import Logging
import SettleCore
import Signing
import Solana
import Synchronization
import TestSupport
import Testing
import Transport

/// Captures the seeds of the decoder fuzz tests: real answers of the py-evm devnet, the LiteSVM runtime and
/// localstripe, written as they came over the wire to `Tests/Fixtures/` (EVM and Solana: whole JSON-RPC responses;
/// Stripe: API objects and a delivered webhook body). Run once, by hand, and commit what changed:
/// `SETTLE_CAPTURE_FIXTURES=1 swift test --filter FixtureCapture`.
@Suite("Fixture capture (by hand)", .enabled(if: ProcessInfo.processInfo.environment["SETTLE_CAPTURE_FIXTURES"] != nil))
struct FixtureCapture {
    static func write(_ family: String, _ name: String, _ body: [UInt8]) throws {
        _ = try JSON(parsing: body)  // only valid answers are seeds
        let directory = Fixtures.directory.appendingPathComponent(family)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(body).write(to: directory.appendingPathComponent(name + ".json"))
    }

    /// One raw JSON-RPC exchange: `request` posted as it is, the body written as it came.
    static func rpc(_ http: HTTPClient, _ url: String, _ family: String, _ name: String, _ request: JSON) async throws -> JSON {
        let response = try await http.execute(Transport.HTTPRequest(url: url, method: .post, headers: [("Content-Type", "application/json")],
                                                          body: request.serialized))
        try write(family, name, response.body)
        return try JSON(parsing: response.body)
    }

    static func call(_ method: String, _ params: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": params]
    }

    @Test("EVM: the devnet's answers to every call Settle decodes")
    func evm() async throws {
        let devnet = try await Devnet.start()
        let accounts = try await devnet.accounts()
        let (owner, customer, spender, treasury) = (accounts[0], accounts[1], accounts[7], accounts[8])
        let token = try await devnet.deployToken(owner: owner.address)
        try await devnet.mint(token: token, to: customer.address, amount: 1_000_000_000)
        try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: 50_000_000)
        let pull = try await devnet.sendSigned(from: spender, to: token, data: ERC20.transferFrom(from: customer.address, to: treasury.address, amount: 1_250_000))
        let http = devnet.http
        let url = devnet.url
        func rpc(_ name: String, _ method: String, _ params: JSON) async throws -> JSON {
            try await Self.rpc(http, url, "evm", name, Self.call(method, params))
        }
        _ = try await rpc("eth_chainId", "eth_chainId", [])
        let head = try await rpc("eth_blockNumber", "eth_blockNumber", [])
        let receipt = try await rpc("eth_getTransactionReceipt", "eth_getTransactionReceipt", [.string(pull.hash.description)])
        let block = try #require(receipt["result"]?["blockNumber"])
        let blockHash = try #require(receipt["result"]?["blockHash"])
        _ = try await rpc("eth_getBlockByNumber", "eth_getBlockByNumber", [block, false])
        _ = try await rpc("eth_getBlockByNumber_full", "eth_getBlockByNumber", [block, true])
        _ = try await rpc("eth_getBlockByNumber_null", "eth_getBlockByNumber", ["0xffffff", false])
        _ = try await rpc("eth_getBlockByHash", "eth_getBlockByHash", [blockHash, false])
        _ = try await rpc("eth_getBlockReceipts", "eth_getBlockReceipts", [block])
        _ = try await rpc("eth_getTransactionReceipt_null", "eth_getTransactionReceipt", [.string("0x" + String(repeating: "ab", count: 32))])
        _ = try await rpc("eth_getTransactionByHash", "eth_getTransactionByHash", [.string(pull.hash.description)])
        _ = try await rpc("eth_getLogs", "eth_getLogs", [["fromBlock": "0x0", "toBlock": head["result"] ?? "latest",
                                                        "address": [.string("0x" + token.lowercaseHex)]]])
        _ = try await rpc("eth_call", "eth_call", [["to": .string("0x" + token.lowercaseHex),
                                                    "data": .string(Hex.encode(ERC20.balanceOf(owner: treasury.address), prefix: true))], "latest"])
        _ = try await rpc("eth_getTransactionCount", "eth_getTransactionCount", [.string("0x" + spender.address.lowercaseHex), "pending"])
        _ = try await rpc("eth_estimateGas", "eth_estimateGas", [[
            "from": .string("0x" + spender.address.lowercaseHex), "to": .string("0x" + token.lowercaseHex),
            "data": .string(Hex.encode(ERC20.transferFrom(from: customer.address, to: treasury.address, amount: 1), prefix: true)),
        ]])
        _ = try await rpc("eth_estimateGas_revert", "eth_estimateGas", [[
            "from": .string("0x" + spender.address.lowercaseHex), "to": .string("0x" + token.lowercaseHex),
            "data": .string(Hex.encode(ERC20.transferFrom(from: customer.address, to: treasury.address, amount: 1 << 60), prefix: true)),
        ]])
        _ = try await rpc("eth_feeHistory", "eth_feeHistory", ["0xa", "latest", [50]])
        _ = try await Self.rpc(http, url, "evm", "batch_eth_getBlockByNumber", [
            ["jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [block, false]],
            ["jsonrpc": "2.0", "id": 2, "method": "eth_getBlockByNumber", "params": ["0x1", false]],
            ["jsonrpc": "2.0", "id": 3, "method": "eth_getBlockByNumber", "params": ["0xffffff", false]],
        ])
    }

    @Test("Solana: LiteSVM's answers to every call Settle decodes")
    func solana() async throws {
        let net = try await SolanaTestnet.start()
        let keys = try await net.keypairs(3)
        let owner = SolanaPublicKey(keys[0].publicKey)
        let delegate = SolanaPublicKey(keys[1].publicKey)
        let mint = try await net.createMint(decimals: 6)
        let source = try await net.createATA(owner: owner, mint: mint)
        let destination = try await net.createATA(owner: SolanaPublicKey(keys[2].publicKey), mint: mint)
        try await net.mint(mint, to: source, amount: 1_000_000_000)
        let approve = try await net.send([TokenInstruction.approve(source: source, delegate: delegate, owner: owner, amount: 400_000_000)], signers: [keys[0]])
        let pull = try await net.send([TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: delegate,
                                                                        amount: 25_000_000, decimals: 6)], signers: [keys[1]])
        let table = try await net.lookupTable([destination, mint])
        let v0 = try await net.sendV0([TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: delegate,
                                                                        amount: 5_000_000, decimals: 6)],
                                      tables: [AddressLookupTableAccount(key: table, addresses: [destination, mint])], signers: [keys[1]])
        let createdFor = SolanaPublicKey(try await net.keypairs(1)[0].publicKey)
        let ata = try await net.createATA(owner: createdFor, mint: mint)  // CreateIdempotent CPIs into SPL Token: inner instructions
        let ataHistory = try await net.node.signatures(for: ata)
        let ataCreation = try #require(ataHistory.last?.signature)
        // Token-2022: a mint with a transfer fee, and an account that requires a memo (the extensions Settle reads).
        let feeMint = try await net.createMint(decimals: 6, program: .token2022, extensions: ["transferFee": ["basisPoints": 100, "maximumFee": 1_000_000]])
        let memoAccount = try await net.createATA(owner: SolanaPublicKey(keys[2].publicKey), mint: feeMint)
        try await net.requireMemo(memoAccount)
        let http = net.http
        let url = net.peer.url("/")
        func rpc(_ name: String, _ method: String, _ params: JSON) async throws {
            _ = try await Self.rpc(http, url, "solana", name, Self.call(method, params))
        }
        let confirmed: JSON = ["commitment": "confirmed"]
        try await rpc("getSlot", "getSlot", [confirmed])
        try await rpc("getBlockHeight", "getBlockHeight", [confirmed])
        try await rpc("minimumLedgerSlot", "minimumLedgerSlot", [])
        try await rpc("getLatestBlockhash", "getLatestBlockhash", [confirmed])
        let base64: JSON = ["commitment": "confirmed", "encoding": "base64"]
        let missing = try SolanaPublicKey(bytes: [UInt8](repeating: 7, count: 32))  // nobody's account
        try await rpc("getMultipleAccounts", "getMultipleAccounts", [[.string(source.description), .string(mint.description),
                                                                      .string("11111111111111111111111111111111")], base64])
        try await rpc("getAccountInfo", "getAccountInfo", [.string(source.description), base64])
        try await rpc("getAccountInfo_null", "getAccountInfo", [.string(missing.description), base64])
        try await rpc("getAccountInfo_token2022_mint", "getAccountInfo", [.string(feeMint.description), base64])
        try await rpc("getAccountInfo_token2022_account", "getAccountInfo", [.string(memoAccount.description), base64])
        let program: JSON = ["programId": .string(SolanaPublicKey.tokenProgram.description)]
        try await rpc("getTokenAccountsByOwner", "getTokenAccountsByOwner", [.string(owner.description), program, base64])
        try await rpc("getTokenAccountsByDelegate", "getTokenAccountsByDelegate", [.string(delegate.description), program, base64])
        try await rpc("getSignaturesForAddress", "getSignaturesForAddress", [.string(source.description), ["commitment": "confirmed", "limit": 1000]])
        let transaction: JSON = ["commitment": "confirmed", "encoding": "base64", "maxSupportedTransactionVersion": 0]
        try await rpc("getTransaction_approve", "getTransaction", [.string(approve.description), transaction])
        try await rpc("getTransaction_pull", "getTransaction", [.string(pull.description), transaction])
        try await rpc("getTransaction_v0", "getTransaction", [.string(v0.description), transaction])
        try await rpc("getTransaction_inner", "getTransaction", [.string(ataCreation.description), transaction])
        try await rpc("getSignatureStatuses", "getSignatureStatuses", [[.string(pull.description), .string(v0.description),
                                                                        .string(SolanaSignature(rawValue: Bytes64(first: .zero, second: .zero)).description)],
                                                                       ["searchTransactionHistory": true]])
        try await rpc("getRecentPrioritizationFees", "getRecentPrioritizationFees", [])
        let blockhash = try await net.node.latestBlockhash().blockhash
        let over = try LegacyMessage(
            instructions: [TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: delegate,
                                                            amount: 900_000_000, decimals: 6)],
            payer: delegate, recentBlockhash: blockhash)
        let wire = try SolanaTransaction(message: .legacy(over), signers: [keys[1]]).serialized()
        try await rpc("simulateTransaction", "simulateTransaction", [.string(Data(wire).base64EncodedString()),
                                                                     ["encoding": "base64", "sigVerify": true, "commitment": "confirmed"]])
    }

    @Test("Stripe: localstripe's invoice, list page, customer, and a delivered webhook")
    func stripe() async throws {
        let peer = try await Peer.start(script: "stripe_peer.py")
        let http = HTTPClient()
        let stripe = StripeClient(baseURL: peer.url(""), apiKey: "sk_test_settle", http: http)
        let deliveries = Mutex<[[UInt8]]>([])
        var logger = Logger(label: "capture")
        logger.logLevel = .critical
        let server = try await TestServer.start(logger: logger) { router in
            router.post("/capture") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                deliveries.withLock { $0.append(Array(buffer: body)) }
                return Response(status: .ok)
            }
        }
        defer { server.stop() }
        _ = try await http.execute(Transport.HTTPRequest(url: peer.url("/_config/webhooks/capture"), method: .post, headers: [("Content-Type", "application/json")],
                                               body: Array(#"{"url": "\#(server.url("/capture"))", "secret": "whsec_capture"}"#.utf8)))
        func get(_ path: String, _ name: String) async throws {
            let response = try await http.execute(Transport.HTTPRequest(url: peer.url(path), headers: [("Authorization", "Bearer sk_test_settle")]))
            try Self.write("stripe", name, response.body)
        }
        let customer = try await stripe.post("/v1/customers", [
            "email": "payer@example.com",
            "metadata": ["settle_chain": "base", "settle_token": "usdc", "settle_wallet": "0x1111111111111111111111111111111111111111"],
        ], idempotencyKey: "cus-capture")
        let customerID = try #require(customer["id"]?.stringValue)
        _ = try await stripe.post("/v1/invoiceitems", ["customer": .string(customerID), "amount": 2500, "currency": "usd", "description": "Pro"],
                                  idempotencyKey: "ii-capture")
        let invoice = try await stripe.post("/v1/invoices", [
            "customer": .string(customerID), "collection_method": "send_invoice", "auto_advance": false, "due_date": 1_900_000_000,
        ], idempotencyKey: "in-capture")
        let invoiceID = try #require(invoice["id"]?.stringValue)
        _ = try await stripe.post("/v1/invoices/\(invoiceID)/finalize", idempotencyKey: "fin-capture")
        try await get("/v1/invoices/\(invoiceID)", "invoice")
        try await get("/v1/customers/\(customerID)", "customer")
        try await get("/v1/invoices?limit=1", "invoice_list")
        let deadline = ContinuousClock.now + .seconds(60)
        while deliveries.withLock({ $0.count }) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        for (i, body) in deliveries.withLock({ $0 }).enumerated() {
            let type = (try JSON(parsing: body))["type"]?.stringValue ?? "event"
            try Self.write("stripe", "event_\(i)_\(type)", body)
        }
        #expect(deliveries.withLock { $0.count } >= 1)
    }
}
