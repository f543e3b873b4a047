import SettleCore

/// Solidity contract ABI encoding and strict decoding.
///
/// `encode` produces the standard head/tail layout; `decode` accepts only canonical layouts: every offset and
/// length in bounds, word-aligned and pointing past its head; every padding byte zero; every `bool` 0 or 1;
/// every `int<N>` a proper sign extension; every `string` valid UTF-8.
public enum ABI {
    /// Encodes `values` as the tuple `types` (the form of call arguments, return data and event data).
    /// - Throws: `EVMError.abiTypeMismatch` when a value does not match or fit its type, `.abiInvalidType` for a
    ///   malformed hand-built type.
    public static func encode(_ values: [ABIValue], as types: [ABIType]) throws(EVMError) -> [UInt8] {
        for type in types { try type.validate() }
        var out: [UInt8] = []
        try encodeTuple(values, types, into: &out)
        return out
    }

    /// Calldata: the 4-byte selector followed by the encoded arguments.
    public static func encodeCall(_ selector: FunctionSelector, _ values: [ABIValue], as types: [ABIType])
        throws(EVMError) -> [UInt8]
    {
        var out = selector.bytes
        out.append(contentsOf: try encode(values, as: types))
        return out
    }

    private static func encodeTuple(_ values: [ABIValue], _ types: [ABIType], into out: inout [UInt8])
        throws(EVMError)
    {
        guard values.count == types.count else {
            throw EVMError(.abiTypeMismatch, "\(values.count) values for \(types.count) types")
        }
        let headSize = types.reduce(0) { $0 + $1.headSize }
        var head: [UInt8] = []
        head.reserveCapacity(headSize)
        var tail: [UInt8] = []
        for (value, type) in zip(values, types) {
            if type.isDynamic {
                appendWord(UInt256(UInt64(headSize + tail.count)), to: &head)
                try encodeValue(value, type, into: &tail)
            } else {
                try encodeValue(value, type, into: &head)
            }
        }
        out.append(contentsOf: head)
        out.append(contentsOf: tail)
    }

    private static func encodeValue(_ value: ABIValue, _ type: ABIType, into out: inout [UInt8]) throws(EVMError) {
        switch (type, value) {
        case (.uint(let bits), .uint(let number)):
            guard number.bitLength <= bits else {
                throw EVMError(.abiTypeMismatch, "\(number) does not fit uint\(bits)")
            }
            appendWord(number, to: &out)
        case (.int(let bits), .int(let pattern)):
            guard fitsSigned(pattern, bits: bits) else {
                throw EVMError(.abiTypeMismatch, "value does not fit int\(bits)")
            }
            appendWord(pattern, to: &out)
        case (.address, .address(let address)):
            out.append(contentsOf: repeatElement(0, count: 12))
            address.withUnsafeBytes { out.append(contentsOf: $0) }
        case (.bool, .bool(let flag)):
            appendWord(flag ? .one : .zero, to: &out)
        case (.fixedBytes(let count), .fixedBytes(let bytes)):
            guard bytes.count == count else {
                throw EVMError(.abiTypeMismatch, "bytes\(count) given \(bytes.count) bytes")
            }
            out.append(contentsOf: bytes)
            out.append(contentsOf: repeatElement(0, count: 32 - count))
        case (.bytes, .bytes(let bytes)):
            appendPadded(bytes, to: &out)
        case (.string, .string(let text)):
            appendPadded(Array(text.utf8), to: &out)
        case (.array(let element), .array(let elements)):
            appendWord(UInt256(UInt64(elements.count)), to: &out)
            try encodeTuple(elements, Array(repeating: element, count: elements.count), into: &out)
        case (.fixedArray(let element, let count), .array(let elements)):
            guard elements.count == count else {
                throw EVMError(.abiTypeMismatch, "\(type) given \(elements.count) elements")
            }
            try encodeTuple(elements, Array(repeating: element, count: count), into: &out)
        case (.tuple(let types), .tuple(let elements)):
            try encodeTuple(elements, types, into: &out)
        default:
            throw EVMError(.abiTypeMismatch, "value \(value) does not match type \(type)")
        }
    }

    /// True when the 256-bit two's-complement `pattern` is the sign extension of a `bits`-bit value.
    static func fitsSigned(_ pattern: UInt256, bits: Int) -> Bool {
        guard bits < 256 else { return true }
        let upper = pattern >> (bits - 1)  // the sign bit and everything above it
        return upper.isZero || upper == UInt256.max >> (bits - 1)
    }

    static func appendWord(_ value: UInt256, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 32))
        value.writeBigEndian(into: &out, at: start)
    }

    private static func appendPadded(_ bytes: [UInt8], to out: inout [UInt8]) {
        appendWord(UInt256(UInt64(bytes.count)), to: &out)
        out.append(contentsOf: bytes)
        out.append(contentsOf: repeatElement(0, count: (32 - bytes.count % 32) % 32))
    }
}
