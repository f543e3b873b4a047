import EVM
import SettleCore
import TestSupport

/// A JSON value of any shape (RLP items and ABI values in the vector files mix strings, booleans and lists).
enum JSONValue: Decodable, Hashable {
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
}

extension JSONValue {
    /// The RLP item this JSON describes: hex strings are byte strings, arrays are lists.
    func rlpItem() throws -> RLPItem {
        switch self {
        case .string(let hex): return .bytes([UInt8](hex: hex))
        case .array(let items): return .list(try items.map { try $0.rlpItem() })
        default: throw VectorError(description: "not an RLP item: \(self)")
        }
    }

    /// The ABI value of `type` this JSON describes (numbers as decimal strings, bytes and addresses as hex).
    func abiValue(_ type: ABIType) throws -> ABIValue {
        switch (type, self) {
        case (.uint, .string(let decimal)):
            return .uint(try UInt256(decimal: decimal))
        case (.int, .string(let decimal)):
            if decimal.hasPrefix("-") {
                let magnitude = try UInt256(decimal: decimal.dropFirst())
                return .int((UInt256.max - magnitude) + .one)
            }
            return .int(try UInt256(decimal: decimal))
        case (.address, .string(let hex)):
            return .address(try EVMAddress(bytes: [UInt8](hex: hex)))
        case (.bool, .bool(let flag)):
            return .bool(flag)
        case (.fixedBytes, .string(let hex)):
            return .fixedBytes([UInt8](hex: hex))
        case (.bytes, .string(let hex)):
            return .bytes([UInt8](hex: hex))
        case (.string, .string(let text)):
            return .string(text)
        case (.array(let element), .array(let items)), (.fixedArray(let element, _), .array(let items)):
            return .array(try items.map { try $0.abiValue(element) })
        default:
            throw VectorError(description: "JSON \(self) does not describe a \(type)")
        }
    }
}

struct KeccakVector: Decodable {
    let input: String
    let hash: String
}

struct EIP55Vector: Decodable {
    let lower: String
    let checksum: String
}

struct SelectorVector: Decodable {
    let signature: String
    let selector: String
    let topic: String
}

struct RLPVector: Decodable {
    let item: JSONValue
    let encoded: String
}

struct ABIVector: Decodable {
    let types: [String]
    let values: [JSONValue]
    let encoded: String
}

struct AccessListVector: Decodable {
    let address: String
    let storageKeys: [String]
}

/// Fields common to both transaction vector files.
struct TransactionVector: Decodable {
    let key: String
    let signingHash: String
    let raw: String
    let hash: String
    let v: String
    let r: String
    let s: String
    let sender: String
    let nonce: String
    let gas: String
    let to: String?
    let value: String
    let data: String
    let chainId: String?
    // Legacy only.
    let gasPrice: String?
    // EIP-1559 only.
    let maxPriorityFeePerGas: String?
    let maxFeePerGas: String?
    let accessList: [AccessListVector]?
}

struct ERC20CallVector: Decodable {
    let function: String
    let args: [String]
    let calldata: String
}

struct ERC20LogVector: Decodable {
    let event: String
    let topics: [String]
    let data: String
    let first: String
    let second: String
    let value: String
}
