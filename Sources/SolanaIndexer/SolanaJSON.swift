import Foundation
import SettleCore
import Solana
import Transport

/// Strict decoding of the JSON shapes Solana nodes return; every failure names the field.
enum SolanaJSON {
    static func malformed(_ what: String) -> RPCError { .malformedResponse(what) }

    /// The `value` of an `{context, value}` response.
    static func value(_ json: JSON, _ method: String) throws(RPCError) -> JSON {
        guard case .object = json, let value = json["value"] else { throw malformed("\(method): no context/value") }
        return value
    }

    static func unsigned(_ json: JSON?, _ field: String) throws(RPCError) -> UInt64 {
        guard let value = json?.uint64Value else { throw malformed("\(field) is not an unsigned 64-bit integer") }
        return value
    }

    /// A slot, block height or block time: a number Settle stores and computes with, at most `NodeNumbers.maximum`
    /// (past it: malformed, never a trap further on).
    static func height(_ json: JSON?, _ field: String) throws(RPCError) -> UInt64 {
        try NodeNumbers.checked(try unsigned(json, field), field)
    }

    /// A `blockTime`: absent or null when the node does not know it, else a `height`.
    static func blockTime(_ json: JSON?, _ field: String) throws(RPCError) -> UInt64? {
        guard let json, !json.isNull else { return nil }
        return try height(json, field)
    }

    static func publicKey(_ json: JSON?, _ field: String) throws(RPCError) -> SolanaPublicKey {
        guard let text = json?.stringValue else { throw malformed("\(field) is not a base58 public key") }
        do { return try SolanaPublicKey(base58: text) } catch { throw malformed("\(field): \(error.message)") }
    }

    static func signature(_ json: JSON?, _ field: String) throws(RPCError) -> SolanaSignature {
        guard let text = json?.stringValue else { throw malformed("\(field) is not a base58 signature") }
        do { return try SolanaSignature(base58: text) } catch { throw malformed("\(field): \(error.message)") }
    }

    static func blockhash(_ json: JSON?, _ field: String) throws(RPCError) -> Blockhash {
        guard let text = json?.stringValue else { throw malformed("\(field) is not a base58 hash") }
        do { return try Blockhash(base58: text) } catch { throw malformed("\(field): \(error.message)") }
    }

    static func base64(_ json: JSON?, _ field: String) throws(RPCError) -> [UInt8] {
        guard let pair = json?.arrayValue, pair.count == 2, pair[1].stringValue == "base64", let text = pair[0].stringValue,
              let data = Data(base64Encoded: text)
        else { throw malformed("\(field) is not [base64, \"base64\"]") }
        return Array(data)
    }

    static func account(_ json: JSON) throws(RPCError) -> SolanaAccount {
        guard case .object = json else { throw malformed("account is not an object") }
        return SolanaAccount(
            lamports: try unsigned(json["lamports"], "account.lamports"),
            owner: try publicKey(json["owner"], "account.owner"),
            data: try base64(json["data"], "account.data"),
            executable: json["executable"]?.boolValue ?? false)
    }

    /// An account or instruction index: a node's number past what an index can be is malformed, never a trap.
    static func index(_ json: JSON?, _ field: String) throws(RPCError) -> Int {
        let value = try unsigned(json, field)
        guard value <= UInt64(UInt16.max), let index = Int(exactly: value) else { throw malformed("\(field) \(value) is not an account index") }
        return index
    }

    static func tokenBalances(_ json: JSON?, _ field: String) throws(RPCError) -> [TokenBalanceEntry] {
        guard let json, !json.isNull else { return [] }
        guard let items = json.arrayValue else { throw malformed("\(field) is not an array") }
        var out: [TokenBalanceEntry] = []
        for item in items {
            guard let amountText = item["uiTokenAmount"]?["amount"]?.stringValue, let amount = UInt64(amountText),
                  let decimals = item["uiTokenAmount"]?["decimals"]?.uint64Value, decimals <= 255
            else { throw malformed("\(field).uiTokenAmount is not an exact amount with decimals") }
            out.append(TokenBalanceEntry(
                accountIndex: try index(item["accountIndex"], "\(field).accountIndex"),
                mint: try publicKey(item["mint"], "\(field).mint"),
                owner: item["owner"] == nil ? nil : try publicKey(item["owner"], "\(field).owner"),
                programID: item["programId"] == nil ? nil : try publicKey(item["programId"], "\(field).programId"),
                amount: amount, decimals: UInt8(decimals)))
        }
        return out
    }

    static func transaction(_ json: JSON, signature: SolanaSignature) throws(RPCError) -> FetchedSolanaTransaction {
        guard case .object = json, let meta = json["meta"], case .object = meta else {
            throw malformed("getTransaction: no meta")
        }
        let wire = try base64(json["transaction"], "transaction")
        let decoded: SolanaTransaction
        do { decoded = try SolanaTransaction(wireBytes: wire) } catch { throw malformed("transaction bytes: \(error.message)") }
        guard decoded.signatures.first == signature else { throw malformed("getTransaction answered another transaction") }
        var keys = decoded.message.staticAccountKeys
        if let loaded = meta["loadedAddresses"], !loaded.isNull {
            for group in ["writable", "readonly"] {
                for item in loaded[group]?.arrayValue ?? [] { keys.append(try publicKey(item, "loadedAddresses.\(group)")) }
            }
        }
        func key(_ index: Int, _ what: String) throws(RPCError) -> SolanaPublicKey {
            guard index >= 0, index < keys.count else { throw malformed("\(what) refers to account \(index) of \(keys.count)") }
            return keys[index]
        }
        var inner: [Int: [JSON]] = [:]
        for group in meta["innerInstructions"]?.arrayValue ?? [] {
            let index = try index(group["index"], "innerInstructions.index")
            inner[index, default: []] += group["instructions"]?.arrayValue ?? []
        }
        var instructions: [ResolvedInstruction] = []
        for (outer, compiled) in decoded.message.instructions.enumerated() {
            var accounts: [SolanaPublicKey] = []
            for index in compiled.accounts { accounts.append(try key(Int(index), "instruction \(outer)")) }
            instructions.append(ResolvedInstruction(programID: try key(Int(compiled.programIDIndex), "instruction \(outer)"),
                                                    accounts: accounts, data: compiled.data, outerIndex: outer, innerIndex: nil))
            for (position, item) in (inner[outer] ?? []).enumerated() {
                var innerAccounts: [SolanaPublicKey] = []
                for index in item["accounts"]?.arrayValue ?? [] {
                    innerAccounts.append(try key(try Self.index(index, "inner.accounts[]"), "inner instruction"))
                }
                guard let dataText = item["data"]?.stringValue else { throw malformed("inner instruction data is not base58") }
                let data: [UInt8]
                do { data = try Base58.decode(dataText) } catch { throw malformed("inner instruction data: \(error.message)") }
                instructions.append(ResolvedInstruction(
                    programID: try key(try Self.index(item["programIdIndex"], "inner.programIdIndex"), "inner instruction"),
                    accounts: innerAccounts, data: data, outerIndex: outer, innerIndex: position))
            }
        }
        return FetchedSolanaTransaction(
            signature: signature, slot: try height(json["slot"], "slot"),
            blockTime: try blockTime(json["blockTime"], "blockTime"),
            failed: !(meta["err"]?.isNull ?? true), accountKeys: keys, instructions: instructions,
            preTokenBalances: try tokenBalances(meta["preTokenBalances"], "preTokenBalances"),
            postTokenBalances: try tokenBalances(meta["postTokenBalances"], "postTokenBalances"),
            fee: try unsigned(meta["fee"], "meta.fee"))
    }
}

/// Public access to the `getTransaction` decoder, for benchmarks and tools that hold a response already.
public enum SolanaNodeDecoding {
    /// Decodes a `getTransaction` result (base64 encoding).
    public static func transaction(_ result: JSON, signature: SolanaSignature) throws(RPCError) -> FetchedSolanaTransaction {
        try SolanaJSON.transaction(result, signature: signature)
    }
}
