/// One entry of an EIP-2930 access list: an address and the storage slots the transaction declares it touches.
public struct AccessListEntry: Hashable, Sendable {
    /// The account.
    public var address: EVMAddress
    /// Storage keys of that account.
    public var storageKeys: [Hash32]

    /// Creates an entry.
    public init(address: EVMAddress, storageKeys: [Hash32] = []) {
        self.address = address
        self.storageKeys = storageKeys
    }
}
