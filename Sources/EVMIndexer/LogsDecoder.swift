import EVM
import SettleCore
import Transport

/// Decodes an `eth_getLogs` response body straight into `EVMLog`s, without building a JSON tree: the hot path of
/// backfill (a 10,000-log response is about 6 MB). Strict like the general parser: every required field must be
/// present and well-formed, and anything unexpected is `.malformedResponse` with the byte offset. Unknown members
/// are skipped. A response carrying an `error` member is handed to the general parser to report that error.
struct LogsDecoder {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    /// Decodes `body`, the response to request `id`.
    static func decode(_ body: [UInt8], id: UInt64) throws(RPCError) -> [EVMLog] {
        let result: Result<[EVMLog], RPCError> = body.withUnsafeBufferPointer { buffer in
            var decoder = LogsDecoder(bytes: buffer)
            do throws(RPCError) {
                return .success(try decoder.response(id: id))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let logs): return logs
        case .failure(.server(let code, _, _)) where code == Int.min:
            // The response is an error object: let the general parser report it precisely.
            let json = try JSONRPCClient.parse(body)
            _ = try JSONRPCClient.result(of: json, id: id)
            throw .malformedResponse("eth_getLogs response has neither result nor error")
        case .failure(let error): throw error
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func fail(_ what: String) -> RPCError {
        .malformedResponse("eth_getLogs: \(what) at byte \(index)")
    }

    // MARK: Structure

    private mutating func response(id: UInt64) throws(RPCError) -> [EVMLog] {
        try expect(UInt8(ascii: "{"))
        var logs: [EVMLog]?
        var sawID = false
        var seen = Set<Key>()
        if try !consume(UInt8(ascii: "}")) {
            repeat {
                let key = try key()
                try expect(UInt8(ascii: ":"))
                // A member read twice would be decoded differently here (last wins) and by the general parser (first
                // wins): an answer that says two things is malformed.
                guard key == .other || seen.insert(key).inserted else { throw fail("response has a member twice") }
                switch key {
                case .id:
                    skipWhitespace()
                    guard try number() == id else { throw fail("response id does not match request id \(id)") }
                    sawID = true
                case .result: logs = try logArray()
                case .error: throw RPCError.server(code: Int.min, message: "", data: nil)
                default: try skipValue(depth: 0)
                }
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("data after the response") }
        guard sawID else { throw fail("response has no id") }
        guard let logs else { throw fail("response has no result") }
        return logs
    }

    private mutating func logArray() throws(RPCError) -> [EVMLog] {
        try expect(UInt8(ascii: "["))
        var logs: [EVMLog] = []
        if try consume(UInt8(ascii: "]")) { return logs }
        logs.reserveCapacity(bytes.count / 600)
        repeat {
            logs.append(try log())
        } while try consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return logs
    }

    private mutating func log() throws(RPCError) -> EVMLog {
        try expect(UInt8(ascii: "{"))
        var address: EVMAddress?
        var topics: [Hash32]?
        var data: [UInt8]?
        var blockNumber: UInt64?
        var blockHash: Hash32?
        var transactionHash: Hash32?
        var logIndex: UInt64?
        var removed = false
        var blockTimestamp: UInt64?
        var seen: UInt16 = 0  // members read so far, one bit per `Key`
        if try !consume(UInt8(ascii: "}")) {
            repeat {
                let key = try key()
                try expect(UInt8(ascii: ":"))
                if key != .other {
                    let bit: UInt16 = 1 << key.bit
                    guard seen & bit == 0 else { throw fail("log has a member twice") }
                    seen |= bit
                }
                switch key {
                case .address: address = try addressValue()
                case .topics: topics = try topicArray()
                case .data: data = try dataValue()
                case .blockNumber: blockNumber = try quantity()
                case .blockHash: blockHash = try hashValue()
                case .transactionHash: transactionHash = try hashValue()
                case .logIndex: logIndex = try quantity()
                case .blockTimestamp: blockTimestamp = try quantity()
                case .removed:
                    skipWhitespace()
                    if try literal("true") { removed = true } else if try literal("false") { removed = false } else {
                        throw fail("log.removed is not a boolean")
                    }
                default: try skipValue(depth: 0)
                }
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        }
        guard let address, let topics, let data, let blockNumber, let blockHash, let transactionHash, let logIndex else {
            throw fail("log lacks a required field (address, topics, data, blockNumber, blockHash, transactionHash, logIndex)")
        }
        return EVMLog(address: address, topics: topics, data: data, blockNumber: blockNumber, blockHash: blockHash,
                      transactionHash: transactionHash, logIndex: logIndex, removed: removed, blockTimestamp: blockTimestamp)
    }

    private mutating func topicArray() throws(RPCError) -> [Hash32] {
        try expect(UInt8(ascii: "["))
        var topics: [Hash32] = []
        if try consume(UInt8(ascii: "]")) { return topics }
        topics.reserveCapacity(4)
        repeat {
            topics.append(try hashValue())
            guard topics.count <= 4 else { throw fail("log has more than 4 topics") }
        } while try consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return topics
    }

    // MARK: Values

    /// Hex digit values, 0xFF for anything else.
    private static let nibbles: [UInt8] = (0..<256).map { Hex.nibble(UInt8($0)) ?? 0xFF }

    /// Checks `"0x` + `2·count` hex digits + `"` at the cursor and returns the offset of the first digit.
    private mutating func fixedHexStart(count: Int, _ what: StaticString) throws(RPCError) -> Int {
        skipWhitespace()
        guard index + 2 * count + 4 <= bytes.count, bytes[index] == UInt8(ascii: "\""), bytes[index + 1] == UInt8(ascii: "0"),
              bytes[index + 2] == UInt8(ascii: "x"), bytes[index + 3 + 2 * count] == UInt8(ascii: "\"")
        else { throw fail("\(what) is not 0x-prefixed hex of \(count) bytes") }
        let start = index + 3
        index = start + 2 * count + 1
        return start
    }

    /// Decodes `count` bytes of hex digits at `offset` into `out`; false on a non-hex character.
    private static func decodeHex(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, count: Int, into out: UnsafeMutableRawBufferPointer) -> Bool {
        nibbles.withUnsafeBufferPointer { table in
            var bad: UInt8 = 0
            var p = offset
            for i in 0..<count {
                let hi = table[Int(bytes[p])]
                let lo = table[Int(bytes[p + 1])]
                bad |= hi | lo
                out[i] = hi &<< 4 | lo
                p += 2
            }
            return bad & 0xF0 == 0
        }
    }

    private mutating func hashValue() throws(RPCError) -> Hash32 {
        let start = try fixedHexStart(count: 32, "hash")
        var value = Bytes32.zero
        let ok = value.withUnsafeMutableBytes { Self.decodeHex(bytes, at: start, count: 32, into: $0) }
        guard ok else { throw fail("hash has a character that is not hex") }
        return Hash32(value)
    }

    private mutating func addressValue() throws(RPCError) -> EVMAddress {
        let start = try fixedHexStart(count: 20, "address")
        var raw = (UInt64(0), UInt64(0), UInt32(0))
        let ok = withUnsafeMutableBytes(of: &raw) { Self.decodeHex(bytes, at: start, count: 20, into: $0) }
        guard ok else { throw fail("address has a character that is not hex") }
        return withUnsafeBytes(of: raw) { EVMAddress(loading: $0, at: 0) }
    }

    private mutating func dataValue() throws(RPCError) -> [UInt8] {
        skipWhitespace()
        guard index + 3 <= bytes.count, bytes[index] == UInt8(ascii: "\""), bytes[index + 1] == UInt8(ascii: "0"),
              bytes[index + 2] == UInt8(ascii: "x")
        else { throw fail("log.data is not 0x-prefixed hex") }
        var p = index + 3
        var end = p
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
        guard end < bytes.count, (end - p) % 2 == 0 else { throw fail("log.data is not whole bytes of hex") }
        let count = (end - p) / 2
        let bytes = self.bytes
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = Self.decodeHex(bytes, at: p, count: count, into: UnsafeMutableRawBufferPointer(buffer)) ? count : -1
            if initialized < 0 { initialized = 0; p = -1 }
        }
        guard p >= 0 else { throw fail("log.data has a character that is not hex") }
        index = end + 1
        return out
    }

    /// `"0x…"`: a hex quantity of at most 16 digits, and at most `NodeNumbers.maximum` (every quantity of a log is a
    /// block number, log index or timestamp that Settle stores).
    private mutating func quantity() throws(RPCError) -> UInt64 {
        skipWhitespace()
        guard index + 3 <= bytes.count, bytes[index] == UInt8(ascii: "\""), bytes[index + 1] == UInt8(ascii: "0"),
              bytes[index + 2] == UInt8(ascii: "x")
        else { throw fail("quantity is not 0x-prefixed hex") }
        var p = index + 3
        var value: UInt64 = 0
        var digits = 0
        while p < bytes.count, bytes[p] != UInt8(ascii: "\"") {
            guard let n = Hex.nibble(bytes[p]), digits < 16 else { index = p; throw fail("quantity is not a 64-bit hex number") }
            value = value << 4 | UInt64(n)
            digits += 1
            p += 1
        }
        guard p < bytes.count, digits > 0 else { throw fail("quantity is empty or unterminated") }
        guard value <= NodeNumbers.maximum else { throw fail("quantity \(value) is past 2^62") }
        index = p + 1
        return value
    }

    /// A JSON number that is a non-negative integer (the `id`).
    private mutating func number() throws(RPCError) -> UInt64 {
        var value: UInt64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw fail("id overflows") }
            value = a
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw fail("id is not a number") }
        return value
    }

    // MARK: Tokens

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0a, 0x0d: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ c: UInt8) throws(RPCError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        index += 1
    }

    private mutating func consume(_ c: UInt8) throws(RPCError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        if bytes[index] == c {
            index += 1
            return true
        }
        return false
    }

    private mutating func literal(_ text: StaticString) throws(RPCError) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for i in 0..<count where bytes[index + i] != text.utf8Start[i] { return false }
        index += count
        return true
    }

    /// The member names this decoder reads; anything else is `.other` and skipped.
    private enum Key: Int, Hashable {
        case address, topics, data, blockNumber, blockHash, transactionHash, logIndex, blockTimestamp, removed
        case id, result, error, other

        var bit: UInt16 { UInt16(rawValue) }
    }

    private static let keys: [(StaticString, Key)] = [
        ("address", .address), ("topics", .topics), ("data", .data), ("blockNumber", .blockNumber),
        ("blockHash", .blockHash), ("transactionHash", .transactionHash), ("logIndex", .logIndex),
        ("blockTimestamp", .blockTimestamp), ("removed", .removed), ("id", .id), ("result", .result), ("error", .error),
    ]

    /// Reads a member name and says which one it is, comparing bytes (no string is built).
    private mutating func key() throws(RPCError) -> Key {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
        let start = index + 1
        var p = start
        while p < bytes.count, bytes[p] != UInt8(ascii: "\"") {
            if bytes[p] == UInt8(ascii: "\\") { p += 1 }
            p += 1
        }
        guard p < bytes.count else { throw fail("unterminated member name") }
        index = p + 1
        let length = p - start
        for (name, key) in Self.keys where name.utf8CodeUnitCount == length && name.utf8Start[0] == bytes[start] {
            var equal = true
            for i in 1..<length where name.utf8Start[i] != bytes[start + i] {
                equal = false
                break
            }
            if equal { return key }
        }
        return .other
    }

    /// Skips any JSON value (validating its shape), for members we do not read.
    private mutating func skipValue(depth: Int) throws(RPCError) {
        guard depth < 64 else { throw fail("nesting too deep") }
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                guard bytes[index] >= 0x20 else { throw fail("control character in string") }
                if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                index += 1
            }
            guard index < bytes.count else { throw fail("unterminated string") }
            index += 1
        case UInt8(ascii: "{"):
            index += 1
            if try consume(UInt8(ascii: "}")) { return }
            repeat {
                _ = try key()
                try expect(UInt8(ascii: ":"))
                try skipValue(depth: depth + 1)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            index += 1
            if try consume(UInt8(ascii: "]")) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): guard try literal("true") else { throw fail("invalid literal") }
        case UInt8(ascii: "f"): guard try literal("false") else { throw fail("invalid literal") }
        case UInt8(ascii: "n"): guard try literal("null") else { throw fail("invalid literal") }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            index += 1
            while index < bytes.count, "0123456789.eE+-".utf8.contains(bytes[index]) { index += 1 }
        default:
            throw fail("unexpected character")
        }
    }
}
