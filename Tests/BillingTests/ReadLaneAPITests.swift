import API
import Dispatch
import Foundation
import Logging
import Prometheus
import Settlement
import Store
import TestSupport
import Testing
import Transport

@Suite("HTTP API: reads in their own lane")
struct ReadLaneAPITests {
    /// Polls `condition` every few milliseconds for up to 20 s.
    func eventually(_ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test("while slow reads hold the API lane, API requests (healthz too) queue in it and the daemon's reads do not; released, they answer")
    func requestsReadInTheAPILane() async throws {
        let database = try Database(path: try temporaryDirectory("settle-lane-api").appendingPathComponent("db.sqlite").path,
                                    readers: 1, apiReaders: 1, durability: .normal)
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let outbox = Outbox(database: database)
        try await outbox.migrate()
        var logger = Logger(label: "api")
        logger.logLevel = .critical
        let api = SettleAPI(ledger: ledger, outbox: outbox, chains: [], tokens: BearerTokens([("billing", "read-token", .read)]),
                            health: HealthRegistry(chains: []), allowancePayments: [:], retrier: nil, metrics: PrometheusCollectorRegistry(),
                            logger: logger)
        let server = try await TestServer.start(logger: logger) { router in api.add(to: router) }
        defer { server.stop() }
        let http = HTTPClient()
        defer { http.shutdown() }

        let gate = DispatchSemaphore(value: 0)
        async let held: Void = database.read(lane: .api) { _ in gate.wait() }  // a slow API read holds the lane's one connection
        #expect(try await eventually { database.readerStatus(.api).busy == 1 })
        async let charges = http.execute(Transport.HTTPRequest(url: server.url("/v1/charges"), headers: [("Authorization", "Bearer read-token")]))
        async let health = http.execute(Transport.HTTPRequest(url: server.url("/healthz")))
        #expect(try await eventually { database.readerStatus(.api).waiting == 2 }, "\(database.readerStatus(.api))")
        // The executor's reads (the default lane) run meanwhile.
        #expect(try await ledger.charges(in: [.due]).isEmpty)
        #expect(try await ledger.chargeCounts()[.due] == 0)
        #expect(database.readerStatus(.api).waiting == 2)
        #expect(database.readerStatus(.internal).waiting == 0)
        gate.signal()
        try await held
        #expect(try await charges.status == 200)
        #expect(try await health.status == 200)
        #expect(database.readerStatus(.api) == ReaderLaneStatus(capacity: 1, busy: 0, waiting: 0, opened: 1))
    }
}
