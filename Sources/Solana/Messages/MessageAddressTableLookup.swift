/// The accounts a v0 message loads from one address lookup table, by index into the table.
public struct MessageAddressTableLookup: Hashable, Sendable {
    /// The table account's address.
    public var accountKey: SolanaPublicKey
    /// Indexes of accounts loaded writable.
    public var writableIndexes: [UInt8]
    /// Indexes of accounts loaded read-only.
    public var readonlyIndexes: [UInt8]

    /// Creates a lookup.
    public init(accountKey: SolanaPublicKey, writableIndexes: [UInt8], readonlyIndexes: [UInt8]) {
        self.accountKey = accountKey
        self.writableIndexes = writableIndexes
        self.readonlyIndexes = readonlyIndexes
    }

    /// Bytes this lookup takes on the wire.
    var encodedCount: Int {
        32 + CompactU16.encodedCount(writableIndexes.count) + writableIndexes.count
            + CompactU16.encodedCount(readonlyIndexes.count) + readonlyIndexes.count
    }

    /// Appends the wire form: key, compact-u16 count and writable indexes, then read-only indexes.
    func append(to buffer: inout [UInt8]) {
        accountKey.rawValue.append(to: &buffer)
        CompactU16.append(writableIndexes.count, to: &buffer)
        buffer.append(contentsOf: writableIndexes)
        CompactU16.append(readonlyIndexes.count, to: &buffer)
        buffer.append(contentsOf: readonlyIndexes)
    }
}
