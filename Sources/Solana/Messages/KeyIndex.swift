/// Finds a key's position in a key list: linear while the list is short, through a dictionary once it is long.
struct KeyIndex {
    private static let linearLimit = 24
    private var map: [SolanaPublicKey: Int]?

    init() {}

    /// Indexes `keys`, which may be long.
    init(_ keys: some Collection<SolanaPublicKey>) {
        if keys.count > Self.linearLimit {
            var map = [SolanaPublicKey: Int](minimumCapacity: keys.count)
            for (i, key) in keys.enumerated() where map[key] == nil { map[key] = i }
            self.map = map
        }
    }

    /// The first position of `key` in `keys` (the list this index was built over).
    func position(of key: SolanaPublicKey, in keys: [SolanaPublicKey]) -> Int? {
        if let map { return map[key] }
        return keys.firstIndex(of: key)
    }

    func position(of key: SolanaPublicKey, in entries: [CompiledKeys.Entry]) -> Int? {
        if let map { return map[key] }
        return entries.firstIndex { $0.key == key }
    }

    /// The position of `key` in `entries`, appending a role-less entry when it is new.
    mutating func upsert(_ key: SolanaPublicKey, in entries: inout [CompiledKeys.Entry]) -> Int {
        if let i = position(of: key, in: entries) { return i }
        entries.append(CompiledKeys.Entry(key: key, isSigner: false, isWritable: false, isInvoked: false))
        let i = entries.count - 1
        if map != nil {
            map?[key] = i
        } else if entries.count > Self.linearLimit {
            var map = [SolanaPublicKey: Int](minimumCapacity: entries.count * 2)
            for (j, entry) in entries.enumerated() { map[entry.key] = j }
            self.map = map
        }
        return i
    }
}
