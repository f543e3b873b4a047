import EVMIndexer
import SettleCore
import Transport

/// EIP-1559 fee suggestions, for our own transfers and for the approvals customers sign.
public enum EVMFees {
    /// The gas limit to send with: the node's estimate plus a 20% margin (saturating: a node's number never traps).
    public static func gasLimit(estimate: UInt64) -> UInt64 {
        let (sum, overflow) = estimate.addingReportingOverflow(estimate / 5)
        return overflow ? .max : sum
    }

    /// More gas than any ERC-20 `transferFrom` or `approve` needs on any chain Settle runs on; a node estimating
    /// beyond it is not believed (nothing is signed with such a limit).
    public static let credibleEstimate: UInt64 = 30_000_000

    /// Fees from `eth_feeHistory` over the last 10 blocks: the priority fee is the median of the blocks'
    /// 50th-percentile tips (at least 1 gwei / 1000 so a quiet chain still pays something), the max fee twice the
    /// next block's base fee plus that tip; both capped at `cap`.
    public static func suggest(node: EVMNode, cap: UInt256) async throws -> (priority: UInt256, maxFee: UInt256) {
        try suggest(history: try await node.rpc.call("eth_feeHistory", [.string("0xa"), "latest", [50]]), cap: cap)
    }

    /// `suggest` from an `eth_feeHistory` result; a fee that is not a 256-bit hex quantity, or a base fee too large to
    /// double, is `malformedResponse` (nothing is signed with it; never a trap).
    public static func suggest(history: JSON, cap: UInt256) throws(RPCError) -> (priority: UInt256, maxFee: UInt256) {
        guard let baseFees = history["baseFeePerGas"]?.arrayValue, let next = baseFees.last?.stringValue else {
            throw RPCError.malformedResponse("eth_feeHistory without baseFeePerGas")
        }
        let baseFee: UInt256
        do { baseFee = try UInt256(hex: next) } catch { throw .malformedResponse("eth_feeHistory baseFeePerGas: \(error.message)") }
        var tips: [UInt256] = []
        for block in history["reward"]?.arrayValue ?? [] {
            guard let text = block.arrayValue?.first?.stringValue else { continue }
            do { tips.append(try UInt256(hex: text)) } catch { throw .malformedResponse("eth_feeHistory reward: \(error.message)") }
        }
        tips.sort()
        let floor = UInt256(UInt64(1_000_000))
        let priority = min(max(tips.isEmpty ? floor : tips[tips.count / 2], floor), cap)
        guard let doubled = try? baseFee.checkedMultiplying(by: 2), let wanted = try? doubled.checkedAdding(priority) else {
            throw .malformedResponse("eth_feeHistory base fee \(baseFee) is too large to pay")
        }
        return (priority, min(wanted, cap))
    }
}
