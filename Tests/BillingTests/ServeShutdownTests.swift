import Billing
import EVM
import Foundation
import SettleCore
import Settlement
import Store
import Synchronization
import TestSupport
import Testing
import Transport

#if canImport(Glibc)
import Glibc
#endif

/// `settled serve`, the binary, as a merchant runs it: Stripe webhooks in over HTTP, charges executed on the devnet,
/// invoices marked paid. SIGTERM arrives while charges are in flight, again and again; each run must exit 0 on its
/// own, and after the last restart every invoice is charged exactly once and marked paid exactly once.
@Suite("settled serve: graceful shutdown (the binary)", .serialized)
struct ServeShutdownTests {
    @Test("SIGTERM during settlement drains and exits 0; restarts lose and repeat nothing; logs hold no secret")
    func sigtermDuringSettlement() async throws {
        _ = try SettledBinary.require()
        let w = try await BillingWorld.make(webhooks: false)
        let directory = try temporaryDirectory("settle-serve")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        let suffix = UInt32.random(in: 0...UInt32.max)
        let keyVariable = "SETTLE_TEST_SPENDER_\(suffix)", urlVariable = "SETTLE_TEST_RPC_\(suffix)"
        let secrets = (stripe: "sk_test_serve_\(suffix)", webhook: "whsec_serve_\(suffix)", token: "token-serve-\(suffix)",
                       rpcPath: "v3/rpc-key-\(suffix)", spender: try await w.devnet.privateKeyHex(7))
        TestEnvironment.set(keyVariable, secrets.spender)
        TestEnvironment.set(urlVariable, w.devnet.url + secrets.rpcPath)  // a provider URL with its API key in the path
        TestEnvironment.set("SETTLE_STRIPE_API_KEY", secrets.stripe)
        TestEnvironment.set("SETTLE_STRIPE_WEBHOOK_SECRET", secrets.webhook)
        TestEnvironment.set("SETTLE_API_TOKEN_READ", secrets.token)
        defer { for name in [keyVariable, urlVariable, "SETTLE_STRIPE_API_KEY", "SETTLE_STRIPE_WEBHOOK_SECRET", "SETTLE_API_TOKEN_READ"] { TestEnvironment.unset(name) } }
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [w.spender.address], confirmations: 2, rpcURL: "env:\(urlVariable)",
                                 signerKey: "env:\(keyVariable)", treasury: w.treasury)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)
        let port = try freePort()
        let config = directory.appendingPathComponent("settle.toml")
        let database = directory.appendingPathComponent("settle.sqlite").path
        try """
            database = "\(database)"
            chains_directory = "\(chains.path)"
            chains = ["devnet"]
            [stripe]
            base_url = "\(w.stripePeer.url(""))"
            poll_seconds = 2
            warn_ahead = 0
            [server]
            listen = "127.0.0.1:\(port)"
            shutdown_seconds = 30
            [log]
            format = "json"
            """.write(to: config, atomically: true, encoding: .utf8)
        _ = try await w.devnet.http.execute(Transport.HTTPRequest(
            url: w.stripePeer.url("/_config/webhooks/settle"), method: .post, headers: [("Content-Type", "application/json")],
            body: Array(#"{"url": "http://127.0.0.1:\#(port)/webhooks/stripe", "secret": "\#(secrets.webhook)"}"#.utf8)))

        // Blocks keep coming, as on a live chain, so transfers reach their confirmations.
        let mining = Task {
            while !Task.isCancelled {
                try? await w.devnet.mine(1)
                try? await Task.sleep(for: .milliseconds(150))
            }
        }
        defer { mining.cancel() }
        let log = directory.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let ledger = Ledger(database: try Database(path: database))

        var invoices: [String] = []
        var runs: [(status: Int32, seconds: Double, states: [String])] = []
        let now = UInt64(Date().timeIntervalSince1970)
        for run in 0..<4 {
            let serve = try ServeProcess(arguments: ["serve", "--config", config.path, "--interval", "0.2"], log: log)
            defer { serve.kill() }
            // Listening (and signal handlers installed). Bounds are loose: the suite shares two cores; a miss shows the log.
            try await Self.explained(log) {
                try await waitUntil(seconds: 120, "run \(run): settled serve answering /healthz") {
                    (try? await w.devnet.http.execute(Transport.HTTPRequest(url: "http://127.0.0.1:\(port)/healthz")))?.status != nil
                }
            }
            if run == 0 {
                // env: secrets left the daemon's environment once read (issue 14): /proc/PID/environ shows none of them.
                let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(serve.process.processIdentifier)/environ"))
                let names = environ.split(separator: 0).compactMap { String(bytes: $0, encoding: .utf8)?.split(separator: "=").first.map(String.init) }
                for secret in [keyVariable, urlVariable, "SETTLE_STRIPE_API_KEY", "SETTLE_STRIPE_WEBHOOK_SECRET", "SETTLE_API_TOKEN_READ"] {
                    #expect(!names.contains(secret), "\(secret) is still in the daemon's environment")
                }
                #expect(names.contains("PATH"), "the environment was read")
            }
            if run < 3 {
                // New invoices every run (webhooks arrive while earlier ones settle); SIGTERM once one of them is in flight.
                var fresh: [String] = []
                for cents: UInt64 in [300 + UInt64(run), 400 + UInt64(run)] {
                    fresh.append(try await w.openInvoice(customer: try await w.customer(), cents: cents, dueDate: now - 1))
                }
                invoices += fresh
                try await Self.explained(log) {
                    try await waitUntil(seconds: 120, "run \(run): one of \(fresh) in flight") {
                        let inFlight = (try? await ledger.charges(in: [.signed, .broadcast, .included])) ?? []
                        return inFlight.contains { fresh.contains($0.invoice) }
                    }
                }
                let states = try await ledger.charges(in: Set(ChargeState.allCases)).map(\.state.rawValue)
                let stopped = try await serve.terminate(within: 40)
                runs.append((stopped.status, stopped.seconds, states))
                #expect(stopped.status == 0, "run \(run): exit \(stopped.status) after \(stopped.seconds) s")
            } else {
                // The last run: everything settles and is reported; then a clean stop.
                try await waitUntil(seconds: 120) {
                    ((try? await ledger.charges(in: [.reported]))?.count ?? 0) == invoices.count
                }
                let stopped = try await serve.terminate(within: 40)
                #expect(stopped.status == 0)
            }
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        print("serve runs (exit status, seconds to stop, charge states at SIGTERM): \(runs)")

        // Exactly once, on chain and in Stripe.
        let transfers = try await w.treasuryTransfers().sorted()
        var expected: [UInt256] = []
        for invoice in invoices { expected.append(try #require(try await ledger.charge(invoice: invoice)).tokenAmount.baseUnits) }
        #expect(transfers == expected.sorted(), "\(transfers) vs \(expected)")
        for invoice in invoices {
            let charge = try #require(try await ledger.charge(invoice: invoice))
            #expect(charge.state == .reported)
            #expect(try await ledger.attempts(charge: charge.id).filter { $0.outcome == .included }.count == 1)
            #expect(try await w.invoice(invoice)["status"] == "paid")
        }
        #expect(try await w.executedPosts(endingWith: "/pay") == invoices.count)
        // Graceful: every run said it stopped; JSON lines only; no secret or keyed URL anywhere in the log.
        #expect(text.components(separatedBy: "settled serve stopped").count - 1 == 4, "\(text.suffix(3000))")
        for line in text.split(separator: "\n") { #expect((try? JSON(parsing: Array(line.utf8))) != nil, "not JSON: \(line)") }
        for secret in [secrets.stripe, secrets.webhook, secrets.token, secrets.rpcPath, secrets.spender, String(secrets.spender.dropFirst(2))] {
            #expect(!text.contains(secret), "the log holds a secret: \(secret)")
        }
    }
}

extension ServeShutdownTests {
    /// Runs `body`; when it throws, prints the end of the daemon's log first (what it was doing while the test waited).
    static func explained(_ log: URL, _ body: () async throws -> Void) async throws {
        do { try await body() } catch {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            print("settled serve's log, last 40 lines:\n" + text.split(separator: "\n").suffix(40).joined(separator: "\n"))
            throw error
        }
    }
}

/// A `settled` process whose standard error goes to a file, stopped with SIGTERM like systemd does.
final class ServeProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` is set in init and only read afterwards.
    let process: SpawnedProcess

    /// With `environment`, the child sees only that (e.g. `TestEnvironment.withoutSettleVariables()` plus its own).
    init(arguments: [String], log: URL, environment: [String: String]? = nil) throws {
        process = try SpawnedProcess(executable: try SettledBinary.require(), arguments: arguments,
                                     environment: environment ?? TestEnvironment.current(), log: log.path)
    }

    /// SIGTERM, then waits (polling, never `waitUntilExit`, see PITFALLS) up to `seconds` for the exit.
    func terminate(within seconds: Double) async throws -> (status: Int32, seconds: Double) {
        let started = ContinuousClock.now
        Glibc.kill(process.processIdentifier, SIGTERM)
        while process.isRunning {
            if ContinuousClock.now - started > .seconds(seconds) {
                kill()
                throw PeerError("settled did not exit within \(seconds) s of SIGTERM")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        return (process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus, elapsed)
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A port free on 127.0.0.1 right now, below the kernel's ephemeral range (32768–60999 here): a daemon restarted on
/// it must find it free again, and a port in that range can be taken meanwhile as the local end of any outgoing
/// connection (a database pool's, an RPC client's), which made a restarted daemon fail with EADDRINUSE.
func freePort() throws -> Int {
    for _ in 0..<200 {
        let candidate = UInt16.random(in: 20_000...32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = candidate.bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        if bound == 0 { return Int(candidate) }
    }
    throw PeerError("no free port in 20000…32000")
}

/// Polls `condition` every 100 ms until it holds, or fails after `seconds` naming `what`.
func waitUntil(seconds: Double, _ what: String = "condition", _ condition: () async throws -> Bool) async throws {
    try await waitUntil(seconds: seconds, every: .milliseconds(100), what, condition)
}

/// Polls `condition` every `interval` until it holds, or fails after `seconds` naming `what`.
func waitUntil(seconds: Double, every interval: Duration, _ what: String = "condition", _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw PeerError("\(what): not met within \(seconds) s")
}
