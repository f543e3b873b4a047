import SettleCore

extension ABI {
    /// The canonical signature `name(t1,t2,…)`.
    public static func signature(name: String, parameters: [ABIType]) -> String {
        name + "(" + parameters.map(\.description).joined(separator: ",") + ")"
    }

    /// The log topic 0 of an event: keccak-256 of its signature such as `Transfer(address,address,uint256)`
    /// (spaces are removed, as eth-utils does).
    public static func eventTopic(signature: some StringProtocol) -> Hash32 {
        Hash32(Keccak256.hash(signature.utf8.filter { $0 != UInt8(ascii: " ") }))
    }

    /// The log topic 0 of `name(types…)` with canonical type names.
    public static func eventTopic(name: String, parameters: [ABIType]) -> Hash32 {
        eventTopic(signature: signature(name: name, parameters: parameters))
    }
}
