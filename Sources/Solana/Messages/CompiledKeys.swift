/// The account set of a list of instructions with each key's merged roles, ordered the way Solana's
/// `CompiledKeys` orders them (payer first, then writable signers, read-only signers, writable non-signers,
/// read-only non-signers, each run sorted by key bytes).
///
/// Small sets (the usual case) are searched linearly in one array; larger ones get a dictionary index.
struct CompiledKeys {
    struct Entry {
        var key: SolanaPublicKey
        var isSigner: Bool
        var isWritable: Bool
        var isInvoked: Bool
    }

    private(set) var payer: SolanaPublicKey?
    /// Unique keys other than the payer; sorted by key after `init`.
    private(set) var entries: [Entry]

    init(instructions: [SolanaInstruction], payer: SolanaPublicKey?) {
        self.payer = payer
        var capacity = 0
        for instruction in instructions { capacity += 1 + instruction.accounts.count }
        entries = []
        entries.reserveCapacity(Swift.min(capacity, 64))
        var index = KeyIndex()
        for instruction in instructions {
            let i = index.upsert(instruction.programID, in: &entries)
            entries[i].isInvoked = true
            for meta in instruction.accounts {
                let j = index.upsert(meta.publicKey, in: &entries)
                if meta.isSigner { entries[j].isSigner = true }
                if meta.isWritable { entries[j].isWritable = true }
            }
        }
        if let payer, let i = index.position(of: payer, in: entries) {
            // The payer signs and pays: it leads the list whatever roles the instructions gave it.
            entries.remove(at: i)
        }
        entries.sort { $0.key < $1.key }
    }

    /// Removes the accounts `table` can supply (neither signers nor invoked programs), as
    /// `CompiledKeys::try_extract_table_lookup` does: writable keys first, then read-only, each in key order,
    /// each at its first position in the table. Returns nil when the table supplies nothing.
    mutating func extractLookup(_ table: AddressLookupTableAccount) throws(SolanaError)
        -> (lookup: MessageAddressTableLookup, writable: [SolanaPublicKey], readonly: [SolanaPublicKey])?
    {
        let (writableIndexes, writable) = try drain(table, writable: true)
        let (readonlyIndexes, readonly) = try drain(table, writable: false)
        if writableIndexes.isEmpty && readonlyIndexes.isEmpty { return nil }
        let lookup = MessageAddressTableLookup(
            accountKey: table.key, writableIndexes: writableIndexes, readonlyIndexes: readonlyIndexes)
        return (lookup, writable, readonly)
    }

    private mutating func drain(_ table: AddressLookupTableAccount, writable: Bool) throws(SolanaError)
        -> ([UInt8], [SolanaPublicKey])
    {
        var indexes: [UInt8] = []
        var keys: [SolanaPublicKey] = []
        var kept: [Entry] = []
        kept.reserveCapacity(entries.count)
        for entry in entries {
            guard !entry.isSigner && !entry.isInvoked && entry.isWritable == writable,
                let position = table.addresses.firstIndex(of: entry.key)
            else {
                kept.append(entry)
                continue
            }
            guard position <= 255 else {
                throw SolanaError(
                    .lookupIndexOverflow,
                    "account \(entry.key) is at index \(position) of lookup table \(table.key); the limit is 255")
            }
            indexes.append(UInt8(position))
            keys.append(entry.key)
        }
        entries = kept
        return (indexes, keys)
    }

    /// The header and the static account keys in message order.
    func messageComponents() throws(SolanaError) -> (header: MessageHeader, keys: [SolanaPublicKey]) {
        var keys: [SolanaPublicKey] = []
        keys.reserveCapacity(entries.count + 1)
        if let payer { keys.append(payer) }
        for entry in entries where entry.isSigner && entry.isWritable { keys.append(entry.key) }
        let writableSigners = keys.count
        for entry in entries where entry.isSigner && !entry.isWritable { keys.append(entry.key) }
        let signers = keys.count
        for entry in entries where !entry.isSigner && entry.isWritable { keys.append(entry.key) }
        let writableNonSigners = keys.count - signers
        for entry in entries where !entry.isSigner && !entry.isWritable { keys.append(entry.key) }
        let readonlyNonSigners = keys.count - signers - writableNonSigners
        guard signers <= 255, readonlyNonSigners <= 255 else {
            throw SolanaError(
                .tooManyAccounts, "\(signers) signers and \(readonlyNonSigners) read-only accounts; the header counts to 255")
        }
        let header = MessageHeader(
            numRequiredSignatures: UInt8(signers),
            numReadonlySignedAccounts: UInt8(signers - writableSigners),
            numReadonlyUnsignedAccounts: UInt8(readonlyNonSigners))
        return (header, keys)
    }
}
