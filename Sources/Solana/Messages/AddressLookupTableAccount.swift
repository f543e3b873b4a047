/// An address lookup table as a v0 message compiler sees it: the table's own address and its stored
/// addresses, in order.
public struct AddressLookupTableAccount: Hashable, Sendable {
    /// The table account's address.
    public var key: SolanaPublicKey
    /// The addresses the table holds; a message refers to them by index (0...255).
    public var addresses: [SolanaPublicKey]

    /// Creates a table.
    public init(key: SolanaPublicKey, addresses: [SolanaPublicKey]) {
        self.key = key
        self.addresses = addresses
    }
}
