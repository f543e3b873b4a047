import SettleCore

/// Stripe's request encoding: `application/x-www-form-urlencoded` with nested keys (`metadata[chain]=base`), arrays
/// by index (`expand[0]=customer`), booleans as `true`/`false`, and `null` members left out.
public enum StripeForm {
    /// Encodes a JSON object of parameters, members in order.
    public static func encode(_ params: JSON) -> String {
        var pairs: [(String, String)] = []
        flatten(params, prefix: nil, into: &pairs)
        return pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    private static func flatten(_ value: JSON, prefix: String?, into pairs: inout [(String, String)]) {
        switch value {
        case .null: return
        case .object(let members):
            for member in members {
                flatten(member.value, prefix: prefix.map { "\($0)[\(member.key)]" } ?? member.key, into: &pairs)
            }
        case .array(let elements):
            for (i, element) in elements.enumerated() {
                flatten(element, prefix: "\(prefix ?? "")[\(i)]", into: &pairs)
            }
        case .bool(let b): if let prefix { pairs.append((prefix, b ? "true" : "false")) }
        case .number(let n): if let prefix { pairs.append((prefix, n)) }
        case .string(let s): if let prefix { pairs.append((prefix, s)) }
        }
    }

    /// Form escaping as Python's `urllib.parse.quote_plus`: unreserved bytes kept, space as `+`, the rest `%XX`.
    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                out += "%" + Hex.encode([byte]).uppercased()
            }
        }
        return out
    }
}
