import Foundation
import SettleCore
import TestSupport
import Testing

@Suite("settled charge create / list")
struct ChargeCommandTests {
    func settled(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await SettledBinary.run(arguments)
    }

    @Test("creating the same invoice twice gives one charge; the amount uses the chain file's decimals; a conflict exits non-zero")
    func createTwice() async throws {
        let database = try temporaryDirectory("settle-charge-cli").appendingPathComponent("db.sqlite").path
        let chains = Peer.packageRoot.appendingPathComponent("chains").path
        let create = ["charge", "create", "--chains-directory", chains, "--database", database, "--invoice", "in_42", "--customer", "cus_1",
                      "--chain", "base", "--token", "USDC", "--wallet", "0x1111111111111111111111111111111111111111",
                      "--amount", "1999", "--currency", "usd"]
        #expect(try await settled(create).output.hasPrefix("created"))
        #expect(try await settled(create).output.hasPrefix("exists"))
        let list = try await settled(["charge", "list", "--database", database, "--json"])
        let charges = try JSON(parsing: list.output).arrayValue ?? []
        #expect(charges.count == 1)
        #expect(charges.first?["tokenAmount"] == "19990000")
        var conflicting = create
        conflicting[conflicting.count - 3] = "2000"
        let conflict = try await settled(conflicting)
        #expect(conflict.status != 0)
        #expect(conflict.output.contains("already charged"))
        #expect(try await settled(create.map { $0 == "USDC" ? "DOGE" : $0 }).status != 0)
    }
}
