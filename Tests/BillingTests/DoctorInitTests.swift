import Foundation
import SettleConfiguration
import TestSupport
import Testing

/// `settled init` and `settled doctor`, the binary, against localstripe and the devnet.
@Suite("settled init and doctor (the binary)", .serialized)
struct DoctorInitTests {
    @Test("init writes a starter that loads; doctor passes a working setup, prints addresses not keys, and names what to fix")
    func initAndDoctor() async throws {
        _ = try SettledBinary.require()
        let w = try await BillingWorld.make(webhooks: false)
        let directory = try temporaryDirectory("settle-doctor")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("settle.toml")

        let written = try await SettledBinary.run(["init", "--config", config.path, "--chains", "devnet"])
        #expect(written.status == 0, "\(written.output)")
        let starter = try DaemonConfig.load(path: config.path, environment: [:])
        #expect(starter.chains == ["devnet"])
        #expect(starter.apiTokens.first?.scope == .read)
        #expect(try await SettledBinary.run(["init", "--config", config.path]).status != 0)  // never overwrites by accident

        let suffix = UInt32.random(in: 0...UInt32.max)
        let key = try await w.devnet.privateKeyHex(7)
        let variables = ["SETTLE_TEST_DOCTOR_KEY_\(suffix)": key, "STRIPE_API_KEY": "sk_test_doctor", "STRIPE_WEBHOOK_SECRET": "whsec_doctor",
                         "SETTLE_API_TOKEN": "token-doctor"]
        for (name, value) in variables { TestEnvironment.set(name, value) }
        defer { for name in variables.keys { TestEnvironment.unset(name) } }
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "database = \"settle.sqlite\"", with: "database = \"\(directory.appendingPathComponent("db.sqlite").path)\"")
            .replacingOccurrences(of: "chains_directory = \"chains\"", with: "chains_directory = \"\(chains.path)\"")
            .replacingOccurrences(of: "# base_url = \"https://api.stripe.com\"", with: "base_url = \"\(w.stripePeer.url(""))\"")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let chainFile = chains.appendingPathComponent("devnet.toml")
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [], signerKey: "env:SETTLE_TEST_DOCTOR_KEY_\(suffix)", treasury: w.treasury)
            .write(to: chainFile, atomically: true, encoding: .utf8)

        let healthy = try await SettledBinary.run(["doctor", "--config", config.path])
        #expect(healthy.status == 0, "\(healthy.output)")
        #expect(healthy.output.contains("spender \(w.spender.address.checksummed)"))
        #expect(healthy.output.contains("answers chain id 1337"))
        #expect(healthy.output.contains("accepts the API key"))
        #expect(!healthy.output.contains(String(key.dropFirst(2))))

        // A node of another chain, a missing secret: both named, each with its fix.
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [], signerKey: "env:SETTLE_TEST_DOCTOR_KEY_\(suffix)", treasury: w.treasury)
            .replacingOccurrences(of: "chain_id = 1337", with: "chain_id = 8453").write(to: chainFile, atomically: true, encoding: .utf8)
        TestEnvironment.unset("SETTLE_API_TOKEN")
        let broken = try await SettledBinary.run(["doctor", "--config", config.path])
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("answers chain id 1337, but"), "\(broken.output)")
        #expect(broken.output.contains("SETTLE_API_TOKEN"), "\(broken.output)")
        #expect(broken.output.contains("fix:"))
    }
}
