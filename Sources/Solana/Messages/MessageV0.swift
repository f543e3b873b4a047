/// A version 0 transaction message: a legacy message plus accounts loaded from address lookup tables.
///
/// Build one with `init(payer:instructions:addressLookupTables:recentBlockhash:)`, which matches the Rust SDK's
/// `v0::Message::try_compile` byte for byte; parse one with `init(wireBytes:)` (including the `0x80` prefix).
public struct MessageV0: Hashable, Sendable {
    /// Signer and read-only counts (over the static keys).
    public var header: MessageHeader
    /// The accounts listed in the message itself, the fee payer first.
    public var staticAccountKeys: [SolanaPublicKey]
    /// The recent blockhash (or durable nonce) the message is valid against.
    public var recentBlockhash: Blockhash
    /// The instructions; indexes run over static keys, then every lookup's writable accounts, then every
    /// lookup's read-only accounts.
    public var instructions: [CompiledInstruction]
    /// Accounts to load from lookup tables.
    public var addressTableLookups: [MessageAddressTableLookup]

    /// Creates a message from its parts as they are; `sanitize()` checks them.
    public init(
        header: MessageHeader, staticAccountKeys: [SolanaPublicKey], recentBlockhash: Blockhash,
        instructions: [CompiledInstruction], addressTableLookups: [MessageAddressTableLookup]
    ) {
        self.header = header
        self.staticAccountKeys = staticAccountKeys
        self.recentBlockhash = recentBlockhash
        self.instructions = instructions
        self.addressTableLookups = addressTableLookups
    }

    /// Compiles `instructions` with `payer` first, moving every account that is neither a signer nor an invoked
    /// program into the first table (in the order given) that holds it.
    /// - Throws: `SolanaError.tooManyAccounts` past 256 accounts, `.lookupIndexOverflow` for an account found
    ///   past index 255 of a table, `.invalidLength` for oversized instructions.
    public init(
        payer: SolanaPublicKey, instructions: [SolanaInstruction],
        addressLookupTables: [AddressLookupTableAccount] = [], recentBlockhash: Blockhash
    ) throws(SolanaError) {
        try MessageCodec.checkSizes(instructions)
        var keys = CompiledKeys(instructions: instructions, payer: payer)
        var lookups: [MessageAddressTableLookup] = []
        var loadedWritable: [SolanaPublicKey] = []
        var loadedReadonly: [SolanaPublicKey] = []
        for table in addressLookupTables {
            if let (lookup, writable, readonly) = try keys.extractLookup(table) {
                lookups.append(lookup)
                loadedWritable.append(contentsOf: writable)
                loadedReadonly.append(contentsOf: readonly)
            }
        }
        let (header, staticKeys) = try keys.messageComponents()
        let allKeys = loadedWritable.isEmpty && loadedReadonly.isEmpty
            ? staticKeys : staticKeys + loadedWritable + loadedReadonly
        self.init(
            header: header, staticAccountKeys: staticKeys, recentBlockhash: recentBlockhash,
            instructions: try MessageCodec.compile(instructions, keys: allKeys), addressTableLookups: lookups)
    }

    /// The fee payer (the first key), if there is one.
    public var feePayer: SolanaPublicKey? { staticAccountKeys.first }

    /// The keys that must sign, in signature order.
    public var signerKeys: ArraySlice<SolanaPublicKey> {
        staticAccountKeys.prefix(Int(header.numRequiredSignatures))
    }

    /// How many accounts the lookups load.
    public var loadedAccountCount: Int {
        addressTableLookups.reduce(0) { $0 + $1.writableIndexes.count + $1.readonlyIndexes.count }
    }
}
