import SettleCore

/// Writes RLP into a buffer whose exact size was computed beforehand with the `…Length` functions.
///
/// This is the hot path of transaction encoding: one allocation for the whole encoding, no intermediate arrays.
/// Every write checks the remaining capacity, so a wrong size computation traps instead of corrupting memory.
struct RLPWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var position = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Encodes into a new array of exactly `count` bytes.
    static func encode(count: Int, _ body: (inout RLPWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { storage, initialized in
            var writer = RLPWriter(UnsafeMutableRawBufferPointer(storage))
            body(&writer)
            precondition(writer.position == count, "RLP size computation disagrees with the bytes written")
            initialized = count
        }
    }

    /// Encodes `count` bytes into temporary (stack when small) memory and returns their keccak-256.
    static func hashEncoding(count: Int, _ body: (inout RLPWriter) -> Void) -> Bytes32 {
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 8) { storage in
            var writer = RLPWriter(storage)
            body(&writer)
            precondition(writer.position == count, "RLP size computation disagrees with the bytes written")
            return Keccak256.hash(UnsafeRawBufferPointer(storage))
        }
    }

    // MARK: Sizes

    /// Length of a string or list header for a payload of `length` bytes.
    @inline(__always)
    static func headerLength(payload length: Int) -> Int {
        length < 56 ? 1 : 1 + byteCount(UInt64(length))
    }

    /// Length of the encoding of a byte string.
    @inline(__always)
    static func stringLength(count: Int, first: UInt8?) -> Int {
        if count == 1, let first, first < 0x80 { return 1 }
        return headerLength(payload: count) + count
    }

    /// Length of the encoding of an unsigned integer.
    @inline(__always)
    static func uintLength(_ value: UInt64) -> Int {
        value < 0x80 && value != 0 ? 1 : 1 + byteCount(value)
    }

    /// Length of the encoding of an unsigned integer.
    @inline(__always)
    static func uintLength(_ value: UInt256) -> Int {
        if let small = value.exactUInt64 { return uintLength(small) }
        return 1 + (value.bitLength + 7) / 8
    }

    @inline(__always)
    static func byteCount(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 7) / 8
    }

    // MARK: Writes

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        precondition(position < buffer.count, "RLP buffer overflow")
        buffer[position] = value
        position += 1
    }

    /// Raw bytes, no header.
    @inline(__always)
    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= buffer.count - position, "RLP buffer overflow")
        UnsafeMutableRawBufferPointer(rebasing: buffer[position..<position + bytes.count]).copyMemory(from: bytes)
        position += bytes.count
    }

    /// A big-endian integer in exactly `count` bytes.
    @inline(__always)
    mutating func bigEndian(_ value: UInt64, count: Int) {
        var shift = (count - 1) * 8
        while shift >= 0 {
            byte(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            shift -= 8
        }
    }

    /// A string (`offset` 0x80) or list (`offset` 0xc0) header for a payload of `length` bytes.
    @inline(__always)
    mutating func header(payload length: Int, offset: UInt8) {
        if length < 56 {
            byte(offset + UInt8(length))
        } else {
            let count = Self.byteCount(UInt64(length))
            byte(offset + 55 + UInt8(count))
            bigEndian(UInt64(length), count: count)
        }
    }

    /// A list header.
    @inline(__always)
    mutating func listHeader(payload length: Int) {
        header(payload: length, offset: 0xc0)
    }

    /// A byte string with its header (a single byte below 0x80 is its own encoding).
    @inline(__always)
    mutating func string(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count == 1, bytes[0] < 0x80 {
            byte(bytes[0])
        } else {
            header(payload: bytes.count, offset: 0x80)
            raw(bytes)
        }
    }

    /// An unsigned integer, minimal big-endian.
    @inline(__always)
    mutating func uint(_ value: UInt64) {
        if value != 0 && value < 0x80 {
            byte(UInt8(value))
        } else {
            let count = Self.byteCount(value)
            byte(0x80 + UInt8(count))
            bigEndian(value, count: count)
        }
    }

    /// An unsigned integer, minimal big-endian.
    @inline(__always)
    mutating func uint(_ value: UInt256) {
        if let small = value.exactUInt64 {
            uint(small)
            return
        }
        let count = (value.bitLength + 7) / 8
        byte(0x80 + UInt8(count))
        var index = count - 1
        while index >= 0 {
            let limb = index >= 16 ? value.high : value.low
            byte(UInt8(truncatingIfNeeded: limb >> UInt128((index % 16) * 8)))
            index -= 1
        }
    }
}
