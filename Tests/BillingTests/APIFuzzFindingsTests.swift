import API
import EVM
import Foundation
import SettleCore
import TestSupport
import Testing
import Transport

/// What schemathesis (Tests/Peers/api_fuzz.py) and probing around it found in the HTTP API, each pinned by a test
/// through a real client: input the server must refuse with a 4xx naming it, or accept as HTTP says it means.
@Suite("HTTP API: fuzzer findings")
struct APIFuzzFindingsTests {
    @Test("a wallet that is not ready with nothing short (a paused token) answers as docs/openapi.yaml says")
    func readinessNotReadyNothingShort() async throws {
        let api = try await APIFixture.withToken("pausable_blocklist")
        defer { api.stop() }
        let world = api.world
        _ = try await world.devnet.rpc.call("settle_pause", [.string(world.token.checksummed)])
        let paused = try await api.call(.get, "/v1/chains/devnet/wallets/\(world.payer.address.checksummed)/readiness?token=USDC&amount=10000000",
                                        template: "/v1/chains/{chain}/wallets/{wallet}/readiness")
        #expect(paused.json["ready"]?.boolValue == false && paused.json["short"]?.arrayValue == [], "\(paused.text)")
        let check = try api.documentCheck(coverage: false)
        #expect(check.passed, "\(check.output)")
    }
}
