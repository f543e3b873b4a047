@testable import ChainAdapters
import SettleCore
import TestSupport
import Testing
import Transport

/// Issue 14: the fee answers the executors read before signing (`eth_feeHistory`, `getRecentPrioritizationFees`) see
/// 100,000 random and mutated answers each (seeds: the devnet's and LiteSVM's real ones). A fee suggestion is a
/// value within the cap or an `RPCError`; a priority price is within the cap; a trap fails the run.
@Suite("Fuzz: fee answers")
struct FeeResponseFuzzTests {
    static let count = 100_000

    /// The `result` of each input that parses and is a result (errors and broken envelopes are dropped here: the
    /// client's envelope steps have their own fuzz test).
    static func results(_ seeds: [JSON], seed: UInt64) -> [JSON] {
        var out: [JSON] = []
        out.reserveCapacity(count)
        for input in JSONFuzzInputs(count: count, seeds: seeds, seed: seed) {
            if let response = try? input.json(), let result = try? JSONRPCClient.result(of: response, id: 1) { out.append(result) }
        }
        return out
    }

    @Test("eth_feeHistory: fees within the cap, or malformedResponse")
    func feeHistory() throws {
        let cap = UInt256(UInt64(500_000_000_000))
        var suggested = 0
        for result in Self.results([try Fixtures.json("evm", "eth_feeHistory")], seed: 301) {
            do throws(RPCError) {
                let (priority, maxFee) = try EVMFees.suggest(history: result, cap: cap)
                #expect(priority <= cap && maxFee <= cap && priority >= UInt256(UInt64(1_000_000)) || priority == cap)
                suggested += 1
            } catch {
                guard case .malformedResponse = error else { Issue.record("\(error)"); continue }
            }
        }
        #expect(suggested > Self.count / 20)
    }

    @Test("getRecentPrioritizationFees: the median within the cap")
    func priorityFees() throws {
        var nonZero = 0
        for result in Self.results([try Fixtures.json("solana", "getRecentPrioritizationFees")], seed: 302) {
            let price = SolanaExecutor.priorityPrice(fees: result, cap: 1_000_000)
            #expect(price <= 1_000_000)
            if price > 0 { nonZero += 1 }
        }
        #expect(nonZero > 0)
    }
}
