import Billing
import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing

/// `settled db copy` (the real binary) from a SQLite file with rows in every ledger, notify and billing table into a
/// real PostgreSQL database: counts and checksums reported, the rows readable through the stores on PostgreSQL, ids
/// kept and continued, and refusals (a daemon holding the source, a target not empty).
@Suite("settled db copy")
struct DatabaseCopyTests {
    @Test("a SQLite database copied into PostgreSQL reads back the same; a held source or a non-empty target is refused")
    func copy() async throws {
        let path = try temporaryDirectory("settle-copy").appendingPathComponent("settle.sqlite").path
        let source = try Database(path: path)
        let ledger = Ledger(database: source)
        try await ledger.migrate()
        let outbox = Outbox(database: source)
        try await outbox.migrate()
        let billing = BillingStore(database: source)
        try await billing.migrate()
        let usd = try Currency(code: "usd")
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        var charges: [Charge] = []
        for i in 0..<1_234 {  // more than two pages of the copy
            let charge = try await ledger.createCharge(invoice: "in_\(i)", agreement: agreement.id, amount: Money(minorUnits: UInt64(100 + i), currency: usd),
                                                       tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: UInt64(i)).charge
            charges.append(charge)
        }
        try await ledger.transition(charges[0].id, from: .ingested, to: .due)
        let attempt = try #require(try await ledger.signEVMAttempt(charge: charges[0].id, chain: "base", signer: "0xs", chainPending: 0, head: 7) { _ in
            SignedPayload(transactionID: "0xtx", raw: [0, 1, 2, 255], maxFee: "10", priorityFee: "1")
        }.attempt)
        try await outbox.enqueue(eventID: "evt_1", type: .paymentSucceeded, invoice: "in_0", data: ["n": 1], now: 5)
        _ = try await billing.insert(id: "evt_s1", type: "invoice.finalized", objectID: "in_0", created: 3, payload: Array("{}".utf8), now: 4)
        try await billing.record(.chargeAutomatically, invoice: "in_7", detail: "charge_automatically", now: 6)

        let target = try await PostgresServer.freshDatabase("copy")
        defer { target.close() }
        let url = "postgres://\(target.location.user)@\(target.location.host):\(target.location.port)/\(target.location.database)?sslmode=disable"
        // A daemon holds the source: refused, nothing copied.
        do {
            let held = try DatabaseLock(databasePath: path)
            let refused = try await SettledBinary.run(["db", "copy", "--from", path, "--to", url])
            #expect(refused.status != 0 && refused.output.contains("in use"), "\(refused.output)")
            withExtendedLifetime(held) {}
        }
        let copied = try await SettledBinary.run(["db", "copy", "--from", path, "--to", url])
        #expect(copied.status == 0, "\(copied.output)")
        #expect(copied.output.contains("ok   charges") && copied.output.contains("rows 1234 → 1234"), "\(copied.output)")
        #expect(!copied.output.contains("DIFF"))
        #expect(copied.output.contains("every count and checksum matches"))

        let copiedLedger = Ledger(database: target)
        #expect(try await copiedLedger.charge(invoice: "in_1233")?.amount == Money(minorUnits: 1_333, currency: usd))
        #expect(try await copiedLedger.attempts(charge: charges[0].id) == [attempt])
        #expect(try await copiedLedger.nextNonce(chain: "base", signer: "0xs") == 1)
        #expect(try await copiedLedger.history(charges[0].id).map(\.to) == [.due, .signed])
        #expect(try await Outbox(database: target).message("evt_1")?.payload == (try await outbox.message("evt_1")?.payload))
        #expect(try await BillingStore(database: target).allEvents().map(\.id) == ["evt_s1"])
        #expect(try await BillingStore(database: target).findings().map(\.invoice) == ["in_7"])
        // Identities continue after the copied ids: a new charge gets the next id, not a used one.
        let next = try await copiedLedger.createCharge(invoice: "in_new", agreement: agreement.id, amount: Money(minorUnits: 1, currency: usd),
                                                       tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
        #expect(next.id == charges.last!.id + 1)  // swiftlint:disable:this force_unwrapping
        // `settled doctor` on a configuration that points at the copy sees every schema current.
        let config = try temporaryDirectory("settle-copy-doctor").appendingPathComponent("settle.toml")
        try "chains = []\n[database]\nurl = \"\(url)\"\n".write(to: config, atomically: true, encoding: .utf8)
        let doctor = try await SettledBinary.run(["doctor", "--config", config.path])
        #expect(doctor.output.contains("✓ database: postgres://") && doctor.output.contains("up to date"), "\(doctor.output)")
        // The other commands read the copy by URL (`--database postgres://…`).
        let listed = try await SettledBinary.run(["charge", "list", "--database", url, "--json"])
        #expect(listed.status == 0 && listed.output.contains("in_1233") && listed.output.contains("in_new"), "\(listed.output.prefix(400))")
        let badURL = try await SettledBinary.run(["charge", "list", "--database", "postgres://127.0.0.1/settle"])
        #expect(badURL.status != 0 && badURL.output.contains("--database") && badURL.output.contains("names no user"), "\(badURL.output)")
        // Into a database that is not empty: refused.
        let again = try await SettledBinary.run(["db", "copy", "--from", path, "--to", url])
        #expect(again.status != 0 && again.output.contains("already holds"), "\(again.output)")
    }
}
