import EVM
import Foundation
import PostgresNIO
import SettleCore
import Store
import Synchronization
import TestSupport
import Testing
import Transport

#if canImport(Glibc)
import Glibc
#endif

/// Several `settled serve` processes, the binary, on one PostgreSQL database with the py-evm devnet and localstripe
/// (issue 15, item 5). Invoices come due while daemons are killed (SIGKILL, then restarted) and the one signing is
/// paused (SIGSTOP past its lease, then SIGCONT). The verdict comes from the chain and from Stripe, not from Settle's
/// tables: one transfer of the exact amount per invoice, every invoice paid once, and the spender's nonces without a
/// gap. The time from losing the signer to the next charge settled by another daemon is printed.
@Suite("settled serve: several daemons on one PostgreSQL database (the binary)", .serialized)
struct SeveralDaemonsServeTests {
    /// How much of it: the short form fits a minute beside the rest of the suite; `SETTLE_LONG_TESTS=1` is issue 15's
    /// proof at full scale (three daemons, 60 SIGKILLs, 3 SIGSTOPs, 323 invoices), which `scripts/test.sh` runs on its own
    /// after the suite.
    struct Scale: CustomStringConvertible {
        var daemons: Int
        var kills: Int
        var pauses: Int
        /// Invoices opened before each SIGKILL or SIGSTOP (in flight when it lands).
        var before: Int
        /// Invoices opened right after it: only a daemon other than the victim can settle them.
        var after: Int
        var opening: Int
        var closing: Int

        var rounds: Int { kills + pauses }
        var invoices: Int { opening + rounds * (before + after) + closing }
        var description: String { "\(daemons) daemons, \(kills) SIGKILLs, \(pauses) SIGSTOPs, \(invoices) invoices" }

        /// Which rounds pause the signer instead of killing a daemon: spread over the run.
        func pauses(at round: Int) -> Bool {
            (1...max(pauses, 1)).contains { pauses > 0 && round == $0 * rounds / (pauses + 1) }
        }
    }

    static let scale = ProcessInfo.processInfo.environment["SETTLE_LONG_TESTS"] == "1"
        ? Scale(daemons: 3, kills: 60, pauses: 3, before: 4, after: 1, opening: 4, closing: 4)
        : Scale(daemons: 3, kills: 7, pauses: 1, before: 2, after: 1, opening: 3, closing: 3)
    static let leaseSeconds = 2

    @Test("SIGKILLs and a SIGSTOP of the signer: one transfer per invoice, each paid once in Stripe, the spender's nonces without a gap")
    func killedAndPausedDaemons() async throws {
        _ = try SettledBinary.require()
        let scale = Self.scale
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SeededGenerator(seed: seed)
        print("several daemons: \(scale), seed \(seed)")
        let w = try await BillingWorld.make(balance: 1_000_000_000_000, allowance: 1_000_000_000_000, webhooks: false)
        let pool = try await PostgresServer.freshDatabase("daemons", pool: 2)
        defer { pool.close() }
        let directory = try temporaryDirectory("settle-daemons")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        func secretFile(_ name: String, _ text: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw PeerError("cannot write \(path)")
            }
            return "file:\(path)"
        }
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [w.spender.address], confirmations: 2,
                                 signerKey: try secretFile("spender.key", try await w.devnet.privateKeyHex(7)), treasury: w.treasury)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)
        let location = pool.location
        let config = directory.appendingPathComponent("settle.toml")
        try """
            chains_directory = "\(chains.path)"
            chains = ["devnet"]
            [database]
            url = "postgres://\(location.user)@\(location.host):\(location.port)/\(location.database)?sslmode=disable&pool=4"
            [stripe]
            api_key = "\(try secretFile("stripe.key", "sk_test_daemons_\(seed)"))"
            base_url = "\(w.stripePeer.url(""))"
            poll_seconds = 1
            warn_ahead = 0
            [server]
            lease_seconds = \(Self.leaseSeconds)
            shutdown_seconds = 10
            [log]
            format = "json"
            """.write(to: config, atomically: true, encoding: .utf8)

        // Blocks keep coming, as on a live chain, so transfers reach their confirmations.
        let mining = Task {
            while !Task.isCancelled {
                try? await w.devnet.mine(1)
                try? await Task.sleep(for: .milliseconds(150))
            }
        }
        defer { mining.cancel() }

        // The daemons: one settle.toml; each process sees only it, plus its own listen address.
        var daemons: [Daemon] = []
        defer { for daemon in daemons { daemon.serve.kill() } }
        var launches = 0
        func launch(_ slot: Int) throws -> Daemon {
            launches += 1
            let port = try freePort()
            let log = directory.appendingPathComponent("daemon-\(slot)-\(launches).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            var environment = TestEnvironment.withoutSettleVariables()
            environment["SETTLE_LISTEN"] = "127.0.0.1:\(port)"
            let serve = try ServeProcess(arguments: ["serve", "--config", config.path, "--interval", "0.25"], log: log, environment: environment)
            return Daemon(slot: slot, serve: serve, port: port, log: log)
        }
        func healthy(_ daemon: Daemon) async -> Bool {
            (try? await w.devnet.http.execute(Transport.HTTPRequest(url: "http://127.0.0.1:\(daemon.port)/healthz")))?.status != nil
        }
        /// Every daemon not killed on purpose is still running (a crash is a finding).
        func noneCrashed() throws {
            for daemon in daemons where !daemon.serve.process.isRunning {
                throw PeerError("daemon \(daemon.slot) (pid \(daemon.pid)) exited by itself: \(daemon.serve.process.terminationReason == .exit ? "status" : "signal") "
                    + "\(daemon.serve.process.terminationStatus)\n\(daemon.logTail())")
            }
        }
        for slot in 0..<scale.daemons { daemons.append(try launch(slot)) }
        for daemon in daemons { try await waitUntil(seconds: 180) { await healthy(daemon) } }

        var invoices: [(id: String, amount: UInt256)] = []
        var cents: UInt64 = 100  // every invoice a different amount, so each transfer names its invoice
        let dueDate = UInt64(Date().timeIntervalSince1970) - 1
        func open(_ count: Int) async throws -> Set<UInt256> {
            var amounts: Set<UInt256> = []
            for _ in 0..<count {
                let id = try await w.openInvoice(customer: try await w.customer(), cents: cents, dueDate: dueDate)
                let amount = UInt256(cents) * 10_000  // USD cents to USDC base units (6 decimals)
                invoices.append((id, amount))
                amounts.insert(amount)
                cents += 1
            }
            return amounts
        }

        // Running: the opening invoices settle before anything is killed.
        let opening = try await open(scale.opening)
        try await waitUntil(seconds: 240) { try await Self.transfers(w).contains { opening.contains($0.amount) } }

        var failovers: [Failover] = []
        var kills = 0, pauses = 0
        var pausedInTransaction: Set<Int32> = []
        for round in 0..<scale.rounds {
            try noneCrashed()
            let pause = scale.pauses(at: round)
            _ = try await open(scale.before)
            try await Task.sleep(for: .milliseconds(Int64(rng.next() % 2_500)))  // somewhere in their settlement
            // The signer now: a running daemon of ours whose lease is live.
            var signer: Lease?
            try await waitUntil(seconds: 240) {
                signer = try await Self.settleLease(pool)
                guard let lease = signer, lease.expiresAt > Self.unixMilliseconds() else { return false }
                return daemons.contains { $0.pid == lease.pid && $0.serve.process.isRunning }
            }
            let lease = try #require(signer)
            let signerIndex = try #require(daemons.firstIndex { $0.pid == lease.pid })
            // Half the kills (and every pause) hit the signer; the others a daemon at random (the signer, a standby, one starting).
            let victimIndex = pause || round % 2 == 0 ? signerIndex : Int(rng.next() % UInt64(daemons.count))
            let victim = daemons[victimIndex]
            let hitSigner = victimIndex == signerIndex
            let startBlock = try await w.devnet.blockNumber()
            var started = ContinuousClock.now
            var caught: [String] = []  // the paused daemon's locks, when the pause caught it inside a transaction
            if pause {
                // The worst moment: inside one of its transactions, holding a lease row (every lease change and every fenced
                // write locks one). Watch its sessions until one is idle in such a transaction, and stop it there.
                let ports = Self.databasePorts(pid: victim.pid, server: location.port)
                var attempts = 0
                let deadline = ContinuousClock.now + .seconds(90)
                while caught.isEmpty, ContinuousClock.now < deadline {
                    guard try await !Self.leaseTransactions(pool, ports: ports).isEmpty else { continue }
                    Glibc.kill(victim.pid, SIGSTOP)
                    started = ContinuousClock.now
                    attempts += 1
                    try await Task.sleep(for: .milliseconds(30))
                    if try await !Self.leaseTransactions(pool, ports: ports).isEmpty {
                        caught = try await Self.locks(pool, ports: ports)
                    } else {
                        Glibc.kill(victim.pid, SIGCONT)
                    }
                }
                pauses += 1
                print("  SIGSTOP of daemon \(victim.slot) (pid \(victim.pid)) inside a transaction after \(attempts) tries; it holds \(caught)")
                try #require(!caught.isEmpty, "the pause never caught daemon \(victim.slot) inside a transaction holding a lease row (\(attempts) tries)")
                pausedInTransaction.insert(victim.pid)
            } else {
                victim.serve.kill()
                kills += 1
                daemons[victimIndex] = try launch(victim.slot)
            }
            let after = try await open(scale.after)
            // Every lease the victim held passes to another daemon, which settles a charge the victim never saw.
            var leasesMoved: Duration?, settled: Duration?
            do {
                try await waitUntil(seconds: Double(Self.leaseSeconds) + 240) {
                    if leasesMoved == nil, try await Self.leases(pool).allSatisfy({ $0.pid != victim.pid }) {
                        leasesMoved = ContinuousClock.now - started
                    }
                    if settled == nil, try await Self.transfers(w, from: startBlock).contains(where: { after.contains($0.amount) }) {
                        settled = ContinuousClock.now - started
                    }
                    // A pause lasts past the lease, and until another daemon settled a new charge.
                    return settled != nil && leasesMoved != nil && (!pause || ContinuousClock.now - started > .seconds(Self.leaseSeconds + 1))
                }
            } catch {
                let now = (try? await Self.leases(pool)) ?? [], waits = (try? await Self.lockWaits(pool)) ?? []
                Issue.record("""
                    round \(round) (\(pause ? "SIGSTOP" : "SIGKILL") of daemon \(victim.slot), pid \(victim.pid), signer: \(hitSigner)): no failover \
                    (leases moved: \(leasesMoved != nil), new charge settled: \(settled != nil)); settle lease before: \(lease); leases now: \(now); \
                    sessions waiting on a lock or idle in a transaction: \(waits)
                    """)
                if pause { Glibc.kill(victim.pid, SIGCONT) }
                throw error
            }
            if pause {
                Glibc.kill(victim.pid, SIGCONT)
                // The paused daemon wakes with stale leases: it must neither sign nor die.
                try await Task.sleep(for: .seconds(Self.leaseSeconds + 1))
                try noneCrashed()
            }
            failovers.append(Failover(round: round, signal: pause ? "SIGSTOP" : "SIGKILL", signer: hitSigner,
                                      lease: leasesMoved.map(Self.seconds), settled: Self.seconds(try #require(settled))))
            print("  \(failovers[failovers.count - 1]) (daemon \(victim.slot), pid \(victim.pid))")
        }
        try noneCrashed()

        // Closing: more invoices, then everything settles and is reported to Stripe.
        _ = try await open(scale.closing)
        let ids = invoices.map(\.id)
        var unpaid = ids
        do {
            try await waitUntil(seconds: 300) {
                var still: [String] = []
                for id in unpaid where (try? await w.invoice(id)["status"]) != "paid" { still.append(id) }
                unpaid = still
                return unpaid.isEmpty
            }
        } catch {
            let stuck = try? await Self.settleLease(pool)
            Issue.record("unpaid after 300 s: \(unpaid); settle lease \(String(describing: stuck))")
            throw error
        }
        try noneCrashed()
        try await w.devnet.mine(5)
        try await Task.sleep(for: .seconds(Self.leaseSeconds + 2))  // a late duplicate would land by now

        print("several daemons: \(kills) SIGKILLs, \(pauses) SIGSTOPs, \(launches) launches, \(invoices.count) invoices")
        let signerFailovers = failovers.filter(\.signer).map(\.settled)
        if !signerFailovers.isEmpty {
            let sorted = signerFailovers.sorted()
            print(String(format: "  signer lost → next charge by another daemon: min %.2f s, median %.2f s, max %.2f s (%d times)",
                         sorted[0], sorted[sorted.count / 2], sorted[sorted.count - 1], sorted.count))
        }
        #expect(kills == scale.kills && pauses == scale.pauses)
        #expect(failovers.contains { $0.signer && $0.signal == "SIGKILL" } && failovers.contains { $0.signal == "SIGSTOP" })
        for failover in failovers where failover.signer {
            #expect(failover.settled < Double(Self.leaseSeconds + 120), "round \(failover.round): \(failover)")
        }

        // The chain: exactly one transfer of the exact amount per invoice, from the payer, nothing else to the treasury.
        let transfers = try await Self.transfers(w)
        #expect(transfers.map(\.amount).sorted() == invoices.map(\.amount).sorted(),
                "transfers \(transfers.map(\.amount).sorted()) vs invoices \(invoices.map(\.amount).sorted())")
        for transfer in transfers { #expect(transfer.from == w.payer.address, "\(transfer)") }
        // The spender: every transaction it ever sent is one of those transferFroms, one nonce each, none skipped.
        var nonces: [UInt64] = []
        for transfer in Set(transfers.map(\.transaction)) {
            let transaction = try await w.devnet.rpc.call("eth_getTransactionByHash", [.string(transfer)])
            #expect(try EVMAddress(hex: transaction["from"]?.stringValue ?? "") == w.spender.address, "\(transfer)")
            #expect(try EVMAddress(hex: transaction["to"]?.stringValue ?? "") == w.token, "\(transfer)")
            nonces.append(try Self.quantity(transaction["nonce"]))
        }
        #expect(Set(transfers.map(\.transaction)).count == transfers.count, "one transfer per transaction")
        let sent = try Self.quantity(try await w.devnet.rpc.call("eth_getTransactionCount", [.string(w.spender.address.checksummed), "latest"]))
        let pending = try Self.quantity(try await w.devnet.rpc.call("eth_getTransactionCount", [.string(w.spender.address.checksummed), "pending"]))
        #expect(nonces.sorted() == Array(0..<UInt64(invoices.count)), "the transfers' nonces: \(nonces.sorted())")
        #expect(sent == UInt64(invoices.count) && pending == sent, "the spender sent \(sent) (pending \(pending)) for \(invoices.count) invoices")

        // Stripe: every invoice paid, by exactly one successful /pay each.
        for id in ids { #expect(try await w.invoice(id)["status"] == "paid", "\(id)") }
        #expect(try await w.executedPosts(endingWith: "/pay") == ids.count)

        // Settle's own ledger agrees on the nonces: no nonce signed for two charges.
        let shared = try await Self.rows(pool, "SELECT nonce::text FROM attempts GROUP BY nonce HAVING count(DISTINCT charge) > 1")
        #expect(shared.isEmpty, "nonces signed for two charges: \(shared)")

        // Every daemon stops cleanly (SIGTERM), also the one paused inside a transaction: the server ended that session
        // (idle_in_transaction_session_timeout), and its transaction failed when it woke instead of hanging
        // (IdleTransactionTimeoutTests).
        for daemon in daemons {
            let stopped = try await daemon.serve.terminate(within: 60)
            #expect(stopped.status == 0, "daemon \(daemon.slot)\(pausedInTransaction.contains(daemon.pid) ? " (paused in a transaction)" : ""): exit \(stopped.status) after \(stopped.seconds) s\n\(daemon.logTail())")
        }
    }

    // MARK: - Evidence

    /// One `settled serve` process.
    struct Daemon {
        let slot: Int
        let serve: ServeProcess
        let port: Int
        let log: URL
        var pid: Int32 { serve.process.processIdentifier }

        func logTail() -> String { String(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(4_000)) }
    }

    struct Lease: CustomStringConvertible {
        let name: String
        let holder: String
        let epoch: Int64
        let expiresAt: Int64
        /// The holder is "host#pid#random".
        var pid: Int32? { holder.split(separator: "#").dropFirst().first.flatMap { Int32($0) } }
        var description: String { "\(name): \(holder) epoch \(epoch) until \(expiresAt)" }
    }

    struct Failover: CustomStringConvertible {
        let round: Int
        let signal: String
        /// Whether the victim held the "settle devnet" lease.
        let signer: Bool
        /// Seconds until every lease the victim held had passed to another daemon.
        let lease: Double?
        /// Seconds until a charge opened after the signal was settled on chain.
        let settled: Double
        var description: String {
            "round \(round): \(signal) of \(signer ? "the signer" : "a standby"): leases moved \(lease.map { String(format: "%.2f s", $0) } ?? "-"), next charge on chain \(String(format: "%.2f s", settled))"
        }
    }

    struct Transfer: CustomStringConvertible {
        let amount: UInt256
        let from: EVMAddress
        let transaction: String
        var description: String { "\(amount) from \(from) in \(transaction)" }
    }

    /// The token's Transfer logs to the treasury from `block` on, read from the node.
    static func transfers(_ w: BillingWorld, from block: UInt64 = 0) async throws -> [Transfer] {
        let result = try await w.devnet.rpc.call("eth_getLogs", [.object([
            ("fromBlock", .string("0x" + String(block, radix: 16))), ("toBlock", "latest"), ("address", .string(w.token.checksummed)),
            ("topics", [.string(ERC20.transferTopic.description), nil, .string("0x000000000000000000000000" + w.treasury.lowercaseHex)]),
        ])])
        return try (result.arrayValue ?? []).map { log in
            let from = log["topics"]?.arrayValue?.dropFirst().first?.stringValue ?? ""
            return Transfer(amount: try UInt256(hex: log["data"]?.stringValue ?? ""), from: try EVMAddress(hex: "0x" + from.suffix(40)),
                            transaction: log["transactionHash"]?.stringValue ?? "")
        }
    }

    /// Every lease row with a holder.
    static func leases(_ pool: PostgresPool) async throws -> [Lease] {
        let rows = try await pool.client.query("SELECT name, holder, epoch, expires_at FROM leases ORDER BY name", logger: pool.logger)
        var leases: [Lease] = []
        for try await (name, holder, epoch, expires) in rows.decode((String, String, Int64, Int64).self) where !holder.isEmpty {
            leases.append(Lease(name: name, holder: holder, epoch: epoch, expiresAt: expires))
        }
        return leases
    }

    static func settleLease(_ pool: PostgresPool) async throws -> Lease? {
        try await leases(pool).first { $0.name == "settle devnet" }
    }

    /// The local ports of `pid`'s TCP connections to the database server on `server` (from /proc), which name its
    /// sessions in `pg_stat_activity.client_port`.
    static func databasePorts(pid: Int32, server: Int) -> Set<Int> {
        var inodes: Set<Substring> = []
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"), target.hasPrefix("socket:[") else { continue }
            inodes.insert(Substring(target.dropFirst(8).dropLast()))
        }
        var ports: Set<Int> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = String(decoding: FileHandle(forReadingAtPath: table)?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, inodes.contains(fields[9]),
                      let local = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                      fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) == server else { continue }
                ports.insert(local)
            }
        }
        return ports
    }

    /// The sessions on `ports` that sit inside a transaction right after locking a lease row.
    static func leaseTransactions(_ pool: PostgresPool, ports: Set<Int>) async throws -> [String] {
        guard !ports.isEmpty else { return [] }
        return try await rows(pool, """
            SELECT pid::text FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE '%FROM leases WHERE name = $1 FOR UPDATE'
              AND client_port IN (\(ports.map(String.init).joined(separator: ",")))
            """)
    }

    /// The locks the sessions on `ports` hold (tables and advisory locks).
    static func locks(_ pool: PostgresPool, ports: Set<Int>) async throws -> [String] {
        guard !ports.isEmpty else { return [] }
        return try await rows(pool, """
            SELECT DISTINCT l.locktype || ' ' || coalesce(l.relation::regclass::text, l.objid::text, '') || ' ' || l.mode
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE a.client_port IN (\(ports.map(String.init).joined(separator: ","))) AND l.granted
              AND (l.locktype = 'advisory' OR (l.locktype = 'relation' AND l.relation::regclass::text NOT LIKE 'pg\\_%'))
            """)
    }

    /// Sessions waiting on a lock, and what they run (why a failover stalls).
    static func lockWaits(_ pool: PostgresPool) async throws -> [String] {
        try await rows(pool, """
            SELECT state || ': ' || left(query, 120) FROM pg_stat_activity
            WHERE datname = current_database() AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%')
            """)
    }

    /// The first column of `sql`'s rows, as text.
    static func rows(_ pool: PostgresPool, _ sql: String) async throws -> [String] {
        var texts: [String] = []
        for try await text in try await pool.client.query(PostgresQuery(unsafeSQL: sql), logger: pool.logger).decode(String?.self) {
            texts.append(text ?? "null")
        }
        return texts
    }

    static func quantity(_ json: JSON?) throws -> UInt64 {
        guard let text = json?.stringValue, text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) else {
            throw PeerError("not a quantity: \(String(describing: json))")
        }
        return value
    }

    static func unixMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    static func seconds(_ duration: Duration) -> Double { Double(duration / .milliseconds(1)) / 1_000 }
}

/// What a paused daemon meets when it wakes: the server ended its session for sitting idle in a transaction
/// (`idle_in_transaction_session_timeout`, which `settled serve` sets to the lease time so a paused daemon's locks do
/// not stop the others). Its transaction must fail, and the pool must serve the next one, rather than hang.
///
/// postgres-nio 1.33.2 never completes a statement sent on a session the server has ended (`PostgresConnection.query`
/// writes its task with `promise: nil`; on a closed channel that write fails before anything could fail the query), and
/// its `withTransaction` then hangs the same way in ROLLBACK. `PostgresPool.transaction` watches the connection instead.
@Suite("PostgreSQL: a session ended for idling in a transaction")
struct IdleTransactionTimeoutTests {
    enum Path: String, CaseIterable { case connection, session }

    @Test("the transaction fails with an error, and the next one runs", arguments: Path.allCases)
    func idleTransactionEnded(path: Path) async throws {
        let fresh = try await PostgresServer.freshDatabase("idle", pool: 2)
        fresh.close()
        let pool = PostgresPool(fresh.location, password: nil, logger: fresh.logger, idleInTransactionTimeout: .seconds(2))  // room for a starved full-suite run between BEGIN and the next statement
        defer { pool.close() }
        let outcome = Mutex<String?>(nil), steps = Mutex<[String]>([])
        let work = Task {
            do {
                switch path {
                case .connection:
                    try await pool.transaction { connection in
                        try await connection.query("SELECT 1", logger: pool.logger)
                        try await Task.sleep(for: .seconds(5))  // paused past the timeout, between two statements
                        steps.withLock { $0.append("second statement sent (connection closed: \(connection.isClosed))") }
                        try await connection.query("SELECT 2", logger: pool.logger)
                    }
                case .session:
                    _ = try await pool.write { session in
                        _ = try await session.rows("SELECT 1", [])
                        try await Task.sleep(for: .seconds(5))
                        steps.withLock { $0.append("second statement sent") }
                        return try await session.rows("SELECT 2", [])
                    }
                }
                outcome.withLock { $0 = "committed" }
            } catch {
                outcome.withLock { $0 = "failed: \(String(reflecting: error).prefix(300))" }
            }
        }
        defer { work.cancel() }
        // Five seconds of sleep, then the server's end of the session must surface: 60 s leaves room for a suite that
        // shares two cores with every peer (15 s was missed once).
        try await waitUntil(seconds: 60) { outcome.withLock { $0 } != nil }
        let result = try #require(outcome.withLock { $0 })
        #expect(result.hasPrefix("failed") && result.contains("closed"), "\(result); steps \(steps.withLock { $0 })")
        print("a transaction whose session the server ended (\(path)): \(result); steps \(steps.withLock { $0 })")
        // The pool replaces the ended connection.
        var value = 0
        for try await number in try await pool.client.query("SELECT 3", logger: pool.logger).decode(Int.self) { value = number }
        #expect(value == 3)
        let next = try await pool.write { session in try await session.row("SELECT 4", [])?.int64(0) }
        #expect(next == 4)
    }
}
