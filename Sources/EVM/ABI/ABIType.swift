/// A Solidity ABI type: the subset ERC-20 and its events need, plus arrays and tuples of them.
public indirect enum ABIType: Hashable, Sendable, CustomStringConvertible {
    /// `uint<N>`, N a multiple of 8 in 8...256.
    case uint(bits: Int)
    /// `int<N>`, N a multiple of 8 in 8...256 (two's complement).
    case int(bits: Int)
    /// `address` (20 bytes, left-padded).
    case address
    /// `bool`.
    case bool
    /// `bytes<N>`, N in 1...32 (right-padded).
    case fixedBytes(count: Int)
    /// Dynamic `bytes`.
    case bytes
    /// Dynamic UTF-8 `string`.
    case string
    /// Dynamic array `T[]`.
    case array(ABIType)
    /// Fixed-size array `T[k]`.
    case fixedArray(ABIType, count: Int)
    /// Tuple `(T1,T2,…)`.
    case tuple([ABIType])

    /// `uint256`.
    public static let uint256 = ABIType.uint(bits: 256)
    /// `bytes32`.
    public static let bytes32 = ABIType.fixedBytes(count: 32)

    /// True when the encoding has a head offset and a tail (bytes, string, `T[]`, and composites holding them).
    public var isDynamic: Bool {
        switch self {
        case .bytes, .string, .array: return true
        case .fixedArray(let element, _): return element.isDynamic
        case .tuple(let elements): return elements.contains { $0.isDynamic }
        default: return false
        }
    }

    /// Bytes the type takes in its enclosing head: 32 for dynamic types, the inline size for static ones.
    ///
    /// Saturates at `Int.max` for absurd nested fixed arrays; `validate()` rejects anything past `maxHeadSize`.
    public var headSize: Int {
        switch self {
        case _ where isDynamic: return 32
        case .fixedArray(let element, let count):
            let (size, overflow) = element.headSize.multipliedReportingOverflow(by: max(count, 0))
            return overflow ? .max : size
        case .tuple(let elements):
            return elements.reduce(0) { total, element in
                let (size, overflow) = total.addingReportingOverflow(element.headSize)
                return overflow ? .max : size
            }
        default: return 32
        }
    }

    /// The largest inline size `validate()` accepts (16 MiB).
    public static let maxHeadSize = 1 << 24

    /// The canonical name used in signatures (`uint256`, `address[]`, `(bool,bytes32)[2]`).
    public var description: String {
        switch self {
        case .uint(let bits): return "uint\(bits)"
        case .int(let bits): return "int\(bits)"
        case .address: return "address"
        case .bool: return "bool"
        case .fixedBytes(let count): return "bytes\(count)"
        case .bytes: return "bytes"
        case .string: return "string"
        case .array(let element): return "\(element)[]"
        case .fixedArray(let element, let count): return "\(element)[\(count)]"
        case .tuple(let elements): return "(" + elements.map(\.description).joined(separator: ",") + ")"
        }
    }

    /// Checks sizes (`uint<N>` widths, `bytes<N>` lengths, inline size at most `maxHeadSize`); parsing does this,
    /// hand-built types may not have.
    /// - Throws: `EVMError.abiInvalidType`.
    public func validate() throws(EVMError) {
        guard headSize <= Self.maxHeadSize else {
            throw EVMError(.abiInvalidType, "\(self) takes more than \(Self.maxHeadSize) bytes inline")
        }
        switch self {
        case .uint(let bits), .int(let bits):
            guard bits >= 8, bits <= 256, bits % 8 == 0 else {
                throw EVMError(.abiInvalidType, "integer width \(bits) is not a multiple of 8 in 8...256")
            }
        case .fixedBytes(let count):
            guard count >= 1, count <= 32 else {
                throw EVMError(.abiInvalidType, "bytes\(count) is not in bytes1...bytes32")
            }
        case .array(let element):
            try element.validate()
        case .fixedArray(let element, let count):
            guard count >= 0 else { throw EVMError(.abiInvalidType, "negative array size") }
            try element.validate()
        case .tuple(let elements):
            for element in elements { try element.validate() }
        case .address, .bool, .bytes, .string:
            break
        }
    }
}
