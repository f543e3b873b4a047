import SettleCore

/// A value of an `ABIType`.
public indirect enum ABIValue: Hashable, Sendable {
    /// A `uint<N>` value.
    case uint(UInt256)
    /// An `int<N>` value as its 256-bit two's-complement bit pattern (−1 is `UInt256.max`).
    case int(UInt256)
    /// An `address`.
    case address(EVMAddress)
    /// A `bool`.
    case bool(Bool)
    /// A `bytes<N>` value: exactly N bytes.
    case fixedBytes([UInt8])
    /// A dynamic `bytes` value.
    case bytes([UInt8])
    /// A `string`.
    case string(String)
    /// The elements of a `T[]` or `T[k]`.
    case array([ABIValue])
    /// The elements of a tuple.
    case tuple([ABIValue])

    /// An `int<N>` value from a signed 64-bit integer.
    public static func signed(_ value: Int64) -> ABIValue {
        let magnitude = UInt256(value.magnitude)
        guard value < 0 else { return .int(magnitude) }
        return .int(UInt256.max.subtractingReportingOverflow(magnitude).partialValue.addingReportingOverflow(.one)
            .partialValue)
    }

    /// The `uint` value, or nil for another kind.
    public var uintValue: UInt256? {
        if case .uint(let value) = self { return value }
        return nil
    }

    /// The `address` value, or nil for another kind.
    public var addressValue: EVMAddress? {
        if case .address(let value) = self { return value }
        return nil
    }
}
