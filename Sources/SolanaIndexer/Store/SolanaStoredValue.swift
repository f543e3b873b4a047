import SettleCore
import Solana
import Store

/// How the Solana index's values are stored, the same in SQLite and PostgreSQL (both have only signed 64-bit
/// integers): u64 amounts as 8-byte big-endian blobs, keys as 32 bytes, signatures as 64; slots, block times and
/// instruction indexes as signed 64-bit integers, checked both ways. Whatever comes back from a database is checked
/// before it becomes a value: a negative slot or a blob of the wrong length is `StoreError(.corruptValue)`, never a
/// trap.
enum SolanaStoredValue {
    /// The stored form of a u64 amount (8 bytes, big-endian).
    static func u64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func u64(_ bytes: [UInt8]) throws(StoreError) -> UInt64 {
        guard bytes.count == 8 else { throw StoreError(.corruptValue, "stored u64 is \(bytes.count) bytes") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func key(_ bytes: [UInt8]) throws(StoreError) -> SolanaPublicKey {
        do { return try SolanaPublicKey(bytes: bytes) } catch { throw StoreError(.corruptValue, "stored key is \(bytes.count) bytes") }
    }

    static func signature(_ bytes: [UInt8]) throws(StoreError) -> SolanaSignature {
        guard let value = try? Bytes64(bytes) else { throw StoreError(.corruptValue, "stored signature is \(bytes.count) bytes") }
        return SolanaSignature(rawValue: value)
    }

    /// A slot or block time to store; past 2^63 - 1 it cannot be (the node layer bounds them well below).
    static func stored(_ value: UInt64, _ what: String) throws(StoreError) -> Int64 {
        guard let stored = Int64(exactly: value) else { throw StoreError(.corruptValue, "\(what) \(value) is past 2^63 - 1 and cannot be stored") }
        return stored
    }

    /// A stored slot or block time: never negative.
    static func unsigned(_ value: Int64, _ what: String) throws(StoreError) -> UInt64 {
        guard let unsigned = UInt64(exactly: value) else { throw StoreError(.corruptValue, "stored \(what) is \(value), not a non-negative integer") }
        return unsigned
    }

    /// The stored inner index: -1 for an outer instruction.
    static func inner(_ index: Int?) -> Int64 { Int64(index ?? -1) }

    /// The token program whose program id is `bytes`.
    static func program(_ bytes: [UInt8]) throws(StoreError) -> TokenProgram {
        guard let program = TokenProgram(programID: try key(bytes)) else { throw StoreError(.corruptValue, "stored key is no token program") }
        return program
    }

    /// An event row as read (the columns of the stores' event queries), checked.
    struct EventRow {
        var signature: [UInt8]
        var slot: Int64
        var blockTime: Int64?
        var owner: [UInt8]?
        var kind: String
        var program: [UInt8]
        var source: [UInt8]
        var counterparty: [UInt8]?
        var authority: [UInt8]
        var mint: [UInt8]?
        var amount: [UInt8]
        var decimals: Int64?
        var outerIndex: Int64
        var innerIndex: Int64
        var status: String

        func record() throws(StoreError) -> SolanaEventRecord {
            typealias V = SolanaStoredValue
            guard let kind = TokenEvent.Kind(rawValue: kind) else { throw StoreError(.corruptValue, "event kind '\(kind)'") }
            guard let outer = Int(exactly: outerIndex), outer >= 0, let inner = Int(exactly: innerIndex), inner >= -1 else {
                throw StoreError(.corruptValue, "event instruction index \(outerIndex).\(innerIndex)")
            }
            var decimals: UInt8?
            if let stored = self.decimals {
                guard let value = UInt8(exactly: stored) else { throw StoreError(.corruptValue, "event decimals \(stored)") }
                decimals = value
            }
            var blockTime: UInt64?
            if let stored = self.blockTime { blockTime = try V.unsigned(stored, "block time") }
            let event = TokenEvent(
                kind: kind, program: try V.program(program), source: try V.key(source), counterparty: try counterparty.map(V.key),
                authority: try V.key(authority), mint: try mint.map(V.key), amount: try V.u64(amount), decimals: decimals,
                outerIndex: outer, innerIndex: inner < 0 ? nil : inner)
            return SolanaEventRecord(
                signature: try V.signature(signature), slot: try V.unsigned(slot, "slot"), blockTime: blockTime,
                owner: try owner.map(V.key), event: event, final: status == "finalized")
        }
    }
}
