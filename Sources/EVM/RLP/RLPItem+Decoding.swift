extension RLPItem {
    /// The default nesting limit of `init(decoding:maxDepth:)`; transactions need 3.
    public static let defaultMaxDepth = 32

    /// Decodes exactly one canonical RLP item filling all of `bytes`.
    ///
    /// Rejected, with the code named:
    /// - input that ends inside a header or payload: `.rlpTruncated`;
    /// - an item whose declared length runs past its enclosing list, or a length that does not fit in memory:
    ///   `.rlpOversizedLength`;
    /// - a single byte below 0x80 wrapped in a string header, a long form for a length below 56, a length with
    ///   leading zero bytes: `.rlpNonCanonical`;
    /// - bytes after the item: `.rlpTrailingBytes`;
    /// - lists nested deeper than `maxDepth`: `.rlpTooDeep`.
    public init<Bytes: Collection>(decoding bytes: Bytes, maxDepth: Int = RLPItem.defaultMaxDepth) throws(EVMError)
    where Bytes.Element == UInt8 {
        let array = Array(bytes)
        let result: Result<RLPItem, EVMError> = array.withUnsafeBytes { raw in
            do throws(EVMError) {
                var reader = RLPReader(raw)
                let item = try reader.readItem(end: raw.count, depth: 0, maxDepth: maxDepth)
                guard reader.position == raw.count else {
                    throw EVMError(.rlpTrailingBytes, "\(raw.count - reader.position) bytes after the RLP item",
                                   offset: reader.position)
                }
                return .success(item)
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }
}

/// The header of one RLP item: its kind and payload range.
struct RLPHeader {
    var isList: Bool
    var payloadStart: Int
    var payloadEnd: Int
}

/// A bounds-checked cursor over RLP bytes. Every index is checked against `end` before it is read.
struct RLPReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Reads the header at `position`, for an item that must end by `end`, and moves past the header.
    mutating func readHeader(end: Int) throws(EVMError) -> RLPHeader {
        let start = position
        guard start < end else {
            throw EVMError(.rlpTruncated, "input ends before an RLP item", offset: start)
        }
        let prefix = bytes[start]
        switch prefix {
        case 0x00...0x7f:
            return RLPHeader(isList: false, payloadStart: start, payloadEnd: start + 1)
        case 0x80...0xb7, 0xc0...0xf7:
            let isList = prefix >= 0xc0
            let length = Int(prefix - (isList ? 0xc0 : 0x80))
            let header = try payload(isList: isList, start: start, headerLength: 1, length: length, end: end)
            if !isList, length == 1, bytes[start + 1] < 0x80 {
                throw EVMError(.rlpNonCanonical, "single byte below 0x80 must be encoded as itself", offset: start)
            }
            return header
        default:
            let isList = prefix >= 0xf8
            let lengthOfLength = Int(prefix - (isList ? 0xf7 : 0xb7))
            guard lengthOfLength <= end - start - 1 else {
                throw EVMError(end == bytes.count ? .rlpTruncated : .rlpOversizedLength,
                               "RLP length bytes run past the end", offset: start)
            }
            guard bytes[start + 1] != 0 else {
                throw EVMError(.rlpNonCanonical, "RLP length has a leading zero byte", offset: start + 1)
            }
            var length: UInt64 = 0
            for i in 0..<lengthOfLength {
                length = length << 8 | UInt64(bytes[start + 1 + i])
            }
            guard length >= 56 else {
                throw EVMError(.rlpNonCanonical, "long-form RLP length \(length) below 56", offset: start)
            }
            guard length <= UInt64(Int32.max) else {
                throw EVMError(.rlpOversizedLength, "RLP length \(length) is not addressable", offset: start)
            }
            return try payload(isList: isList, start: start, headerLength: 1 + lengthOfLength, length: Int(length),
                               end: end)
        }
    }

    private mutating func payload(isList: Bool, start: Int, headerLength: Int, length: Int, end: Int)
        throws(EVMError) -> RLPHeader
    {
        let payloadStart = start + headerLength
        guard length <= end - payloadStart else {
            if end == bytes.count {
                throw EVMError(.rlpTruncated, "RLP item declares \(length) bytes, \(end - payloadStart) remain",
                               offset: start)
            }
            throw EVMError(.rlpOversizedLength,
                           "RLP item declares \(length) bytes, its list has \(end - payloadStart) left", offset: start)
        }
        position = payloadStart
        return RLPHeader(isList: isList, payloadStart: payloadStart, payloadEnd: payloadStart + length)
    }

    /// Reads one item ending by `end` and moves past it.
    mutating func readItem(end: Int, depth: Int, maxDepth: Int) throws(EVMError) -> RLPItem {
        let start = position
        let header = try readHeader(end: end)
        guard header.isList else {
            position = header.payloadEnd
            return .bytes(Array(bytes[header.payloadStart..<header.payloadEnd]))
        }
        guard depth < maxDepth else {
            throw EVMError(.rlpTooDeep, "RLP lists nested deeper than \(maxDepth)", offset: start)
        }
        var items: [RLPItem] = []
        position = header.payloadStart
        while position < header.payloadEnd {
            items.append(try readItem(end: header.payloadEnd, depth: depth + 1, maxDepth: maxDepth))
        }
        return .list(items)
    }
}
