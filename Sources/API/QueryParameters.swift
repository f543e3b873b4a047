import Hummingbird
import SettleCore

/// Typed reading of query parameters, with 400s that name the parameter and say what is expected.
struct QueryParameters {
    let query: [String: String]

    init(_ request: Request) {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        self.query = query
    }

    /// Parameters already split into names and values.
    init(query: [String: String]) {
        self.query = query
    }

    func string(_ name: String) -> String? { query[name].flatMap { $0.isEmpty ? nil : $0 } }

    func required(_ name: String) throws(APIError) -> String {
        guard let value = string(name) else { throw .badRequest("query parameter '\(name)' is required") }
        return value
    }

    /// A page size: 1…`maximum`, `fallback` when absent.
    func limit(fallback: Int = 50, maximum: Int = 500) throws(APIError) -> Int {
        guard let text = query["limit"] else { return fallback }  // `limit=` (empty) is not a size either
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw .badRequest("'limit' must be an integer from 1 to \(maximum) (got '\(text)')")
        }
        return value
    }

    /// An amount of token base units: a decimal integer below 2^256.
    func amount(_ name: String = "amount") throws(APIError) -> UInt256 {
        let text = try required(name)
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = try? UInt256(decimal: text) else {
            throw .badRequest("'\(name)' must be a whole number of token base units (digits only, below 2^256), got '\(text)'")
        }
        return value
    }

    func unsigned(_ name: String, fallback: UInt64) throws(APIError) -> UInt64 {
        guard let text = string(name) else { return fallback }
        guard let value = UInt64(text), value > 0 else { throw .badRequest("'\(name)' must be a positive integer (got '\(text)')") }
        return value
    }
}

/// An opaque position in a list, for `next_cursor` / `cursor`: the last row's key, hex-encoded so clients pass it
/// back as it is rather than build one.
enum PageCursor {
    static func encode(_ parts: [String]) -> String {
        Hex.encode(Array(parts.joined(separator: ":").utf8))
    }

    static func decode(_ text: String?, parts count: Int) throws(APIError) -> [String]? {
        guard let text else { return nil }
        guard let bytes = try? Hex.decode(text), let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .badRequest("'cursor' is not a cursor this API returned")
        }
        let parts = decoded.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == count else { throw .badRequest("'cursor' is not a cursor this API returned") }
        return parts
    }

    /// A position in the chain's event order, `(block, log index)`.
    static func decodePosition(_ text: String?) throws(APIError) -> (block: UInt64, logIndex: UInt64)? {
        guard let parts = try decode(text, parts: 2) else { return nil }
        // Positions fit the index's signed 64-bit integers; anything else was not made by this API.
        guard let block = Int64(parts[0]), let index = Int64(parts[1]), let unsignedBlock = UInt64(exactly: block),
              let unsignedIndex = UInt64(exactly: index) else {
            throw .badRequest("'cursor' is not a cursor this API returned")
        }
        return (unsignedBlock, unsignedIndex)
    }

    static func decodeInteger(_ text: String?) throws(APIError) -> Int64? {
        guard let parts = try decode(text, parts: 1) else { return nil }
        guard let value = Int64(parts[0]), value >= 0 else { throw .badRequest("'cursor' is not a cursor this API returned") }
        return value
    }
}
