import EVM
import SettleCore
import Store

/// Values as both index stores keep them, checked on the way in and out: a stored value that is not what the
/// schema promises is `StoreError(.corruptValue)`, never a trap.
enum StoredEVMValue {
    static func hash(_ bytes: [UInt8]) throws(StoreError) -> Hash32 {
        do { return try Hash32(bytes: bytes) } catch { throw StoreError(.corruptValue, "stored hash is \(bytes.count) bytes") }
    }

    static func address(_ bytes: [UInt8]) throws(StoreError) -> EVMAddress {
        do { return try EVMAddress(bytes: bytes) } catch { throw StoreError(.corruptValue, "stored address is \(bytes.count) bytes") }
    }

    /// A stored hash read where SQLite holds it.
    static func hash(_ bytes: UnsafeRawBufferPointer) throws(StoreError) -> Hash32 {
        guard bytes.count == 32 else { throw StoreError(.corruptValue, "stored hash is \(bytes.count) bytes") }
        return Hash32(Bytes32(loading: bytes, at: 0))
    }

    /// A stored amount read where SQLite holds it.
    static func amount(_ bytes: UnsafeRawBufferPointer) throws(StoreError) -> UInt256 {
        guard bytes.count == 32 else { throw StoreError(.corruptValue, "stored amount is \(bytes.count) bytes") }
        return UInt256(loadingBigEndian: bytes)
    }

    static func amount(_ bytes: [UInt8]) throws(StoreError) -> UInt256 {
        guard bytes.count == 32 else { throw StoreError(.corruptValue, "stored amount is \(bytes.count) bytes") }
        do { return try UInt256(bigEndian: bytes) } catch { throw StoreError(.corruptValue, "stored amount is not 32 bytes") }
    }

    /// A stored signed integer that must be a block number, time or count (not negative).
    static func unsigned(_ value: Int64, _ column: String) throws(StoreError) -> UInt64 {
        guard let unsigned = UInt64(exactly: value) else { throw StoreError(.corruptValue, "stored \(column) is negative (\(value))") }
        return unsigned
    }

    /// `value + 1` to store in a signed 64-bit column (the block after `value`).
    static func signedNext(_ value: UInt64, _ column: String) throws(StoreError) -> Int64 {
        guard value < UInt64(Int64.max) else { throw StoreError(.corruptValue, "\(column) after \(value) does not fit a signed 64-bit column") }
        return Int64(value) + 1
    }

    /// A number to store in a signed 64-bit column.
    static func signed(_ value: UInt64, _ column: String) throws(StoreError) -> Int64 {
        guard let signed = Int64(exactly: value) else { throw StoreError(.corruptValue, "\(column) \(value) does not fit a signed 64-bit column") }
        return signed
    }
}
