extension ABIType {
    /// Parses a type name: `uint256`, `uint` (= `uint256`), `int8`, `address`, `bool`, `bytes32`, `bytes`,
    /// `string`, `T[]`, `T[k]`, `(T1,T2)`; spaces are not allowed.
    /// - Throws: `EVMError.abiInvalidType` with the offset of the problem.
    public init(parsing text: some StringProtocol) throws(EVMError) {
        var parser = ABITypeParser(Array(text.utf8))
        let type = try parser.parseType()
        guard parser.position == parser.text.count else {
            throw EVMError(.abiInvalidType, "unexpected text after type", offset: parser.position)
        }
        try type.validate()
        self = type
    }

    /// Parses a comma-separated list of types, as inside a signature's parentheses (empty text is no types).
    public static func parseList(_ text: some StringProtocol) throws(EVMError) -> [ABIType] {
        guard !text.isEmpty else { return [] }
        guard case .tuple(let types) = try ABIType(parsing: "(" + String(text) + ")") else { return [] }
        return types
    }
}

/// A recursive-descent parser over the UTF-8 of a type name. Nesting is capped at 32 levels.
private struct ABITypeParser {
    let text: [UInt8]
    var position = 0
    var depth = 0

    init(_ text: [UInt8]) {
        self.text = text
    }

    private func fail(_ message: String) -> EVMError {
        EVMError(.abiInvalidType, message, offset: position)
    }

    private var current: UInt8? { position < text.count ? text[position] : nil }

    mutating func parseType() throws(EVMError) -> ABIType {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 32 else { throw fail("type nested too deeply") }
        var type = try parseBase()
        while current == UInt8(ascii: "[") {
            position += 1
            if current == UInt8(ascii: "]") {
                position += 1
                type = .array(type)
                continue
            }
            guard let count = parseNumber() else { throw fail("expected an array size") }
            guard current == UInt8(ascii: "]") else { throw fail("expected ]") }
            position += 1
            type = .fixedArray(type, count: count)
        }
        return type
    }

    private mutating func parseBase() throws(EVMError) -> ABIType {
        if current == UInt8(ascii: "(") {
            position += 1
            var elements: [ABIType] = []
            if current == UInt8(ascii: ")") {
                position += 1
                return .tuple([])
            }
            while true {
                elements.append(try parseType())
                if current == UInt8(ascii: ",") {
                    position += 1
                } else if current == UInt8(ascii: ")") {
                    position += 1
                    return .tuple(elements)
                } else {
                    throw fail("expected , or )")
                }
            }
        }
        let start = position
        while let c = current, (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) { position += 1 }
        let name = String(decoding: text[start..<position], as: UTF8.self)
        let sizeStart = position
        let size = parseNumber()
        if size != nil, text[sizeStart] == UInt8(ascii: "0") {
            throw EVMError(.abiInvalidType, "size has a leading zero", offset: sizeStart)
        }
        let type: ABIType
        switch (name, size) {
        case ("uint", let bits): type = .uint(bits: bits ?? 256)
        case ("int", let bits): type = .int(bits: bits ?? 256)
        case ("address", nil): type = .address
        case ("bool", nil): type = .bool
        case ("string", nil): type = .string
        case ("bytes", nil): type = .bytes
        case ("bytes", let count?): type = .fixedBytes(count: count)
        default:
            throw EVMError(.abiInvalidType, "unknown type \(name)\(size.map(String.init) ?? "")", offset: start)
        }
        do {
            try type.validate()
        } catch {
            throw EVMError(.abiInvalidType, error.message, offset: start)
        }
        return type
    }

    /// Decimal digits (at most 6), or nil when there are none.
    private mutating func parseNumber() -> Int? {
        var value = 0
        var digits = 0
        while let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 6 {
            value = value * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
            position += 1
        }
        return digits == 0 ? nil : value
    }
}
