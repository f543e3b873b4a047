import SettleCore

extension ABI {
    /// Decodes `data` as the tuple `types`, strictly (see `ABI`). Bytes after the last value are ignored, as
    /// the ABI specifies.
    /// - Throws: `EVMError` `.abiTruncated`, `.abiInvalidOffset`, `.abiNonZeroPadding`, `.abiInvalidValue`,
    ///   `.abiInvalidUTF8`, or `.abiInvalidType` for a malformed hand-built type.
    public static func decode<Bytes: Collection>(_ types: [ABIType], from data: Bytes) throws(EVMError) -> [ABIValue]
    where Bytes.Element == UInt8 {
        for type in types { try type.validate() }
        var decoder = ABIDecoder(data: Array(data))
        return try decoder.decodeTuple(types, base: 0)
    }
}

/// Strict ABI reader. Every read is preceded by a bounds check, so no input can make it trap.
///
/// A canonical encoding holds every word it decodes once: the reader counts the words it consumes and rejects
/// input that makes it read more than the data holds (offsets that alias one tail many times, which would
/// otherwise let a small input decode into a huge value).
struct ABIDecoder {
    let data: [UInt8]
    private var wordBudget: Int

    init(data: [UInt8]) {
        self.data = data
        self.wordBudget = (data.count + 31) / 32
    }

    private mutating func consume(words: Int, at position: Int) throws(EVMError) {
        wordBudget -= words
        guard wordBudget >= 0 else {
            throw EVMError(.abiInvalidOffset, "offsets overlap: more words decoded than the data holds",
                           offset: position)
        }
    }

    /// Decodes a tuple whose head starts at `base`; offsets inside are relative to `base`.
    mutating func decodeTuple(_ types: [ABIType], base: Int) throws(EVMError) -> [ABIValue] {
        let headEnd = base + types.reduce(0) { $0 + $1.headSize }
        var values: [ABIValue] = []
        values.reserveCapacity(types.count)
        var position = base
        for type in types {
            if type.isDynamic {
                let offset = try readLength(at: position, what: "offset")
                guard offset % 32 == 0 else {
                    throw EVMError(.abiInvalidOffset, "offset \(offset) is not a multiple of 32", offset: position)
                }
                guard offset >= headEnd - base else {
                    throw EVMError(.abiInvalidOffset, "offset \(offset) points into the head", offset: position)
                }
                guard offset <= data.count - base - 32 else {
                    throw EVMError(.abiInvalidOffset, "offset \(offset) points past the data", offset: position)
                }
                values.append(try decodeDynamic(type, at: base + offset))
            } else {
                values.append(try decodeStatic(type, at: position))
            }
            position += type.headSize
        }
        return values
    }

    /// The 32-byte word at `position`.
    private mutating func word(at position: Int) throws(EVMError) -> ArraySlice<UInt8> {
        guard position >= 0, position <= data.count - 32 else {
            throw EVMError(.abiTruncated, "data ends before a 32-byte word", offset: position)
        }
        try consume(words: 1, at: position)
        return data[position..<position + 32]
    }

    /// A word read as an offset or length: it must fit comfortably in `Int` and not exceed the data size.
    private mutating func readLength(at position: Int, what: String) throws(EVMError) -> Int {
        let bytes = try word(at: position)
        guard bytes.prefix(24).allSatisfy({ $0 == 0 }),
              let value = try? UInt256(bigEndian: bytes), let small = value.exactUInt64, small <= UInt64(data.count)
        else {
            throw EVMError(.abiInvalidOffset, "\(what) exceeds the data size", offset: position)
        }
        return Int(small)
    }

    private mutating func decodeStatic(_ type: ABIType, at position: Int) throws(EVMError) -> ABIValue {
        switch type {
        case .fixedArray(let element, let count):
            return .array(try decodeTuple(Array(repeating: element, count: count), base: position))
        case .tuple(let elements):
            return .tuple(try decodeTuple(elements, base: position))
        default:
            return try decodeWord(type, at: position)
        }
    }

    private mutating func decodeWord(_ type: ABIType, at position: Int) throws(EVMError) -> ABIValue {
        let bytes = try word(at: position)
        // A 32-byte slice always fits: the conversion cannot fail.
        let value = (try? UInt256(bigEndian: bytes)) ?? .zero
        switch type {
        case .uint(let bits):
            guard value.bitLength <= bits else {
                throw EVMError(.abiNonZeroPadding, "uint\(bits) has bits set above its width", offset: position)
            }
            return .uint(value)
        case .int(let bits):
            guard ABI.fitsSigned(value, bits: bits) else {
                throw EVMError(.abiNonZeroPadding, "int\(bits) is not sign-extended", offset: position)
            }
            return .int(value)
        case .address:
            guard bytes.prefix(12).allSatisfy({ $0 == 0 }) else {
                throw EVMError(.abiNonZeroPadding, "address has non-zero padding", offset: position)
            }
            return .address(data.withUnsafeBytes { EVMAddress(loading: $0, at: position + 12) })
        case .bool:
            guard value <= .one else {
                throw EVMError(.abiInvalidValue, "bool word is neither 0 nor 1", offset: position)
            }
            return .bool(value == .one)
        case .fixedBytes(let count):
            guard bytes.dropFirst(count).allSatisfy({ $0 == 0 }) else {
                throw EVMError(.abiNonZeroPadding, "bytes\(count) has non-zero padding", offset: position)
            }
            return .fixedBytes(Array(bytes.prefix(count)))
        default:
            throw EVMError(.abiInvalidType, "\(type) is not a one-word type", offset: position)
        }
    }

    private mutating func decodeDynamic(_ type: ABIType, at position: Int) throws(EVMError) -> ABIValue {
        switch type {
        case .bytes:
            return .bytes(try readPadded(at: position))
        case .string:
            let bytes = try readPadded(at: position)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw EVMError(.abiInvalidUTF8, "string is not valid UTF-8", offset: position + 32)
            }
            return .string(text)
        case .array(let element):
            let count = try readLength(at: position, what: "array length")
            let base = position + 32
            // Every element takes at least one word of head (or its static size): a length that cannot fit in
            // the remaining data is rejected before anything is allocated.
            guard count <= (data.count - base) / max(element.headSize, 32) else {
                throw EVMError(.abiInvalidOffset, "array length \(count) exceeds the data", offset: position)
            }
            return .array(try decodeTuple(Array(repeating: element, count: count), base: base))
        case .fixedArray(let element, let count):
            guard count <= (data.count - position) / 32 else {
                throw EVMError(.abiTruncated, "data ends before \(type)", offset: position)
            }
            return .array(try decodeTuple(Array(repeating: element, count: count), base: position))
        case .tuple(let elements):
            return .tuple(try decodeTuple(elements, base: position))
        default:
            return try decodeStatic(type, at: position)
        }
    }

    /// Length-prefixed bytes at `position`, with zero padding to a whole word.
    private mutating func readPadded(at position: Int) throws(EVMError) -> [UInt8] {
        let length = try readLength(at: position, what: "length")
        let start = position + 32
        guard length <= data.count - start else {
            throw EVMError(.abiInvalidOffset, "length \(length) runs past the data", offset: position)
        }
        let padded = (length + 31) / 32 * 32
        guard padded <= data.count - start else {
            throw EVMError(.abiTruncated, "data ends inside the padding", offset: start + length)
        }
        try consume(words: padded / 32, at: start)
        guard data[start + length..<start + padded].allSatisfy({ $0 == 0 }) else {
            throw EVMError(.abiNonZeroPadding, "non-zero padding after \(length) bytes", offset: start + length)
        }
        return Array(data[start..<start + length])
    }
}
