import SettleCore
import Solana
import Transport

/// The `result`s of the Solana JSON-RPC calls `SolanaNode` makes, decoded strictly: every failure is a
/// `malformedResponse` naming the method and field, never a trap (each decoder has a fuzz test).
extension SolanaJSON {
    /// `getLatestBlockhash`: the blockhash and the last block height at which a transaction using it can land.
    static func latestBlockhash(_ result: JSON) throws(RPCError) -> (blockhash: Blockhash, lastValidBlockHeight: UInt64) {
        let value = try value(result, "getLatestBlockhash")
        return (try blockhash(value["blockhash"], "blockhash"), try height(value["lastValidBlockHeight"], "lastValidBlockHeight"))
    }

    /// `getMultipleAccounts` for `count` keys: one entry per key, nil where the account does not exist.
    static func accounts(_ result: JSON, count: Int) throws(RPCError) -> [SolanaAccount?] {
        guard let items = try value(result, "getMultipleAccounts").arrayValue, items.count == count else {
            throw malformed("getMultipleAccounts: value is not an array of \(count) entries")
        }
        var out: [SolanaAccount?] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(item.isNull ? nil : try account(item)) }
        return out
    }

    /// `getAccountInfo`: nil when the account does not exist.
    static func optionalAccount(_ result: JSON) throws(RPCError) -> SolanaAccount? {
        let value = try value(result, "getAccountInfo")
        return value.isNull ? nil : try account(value)
    }

    /// `getTokenAccountsByOwner` / `getTokenAccountsByDelegate` (named by `method`).
    static func tokenAccounts(_ result: JSON, method: String) throws(RPCError) -> [(address: SolanaPublicKey, account: SolanaAccount)] {
        guard let items = try value(result, method).arrayValue else { throw malformed("\(method): value is not an array") }
        var out: [(address: SolanaPublicKey, account: SolanaAccount)] = []
        out.reserveCapacity(items.count)
        for item in items {
            out.append((try publicKey(item["pubkey"], "\(method).pubkey"), try account(item["account"] ?? .null)))
        }
        return out
    }

    /// `getSignaturesForAddress`, newest first as the node lists them.
    static func signatures(_ result: JSON) throws(RPCError) -> [SignatureInfo] {
        guard let items = result.arrayValue else { throw malformed("getSignaturesForAddress: result is not an array") }
        var out: [SignatureInfo] = []
        out.reserveCapacity(items.count)
        for item in items {
            out.append(SignatureInfo(
                signature: try signature(item["signature"], "signature"),
                slot: try height(item["slot"], "slot"),
                failed: !(item["err"]?.isNull ?? true),
                blockTime: try blockTime(item["blockTime"], "blockTime"),
                confirmationStatus: item["confirmationStatus"]?.stringValue.flatMap(Commitment.init(rawValue:))))
        }
        return out
    }

    /// `getSignatureStatuses` for `count` signatures: per signature nil when unknown, else its slot, failure and
    /// confirmation status.
    static func statuses(_ result: JSON, count: Int) throws(RPCError) -> [(slot: UInt64, failed: Bool, status: Commitment?)?] {
        guard let items = try value(result, "getSignatureStatuses").arrayValue, items.count == count else {
            throw malformed("getSignatureStatuses: value has the wrong length")
        }
        var out: [(slot: UInt64, failed: Bool, status: Commitment?)?] = []
        out.reserveCapacity(items.count)
        for item in items {
            if item.isNull { out.append(nil); continue }
            out.append((try height(item["slot"], "slot"), !(item["err"]?.isNull ?? true),
                        item["confirmationStatus"]?.stringValue.flatMap(Commitment.init(rawValue:))))
        }
        return out
    }

    /// `simulateTransaction`: whether it would fail, its logs and the compute units it used.
    static func simulation(_ result: JSON) throws(RPCError) -> (failed: Bool, logs: [String], unitsConsumed: UInt64?) {
        let value = try value(result, "simulateTransaction")
        return (!(value["err"]?.isNull ?? true), (value["logs"]?.arrayValue ?? []).compactMap(\.stringValue), value["unitsConsumed"]?.uint64Value)
    }
}
