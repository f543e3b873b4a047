import Billing
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

/// Issue 12, point 6: the `settled serve` binary, with Stripe (localstripe) in the loop, made to SIGKILL itself at each
/// named crash point (`SETTLE_CRASH_AT`, see `SettleCore.CrashPoint`) and restarted, again and again, on each chain.
///
/// For every point: 30 open invoices due now, issued three before each run while earlier ones are in flight; the
/// daemon is started with the point armed and left until it kills itself there (a kill counts only when the log gained
/// `settled: crash point <point>`) or every invoice is reported (then SIGTERM); restarted until every invoice exists
/// and went past the point (at least 20 kills required); then one run without the crash point until every invoice is
/// reported, and SIGTERM (exit 0). Ground truth comes from the chain
/// and from Stripe, never from Settle's tables: exactly one transfer into the treasury per invoice, of exactly its
/// amount (EVM: the token's Transfer logs; Solana: the treasury token account's transactions and balance), and every
/// invoice paid in Stripe by exactly one executed `POST /v1/invoices/{id}/pay`.
///
/// Every third run lets one pass of the point through first (`SETTLE_CRASH_SKIP=1`), so kills also land on a later
/// hit in a process (a second charge signed, a re-send, a second report) and not only on the first after a start;
/// every other run starts while the chain stands still for 1.5 s, so kills also land while transfers are landed but
/// not final.
///
/// One peer set and one database per chain; the points run one after another on it (the EVM spender's nonces
/// continue across them, as in production). About a minute for both chains on two cores.
@Suite("Crash points: settled serve kills itself at every named point; exactly one transfer and one payment per invoice")
struct CrashPointTests {
    @Test("EVM devnet: every crash point, killed and restarted through settled serve")
    func evm() async throws {
        _ = try SettledBinary.require()
        try await CrashMatrix.run(chain: try await EVMServedChain.make())
    }

    @Test("Solana LiteSVM: every crash point, killed and restarted through settled serve")
    func solana() async throws {
        _ = try SettledBinary.require()
        try await CrashMatrix.run(chain: try await SolanaServedChain.make())
    }
}

/// Whether the test's chain clock (the task mining blocks or advancing slots) stands still right now.
final class ChainClock: Sendable {
    private let until = Mutex<ContinuousClock.Instant?>(nil)

    var paused: Bool { until.withLock { $0.map { ContinuousClock.now < $0 } ?? false } }

    func pause(for duration: Duration) { until.withLock { $0 = ContinuousClock.now + duration } }
}

/// What one crash point did on one chain.
struct CrashPointResult: Sendable {
    var chain: String
    var point: CrashPoint
    var kills = 0
    var runs = 0
    var charges = 0
    var transfers = 0
    var seconds = 0.0
    /// The ledger's last recorded move (`from→to`) when each kill happened: where the kills landed (informative only).
    var lastMoves: [String: Int] = [:]
    /// Runs that ended otherwise than by the armed crash point or a clean SIGTERM (status, last log lines).
    var surprises: [String] = []

    var line: String {
        let name = point.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
        return "crash matrix | \(chain.padding(toLength: 6, withPad: " ", startingAt: 0)) | \(name) | kills \(kills) | charges \(charges) | "
            + "transfers \(transfers) | runs \(runs) | \(String(format: "%.1f", seconds)) s"
    }

    var landing: String {
        "crash matrix |   \(chain) \(point.rawValue): last recorded move at each kill: "
            + lastMoves.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }
}

enum CrashMatrix {
    /// Invoices per point, and the kills each point must reach.
    static let charges = 30
    static let minimumKills = 20

    static func run(chain: some ServedChain) async throws {
        let stripe = try await StripeSide.start()
        defer { stripe.shutdown() }
        let rig = try ServeRig(chain: chain, stripe: stripe)
        // The chain's clock: blocks (EVM) or slots (Solana) keep coming, as on a live network, so transfers become final.
        let clock = ChainClock()
        let ticking = Task {
            while !Task.isCancelled {
                if !clock.paused { try? await chain.tick() }
                try? await Task.sleep(for: .milliseconds(150))
            }
        }
        defer { ticking.cancel() }

        var results: [CrashPointResult] = []
        var expected: [UInt256] = []  // every invoice so far, in token base units (6 decimals, USD at parity)
        var transfersBefore = 0
        for (index, point) in CrashPoint.allCases.enumerated() {
            let started = ContinuousClock.now
            var result = CrashPointResult(chain: chain.family, point: point, charges: charges)
            var invoices: [(id: String, cents: UInt64)] = []
            func issue(_ count: Int) async throws {  // open invoices, due now (a second ago)
                let now = UInt64(Date().timeIntervalSince1970)
                for _ in 0..<count {
                    let cents = UInt64(200 + index * charges + invoices.count)  // distinct amounts: sorted comparisons are one-to-one
                    let customer = try await stripe.customer(chain: chain.name, wallet: chain.payerWallet)
                    invoices.append((try await stripe.openInvoice(customer: customer, cents: cents, dueDate: now - 1), cents))
                    expected.append(UInt256(cents) * UInt256(10_000 as UInt64))
                }
            }

            // Crash runs: invoices arrive a few at a time (as renewals do) while earlier ones are in flight; runs go on
            // until every invoice exists and is reported (so past the point; the kill count is checked below), within a cap.
            let maxRuns = 4 * max(charges, minimumKills) + 10
            var allReported = false
            while result.runs < maxRuns {
                if invoices.count < charges { try await issue(min(3, charges - invoices.count)) } else if allReported { break }
                result.runs += 1
                // Every other run starts on a chain that stands still for a moment, so transfers are seen landed but
                // not final (kills land on those records too, not only on final ones).
                if result.runs % 2 == 0 { clock.pause(for: .milliseconds(1500)) }
                let run = try await rig.run(crashAt: point, skip: result.runs % 3 == 0 ? 1 : 0, until: invoices.map(\.id), timeout: 90)
                if run.crashed {
                    result.kills += 1
                    result.lastMoves[await rig.lastMove(), default: 0] += 1
                } else if let surprise = run.surprise { result.surprises.append("run \(result.runs): \(surprise)") }
                allReported = run.allReported
                if run.stuck { break }
            }
            let ids = invoices.map(\.id)
            // The last run: nothing armed; every invoice reported; SIGTERM.
            let last = try await rig.run(crashAt: nil, skip: 0, until: ids, timeout: 120)
            result.seconds = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000

            // Ground truth. The chain: one transfer per invoice, exact amounts (amounts are distinct, so the sorted
            // lists agree only if each invoice was paid exactly once); the balance agrees.
            let deposits = try await chain.treasuryDeposits()
            result.transfers = deposits.count - transfersBefore
            transfersBefore = deposits.count
            results.append(result)
            print(result.line)
            print(result.landing)
            let diagnosis = last.allReported && deposits.count == expected.count ? "" : try await rig.diagnose(ids)
            #expect(last.allReported, "\(chain.family) \(point.rawValue): not every invoice reported after the last run\n\(diagnosis)")
            #expect(last.status == 0, "\(chain.family) \(point.rawValue): the last run exited \(last.status.map(String.init) ?? "-") after SIGTERM")
            #expect(result.kills >= minimumKills, "\(chain.family) \(point.rawValue): \(result.kills) kills in \(result.runs) runs\n\(diagnosis)")
            #expect(result.surprises.isEmpty, "\(chain.family) \(point.rawValue): \(result.surprises.joined(separator: "\n"))")
            #expect(deposits.sorted() == expected.sorted(),
                    "\(chain.family) \(point.rawValue): treasury deposits \(deposits.map(\.description)) vs invoices \(expected.map(\.description))\n\(diagnosis)")
            let sum = expected.reduce(UInt256.zero, +)
            #expect(try await chain.treasuryBalance() == sum, "\(chain.family) \(point.rawValue): treasury balance vs \(sum)")
            // Stripe: each invoice paid, its full amount, by exactly one executed POST /pay.
            let posts = try await stripe.executedPosts()
            for (invoice, cents) in invoices {
                let json = try await stripe.invoice(invoice)
                #expect(json["status"] == "paid", "\(invoice): \(json["status"]?.stringValue ?? "?")")
                #expect(json["amount_paid"]?.uint64Value == cents, "\(invoice): amount_paid \(json["amount_paid"]?.text ?? "?") vs \(cents)")
                #expect(posts.filter { $0 == "/v1/invoices/\(invoice)/pay" }.count == 1, "\(invoice): executed /pay POSTs")
            }
        }
        let text = (try? String(contentsOf: rig.log, encoding: .utf8)) ?? ""
        #expect(!text.contains("invoice paid twice"), "a double_payment finding was logged")
        print("crash matrix | \(chain.family) summary:\n" + results.map { $0.line + "\n" + $0.landing }.joined(separator: "\n"))
    }
}

/// Stripe as the merchant's account: localstripe with Settle's test extension, customers paying on a chain, open
/// `send_invoice` invoices, and the extension's record of executed requests.
final class StripeSide: Sendable {
    let peer: Peer
    let http: HTTPClient
    let client: StripeClient

    init() throws {
        peer = try Peer(script: "stripe_peer.py")
        http = HTTPClient()
        client = StripeClient(baseURL: peer.url(""), apiKey: "sk_test_crash", http: http,
                              retry: RetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(20)))
    }

    /// Starts localstripe as `init` does, off the cooperative pool (`onThread`).
    static func start() async throws -> StripeSide {
        try await onThread { try StripeSide() }
    }

    func shutdown() {
        http.shutdown()
        peer.stop()
    }

    func customer(chain: String, wallet: String) async throws -> String {
        let customer = try await client.post("/v1/customers", [
            "email": "payer@example.com", "metadata": ["settle_chain": .string(chain), "settle_token": "usdc", "settle_wallet": .string(wallet)],
        ], idempotencyKey: "cus-\(UUID())")
        return try #require(customer["id"]?.stringValue)
    }

    /// A finalized (open) `send_invoice` invoice of `cents` USD due at `dueDate`.
    func openInvoice(customer: String, cents: UInt64, dueDate: UInt64) async throws -> String {
        _ = try await client.post("/v1/invoiceitems", ["customer": .string(customer), "amount": .number(String(cents)), "currency": "usd",
                                                       "description": "Pro plan"], idempotencyKey: "ii-\(UUID())")
        let invoice = try await client.post("/v1/invoices", [
            "customer": .string(customer), "collection_method": "send_invoice", "auto_advance": false, "due_date": .number(String(dueDate)),
        ], idempotencyKey: "in-\(UUID())")
        let id = try #require(invoice["id"]?.stringValue)
        _ = try await client.post("/v1/invoices/\(id)/finalize", idempotencyKey: "fin-\(id)")
        return id
    }

    func invoice(_ id: String) async throws -> JSON { try await client.get("/v1/invoices/\(id)") }

    /// Paths of the POSTs Stripe executed (answered 2xx; not idempotent replays, not injected failures).
    func executedPosts() async throws -> [String] {
        let response = try await http.execute(Transport.HTTPRequest(url: peer.url("/_settle/requests")))
        let requests = try JSON(parsing: response.body)["data"]?.arrayValue ?? []
        return requests.filter {
            $0["replayed"]?.boolValue != true && (200..<300).contains($0["status"]?.int64Value ?? 0)
        }.compactMap { $0["path"]?.stringValue }
    }
}

/// One `settled serve` configuration (a chain, Stripe, a database, a log) and its runs.
struct ServeRig: Sendable {
    let chain: any ServedChain
    let stripe: StripeSide
    let config: URL
    let database: String
    let log: URL
    let port: Int
    let environment: [String: String]
    /// Read only to know when to stop waiting and to report (every assertion reads the chain and Stripe).
    let ledger: Ledger
    let db: Database

    init(chain: some ServedChain, stripe: StripeSide) throws {
        let directory = try temporaryDirectory("settle-crash-\(chain.family)")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        try chain.chainFile.write(to: chains.appendingPathComponent("\(chain.name).toml"), atomically: true, encoding: .utf8)
        port = try freePort()
        database = directory.appendingPathComponent("settle.sqlite").path
        config = directory.appendingPathComponent("settle.toml")
        try """
            database = "\(database)"
            chains_directory = "\(chains.path)"
            chains = ["\(chain.name)"]
            [stripe]
            base_url = "\(stripe.peer.url(""))"
            poll_seconds = 2
            warn_ahead = 0
            [server]
            listen = "127.0.0.1:\(port)"
            shutdown_seconds = 30
            [log]
            format = "json"
            """.write(to: config, atomically: true, encoding: .utf8)
        log = directory.appendingPathComponent("serve.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        // The daemon's environment: this process's without SETTLE_* (those override settle.toml or arm crash points),
        // plus the secrets.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SETTLE_") }
        environment["SETTLE_STRIPE_API_KEY"] = "sk_test_crash"
        environment["SETTLE_STRIPE_WEBHOOK_SECRET"] = "whsec_crash"
        environment.merge(chain.environment) { _, new in new }
        self.environment = environment
        db = try Database(path: database)
        ledger = Ledger(database: db)
        self.chain = chain
        self.stripe = stripe
    }

    /// How one run ended.
    struct Run {
        /// Killed itself at the armed point (exit by SIGKILL and the log gained the point's line).
        var crashed = false
        /// Every one of the invoices was `reported` when the run ended.
        var allReported = false
        /// Neither died nor finished within the timeout.
        var stuck = false
        /// Exit status after SIGTERM, when it was stopped that way.
        var status: Int32?
        /// Anything else: how it ended and the last lines it wrote.
        var surprise: String?
    }

    /// Starts `settled serve` (with `crashAt` armed after `skip` passes, when given) and waits until it dies by itself
    /// or every invoice in `invoices` is reported (then SIGTERM, after `/healthz` answers: signal handlers are
    /// installed by then).
    func run(crashAt point: CrashPoint?, skip: Int, until invoices: [String], timeout: Double) async throws -> Run {
        var environment = self.environment
        if let point {
            environment["SETTLE_CRASH_AT"] = point.rawValue
            environment["SETTLE_CRASH_SKIP"] = String(skip)
        }
        let offset = (try? FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int) ?? 0
        let serve = try ServeChild(arguments: ["serve", "--config", config.path, "--interval", "0.2"], environment: environment, log: log)
        defer { serve.kill() }
        let wanted = Set(invoices)
        var run = Run()
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while serve.isRunning {
            if let reported = try? await ledger.charges(in: [.reported]), Set(reported.map(\.invoice)).isSuperset(of: wanted) {
                run.allReported = true
                break
            }
            if ContinuousClock.now > deadline {
                run.stuck = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        if serve.isRunning {
            // Finished (or stuck): a graceful stop once the HTTP server answers.
            let health = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < health, serve.isRunning,
                  (try? await stripe.http.execute(Transport.HTTPRequest(url: "http://127.0.0.1:\(port)/healthz")))?.status == nil {
                try await Task.sleep(for: .milliseconds(100))
            }
            run.status = try await serve.terminate(within: 40)
        }
        let output = Self.text(of: log, from: offset)
        let tail = output.split(separator: "\n").suffix(8).joined(separator: "\n")
        if let point, serve.killedBySIGKILL, output.contains("settled: crash point \(point.rawValue)\n") {
            run.crashed = true  // by itself (possibly just before a SIGTERM)
        } else if let status = run.status {
            if status != 0 { run.surprise = "exit \(status) after SIGTERM:\n\(tail)" }
        } else {
            run.surprise = "ended by itself (\(serve.endDescription)):\n\(tail)"
        }
        if !run.allReported, let reported = try? await ledger.charges(in: [.reported]) {
            run.allReported = Set(reported.map(\.invoice)).isSuperset(of: wanted)
        }
        if run.stuck { run.surprise = "neither died nor reported every invoice within \(timeout) s" }
        return run
    }

    /// The last move the ledger recorded (`from→to`), for the report of where kills landed.
    func lastMove() async -> String {
        (try? await db.read { db in
            let statement = try db.statement("SELECT from_state, to_state FROM charge_events ORDER BY rowid DESC LIMIT 1")
            return try statement.step() ? "\(statement.text(0))→\(statement.text(1))" : "none"
        }) ?? "?"
    }

    /// For a failing expectation: the charges of `invoices` as Settle sees them, with attempts, and the log's end.
    func diagnose(_ invoices: [String]) async throws -> String {
        var lines: [String] = []
        for invoice in invoices {
            guard let charge = try await ledger.charge(invoice: invoice) else {
                lines.append("\(invoice): no charge")
                continue
            }
            lines.append("\(invoice): \(charge.state.rawValue) (\(charge.reason ?? "-"))")
            for attempt in try await ledger.attempts(charge: charge.id) {
                lines.append("  attempt \(attempt.sequence) \(attempt.transactionID) nonce \(attempt.nonce.map(String.init) ?? "-"): \(attempt.outcome)")
            }
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        lines.append("serve log, last lines:")
        lines += text.split(separator: "\n").suffix(25).map(String.init)
        return lines.joined(separator: "\n")
    }

    static func text(of file: URL, from offset: Int) -> String {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(offset))
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }
}

/// A `settled` child process with its own environment, standard output and error appended to a log file. Stopped
/// with SIGTERM (polled, never `waitUntilExit` after SIGTERM: see PITFALLS) or SIGKILL.
final class ServeChild: @unchecked Sendable {
    // @unchecked Sendable: `process` is set in init and only read afterwards.
    let process: SpawnedProcess

    init(arguments: [String], environment: [String: String], log: URL) throws {
        process = try SpawnedProcess(executable: try SettledBinary.require(), arguments: arguments, environment: environment, log: log.path)
    }

    var isRunning: Bool { process.isRunning }

    var killedBySIGKILL: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL }

    var endDescription: String {
        process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
    }

    /// SIGTERM, then up to `seconds` for the exit: its status (a signal as its negative).
    func terminate(within seconds: Double) async throws -> Int32 {
        let started = ContinuousClock.now
        Glibc.kill(process.processIdentifier, SIGTERM)
        while process.isRunning {
            if ContinuousClock.now - started > .milliseconds(Int64(seconds * 1000)) {
                kill()
                throw PeerError("settled did not exit within \(seconds) s of SIGTERM")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
