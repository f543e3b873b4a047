import SettleCore

/// Sizes and writes of the fields transactions share.
extension RLPWriter {
    /// Length of an optional recipient: the empty string for contract creation, else a 20-byte string.
    @inline(__always)
    static func addressLength(_ address: EVMAddress?) -> Int {
        address == nil ? 1 : 21
    }

    /// Length of a byte string held in an array.
    @inline(__always)
    static func stringLength(_ bytes: [UInt8]) -> Int {
        stringLength(count: bytes.count, first: bytes.first)
    }

    /// Payload length of an access list (the list's own header excluded).
    static func accessListPayloadLength(_ list: [AccessListEntry]) -> Int {
        var total = 0
        for entry in list {
            let keys = 33 * entry.storageKeys.count
            let inner = 21 + headerLength(payload: keys) + keys
            total += headerLength(payload: inner) + inner
        }
        return total
    }

    /// Length of an access list with its header.
    static func accessListLength(_ list: [AccessListEntry]) -> Int {
        let payload = accessListPayloadLength(list)
        return headerLength(payload: payload) + payload
    }

    @inline(__always)
    mutating func address(_ address: EVMAddress?) {
        guard let address else {
            byte(0x80)
            return
        }
        byte(0x80 + 20)
        address.withUnsafeBytes { raw($0) }
    }

    @inline(__always)
    mutating func string(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { string($0) }
    }

    mutating func accessList(_ list: [AccessListEntry]) {
        listHeader(payload: Self.accessListPayloadLength(list))
        for entry in list {
            let keys = 33 * entry.storageKeys.count
            listHeader(payload: 21 + Self.headerLength(payload: keys) + keys)
            address(entry.address)
            listHeader(payload: keys)
            for key in entry.storageKeys {
                byte(0x80 + 32)
                key.bytes32.withUnsafeBytes { raw($0) }
            }
        }
    }
}

extension UInt256 {
    /// Reads 32 big-endian bytes without the generic path (hot path of signature encoding).
    @inline(__always)
    init(bytes32: Bytes32) {
        self = bytes32.withUnsafeBytes { raw in
            let w0 = UInt128(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
            let w1 = UInt128(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            let w2 = UInt128(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            let w3 = UInt128(UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            return UInt256(high: w0 << 64 | w1, low: w2 << 64 | w3)
        }
    }

    /// The 32 big-endian bytes as a `Bytes32`.
    var bytes32: Bytes32 {
        var out = Bytes32.zero
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(truncatingIfNeeded: high >> 64).bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: UInt64(truncatingIfNeeded: high).bigEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: UInt64(truncatingIfNeeded: low >> 64).bigEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: UInt64(truncatingIfNeeded: low).bigEndian, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }
}
