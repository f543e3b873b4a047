/// A transaction message of either version. On the wire a first byte with the high bit set marks a versioned
/// message (`0x80` is v0); anything else is a legacy message.
public enum VersionedMessage: Hashable, Sendable {
    /// A legacy message.
    case legacy(LegacyMessage)
    /// A version 0 message (address lookup tables).
    case v0(MessageV0)

    /// The header.
    public var header: MessageHeader {
        switch self {
        case .legacy(let message): return message.header
        case .v0(let message): return message.header
        }
    }

    /// The keys listed in the message itself (for v0, not those loaded from tables).
    public var staticAccountKeys: [SolanaPublicKey] {
        switch self {
        case .legacy(let message): return message.accountKeys
        case .v0(let message): return message.staticAccountKeys
        }
    }

    /// The recent blockhash.
    public var recentBlockhash: Blockhash {
        switch self {
        case .legacy(let message): return message.recentBlockhash
        case .v0(let message): return message.recentBlockhash
        }
    }

    /// The compiled instructions.
    public var instructions: [CompiledInstruction] {
        switch self {
        case .legacy(let message): return message.instructions
        case .v0(let message): return message.instructions
        }
    }

    /// The keys that must sign, in signature order.
    public var signerKeys: ArraySlice<SolanaPublicKey> {
        switch self {
        case .legacy(let message): return message.signerKeys
        case .v0(let message): return message.signerKeys
        }
    }

    /// Bytes of the wire form.
    public var encodedCount: Int {
        switch self {
        case .legacy(let message): return message.encodedCount
        case .v0(let message): return message.encodedCount
        }
    }

    /// Appends the wire form (the bytes that are signed).
    public func serialize(into buffer: inout [UInt8]) {
        switch self {
        case .legacy(let message): message.serialize(into: &buffer)
        case .v0(let message): message.serialize(into: &buffer)
        }
    }

    /// The wire form (the bytes that are signed).
    public func serialized() -> [UInt8] {
        switch self {
        case .legacy(let message): return message.serialized()
        case .v0(let message): return message.serialized()
        }
    }

    /// Parses and sanitizes a message of either version; every byte must be used.
    /// - Throws: `SolanaError`, among them `.unsupportedVersion` for versions other than legacy and 0.
    public init(wireBytes: [UInt8]) throws(SolanaError) {
        var reader = WireReader(wireBytes)
        try self.init(reading: &reader)
        try reader.finish("the message")
    }

    init(reading reader: inout WireReader) throws(SolanaError) {
        let first = try reader.peekByte("the message")
        if first & 0x80 == 0 {
            self = .legacy(try LegacyMessage(reading: &reader))
        } else {
            self = .v0(try MessageV0(reading: &reader))
        }
    }
}
