import SettleCore

/// One fuzz input for a decoder of outside JSON: a mutated tree, or bytes (a mutated text, or random bytes) that the
/// decoder's caller must parse first, as it would an answer off the wire.
public enum JSONFuzzInput {
    case tree(JSON)
    case bytes([UInt8])

    /// The input as bytes off the wire.
    public var bytes: [UInt8] {
        switch self {
        case .tree(let json): json.serialized
        case .bytes(let bytes): bytes
        }
    }

    /// The input as a parsed JSON value (bytes are parsed with the strict parser).
    public func json() throws(CoreError) -> JSON {
        switch self {
        case .tree(let json): json
        case .bytes(let bytes): try JSON(parsing: bytes)
        }
    }
}

/// Fuzz inputs for decoders of outside JSON: real answers (the seeds) changed where a hostile or broken peer would
/// change them.
///
/// About 3 in 4 inputs are a seed with 1 to 4 JSON-aware mutations at random places of its tree, handed over as the
/// tree (no serializing and parsing, which would dominate the run): a number replaced by a huge, negative,
/// fractional or exponent one; a string by a hex quantity of 65 digits, an empty `0x`, a number or a shorter,
/// longer or edited text; any value by null, a boolean, an empty or wrapping array or object; a member dropped,
/// duplicated (a second value under the same key) or added; array elements dropped, repeated or swapped; and now
/// and then a value nested past the parser's depth limit or just within. About 3 in 20 are such a tree written out with byte-level mutations on top (flips,
/// truncation, inserted or repeated bytes), and the rest are byte mutations of a seed's text or random bytes. The
/// run is reproducible from `seed`.
public struct JSONFuzzInputs: Sequence, IteratorProtocol {
    private var rng: SeededGenerator
    private let seeds: [JSON]
    private var remaining: Int
    private var bytes: FuzzInputs

    /// Numbers a peer could send where an integer is expected.
    public static let numbers = [
        "0", "-0", "1", "-1", "255", "256", "65535", "65536", "4294967296",
        "4611686018427387904", "4611686018427387905",  // 2^62, 2^62 + 1
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "340282366920938463463374607431768211456",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        "1.5", "-1.5", "0.0", "1e3", "1E3", "1e400", "-1e400", "1e-400", "1.0e2", "123456789012345678901234567890",
    ]

    /// Strings a peer could send where a hex quantity, hash, address, id or base58 text is expected.
    public static let strings = [
        "", "0x", "0X1", "0x0", "0x00", "0x01", "0x-1", "0xg", "0x ff", " 0x1", "0x1 ",
        "0xffffffffffffffff", "0x10000000000000000", "0x4000000000000000", "0x4000000000000001",
        "0x" + String(repeating: "f", count: 64), "0x" + String(repeating: "f", count: 65), "0x1" + String(repeating: "0", count: 64),
        "0x" + String(repeating: "ab", count: 20), "0x" + String(repeating: "ab", count: 32), "0x" + String(repeating: "ab", count: 33),
        "18446744073709551616", "-1", "1e400", "NaN", "Infinity", "true", "null", "é", "\u{0}", "\u{FFFD}", "\\", "\"",
        "11111111111111111111111111111111", "1111111111111111111111111111111111111111111111111111111111111111",
        String(repeating: "z", count: 200), "base64", "base58", "finalized", "confirmed", "processed", "invoice", "event",
    ]

    public init(count: Int, seeds: [JSON], seed: UInt64) {
        self.rng = SeededGenerator(seed: seed)
        self.seeds = seeds
        self.remaining = count
        self.bytes = FuzzInputs(count: Int.max, seeds: seeds.map(\.serialized), maxLength: 400, seed: seed ^ 0xB17E5)
    }

    public mutating func next() -> JSONFuzzInput? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        let roll = rng.next() % 20
        guard roll < 18, !seeds.isEmpty else { return bytes.next().map { .bytes($0) } }
        var value = seeds[Int(rng.next() % UInt64(seeds.count))]
        for _ in 0..<(1 + Int(rng.next() % 4)) { value = mutate(value) }
        if rng.next() % 25 == 0 {  // last, so later mutations need not walk the deep part
            nesting = true
            value = mutate(value)
            nesting = false
        }
        return roll < 15 ? .tree(value) : .bytes(byteMutations(of: value.serialized))
    }

    /// The next change wraps its node in arrays, deeper than the parsers allow or just within.
    private var nesting = false

    /// A tree mutation at one random node of `value`.
    public mutating func mutate(_ value: JSON) -> JSON {
        mutate(value, at: Int(rng.next() % UInt64(Self.count(value))))
    }

    private static func count(_ value: JSON) -> Int {
        var total = 1
        switch value {
        case .array(let items): for item in items { total += count(item) }
        case .object(let members): for member in members { total += count(member.value) }
        default: break
        }
        return total
    }

    /// Changes the `target`-th node (pre-order), rebuilding only the path down to it.
    private mutating func mutate(_ value: JSON, at target: Int) -> JSON {
        if target == 0 { return change(value) }
        var remaining = target - 1
        switch value {
        case .array(var items):
            for i in items.indices {
                let size = Self.count(items[i])
                if remaining < size {
                    items[i] = mutate(items[i], at: remaining)
                    return .array(items)
                }
                remaining -= size
            }
        case .object(var members):
            for i in members.indices {
                let size = Self.count(members[i].value)
                if remaining < size {
                    members[i].value = mutate(members[i].value, at: remaining)
                    return .object(members)
                }
                remaining -= size
            }
        default:
            break
        }
        return value
    }

    private mutating func pick<T>(_ list: [T]) -> T { list[Int(rng.next() % UInt64(list.count))] }

    private mutating func change(_ value: JSON) -> JSON {
        if nesting {
            var nested = value
            for _ in 0..<(rng.next() % 2 == 0 ? 130 : 40) { nested = .array([nested]) }
            return nested
        }
        switch rng.next() % 4 {
        case 0: return anyValue(like: value)
        default: break
        }
        switch value {
        case .number(let text):
            switch rng.next() % 4 {
            case 0: return .string(text)
            case 1: return .number("-" + text.drop { $0 == "-" })
            default: return .number(pick(Self.numbers))
            }
        case .string(let text):
            switch rng.next() % 6 {
            case 0: return .string(String(text.prefix(Int(rng.next() % UInt64(text.count + 1)))))
            case 1: return .string(text + text)
            case 2: return .number(pick(Self.numbers))
            case 3 where !text.isEmpty:
                var scalars = Array(text.unicodeScalars)
                scalars[Int(rng.next() % UInt64(scalars.count))] = pick(["0", "f", "g", "z", "-", " ", "\u{0}", "é", "1"].flatMap(\.unicodeScalars))
                return .string(String(String.UnicodeScalarView(scalars)))
            default: return .string(pick(Self.strings))
            }
        case .object(var members):
            switch rng.next() % 5 {
            case 0 where !members.isEmpty:
                members.remove(at: Int(rng.next() % UInt64(members.count)))
            case 1 where !members.isEmpty:  // the same key twice, with another value (first or second)
                let i = Int(rng.next() % UInt64(members.count))
                let twin = (key: members[i].key, value: anyValue(like: members[i].value))
                members.insert(twin, at: rng.next() % 2 == 0 ? i : i + 1)
            case 2:
                members.append((key: pick(["id", "result", "error", "value", "data", "slot", "number", "blockTime", "object", "x"]),
                                value: anyValue(like: .null)))
            case 3 where members.count > 1:
                members.swapAt(Int(rng.next() % UInt64(members.count)), Int(rng.next() % UInt64(members.count)))
            default:
                return .object([])
            }
            return .object(members)
        case .array(var items):
            switch rng.next() % 5 {
            case 0 where !items.isEmpty:
                items.remove(at: Int(rng.next() % UInt64(items.count)))
            case 1 where !items.isEmpty:
                let i = Int(rng.next() % UInt64(items.count))
                let copies = rng.next() % 8 == 0 ? 1 + Int(rng.next() % 40) : 1 + Int(rng.next() % 2)
                items.insert(contentsOf: Array(repeating: items[i], count: copies), at: i)
            case 2 where items.count > 1:
                items.swapAt(Int(rng.next() % UInt64(items.count)), Int(rng.next() % UInt64(items.count)))
            case 3:
                items.append(anyValue(like: items.last ?? .null))
            default:
                return .array([])
            }
            return .array(items)
        default:
            return anyValue(like: value)
        }
    }

    /// Another value, maybe of another type, maybe wrapping `value`.
    private mutating func anyValue(like value: JSON) -> JSON {
        switch rng.next() % 8 {
        case 0: return .null
        case 1: return .bool(rng.next() % 2 == 0)
        case 2: return .number(pick(Self.numbers))
        case 3: return .string(pick(Self.strings))
        case 4: return .array([])
        case 5: return .object([])
        case 6: return .array([value])
        default: return .object([(key: "value", value: value)])
        }
    }

    private mutating func byteMutations(of text: [UInt8]) -> [UInt8] {
        var input = text
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            switch rng.next() % 5 {
            case 0 where !input.isEmpty:
                input[Int(rng.next() % UInt64(input.count))] ^= 1 << UInt8(rng.next() % 8)
            case 1 where !input.isEmpty:
                input.removeLast(1 + Int(rng.next() % UInt64(input.count)))
            case 2:
                let at = input.isEmpty ? 0 : Int(rng.next() % UInt64(input.count + 1))
                input.insert(contentsOf: pick([Array("\"".utf8), Array(",".utf8), Array("}".utf8), Array("]".utf8), Array("\\u0000".utf8),
                                               Array("9".utf8), Array("-".utf8), [0xff], [0xc3], Array("e9".utf8)]), at: at)
            case 3 where input.count > 1:
                let a = Int(rng.next() % UInt64(input.count))
                let b = Swift.min(input.count, a + 1 + Int(rng.next() % 32))
                input.insert(contentsOf: input[a..<b], at: b)
            default:
                input.append(contentsOf: rng.bytes(1 + Int(rng.next() % 4)))
            }
        }
        return input
    }
}
