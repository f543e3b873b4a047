/// The parts legacy and v0 messages share: compiling instructions to indexes, and the wire form of header,
/// keys, blockhash and instructions.
enum MessageCodec {
    /// Rejects instruction lists that a compact-u16 cannot count.
    static func checkSizes(_ instructions: [SolanaInstruction]) throws(SolanaError) {
        guard instructions.count <= CompactU16.max else {
            throw SolanaError(.invalidLength, "\(instructions.count) instructions; a message holds at most 65535")
        }
        for (i, instruction) in instructions.enumerated()
        where instruction.data.count > CompactU16.max || instruction.accounts.count > CompactU16.max {
            throw SolanaError(
                .invalidLength, "instruction \(i) has \(instruction.accounts.count) accounts and "
                    + "\(instruction.data.count) data bytes; each is at most 65535", offset: i)
        }
    }

    /// Replaces keys by their positions in `keys` (static keys, then loaded writable, then loaded read-only).
    static func compile(_ instructions: [SolanaInstruction], keys: [SolanaPublicKey]) throws(SolanaError)
        -> [CompiledInstruction]
    {
        guard keys.count <= 256 else {
            throw SolanaError(.tooManyAccounts, "\(keys.count) accounts; a message indexes at most 256")
        }
        let index = KeyIndex(keys)
        var compiled: [CompiledInstruction] = []
        compiled.reserveCapacity(instructions.count)
        for instruction in instructions {
            let program = try position(of: instruction.programID, in: keys, index)
            var accounts = [UInt8](repeating: 0, count: instruction.accounts.count)
            for (i, meta) in instruction.accounts.enumerated() {
                accounts[i] = try position(of: meta.publicKey, in: keys, index)
            }
            compiled.append(CompiledInstruction(programIDIndex: program, accounts: accounts, data: instruction.data))
        }
        return compiled
    }

    @inline(__always)
    private static func position(of key: SolanaPublicKey, in keys: [SolanaPublicKey], _ index: KeyIndex)
        throws(SolanaError) -> UInt8
    {
        // Every instruction key was added to the account set, so a miss means a key that a lookup table
        // supplied for a role it cannot play (an invoked program).
        guard let i = index.position(of: key, in: keys) else {
            throw SolanaError(.invalidMessage, "instruction key \(key) is not among the message's accounts")
        }
        return UInt8(i)
    }

    /// Bytes of header, keys, blockhash and instructions.
    static func bodyCount(keys: Int, instructions: [CompiledInstruction]) -> Int {
        var count = 3 + CompactU16.encodedCount(keys) + 32 * keys + 32 + CompactU16.encodedCount(instructions.count)
        for instruction in instructions { count += instruction.encodedCount }
        return count
    }

    static func appendBody(
        header: MessageHeader, keys: [SolanaPublicKey], blockhash: Blockhash,
        instructions: [CompiledInstruction], to buffer: inout [UInt8]
    ) {
        buffer.append(header.numRequiredSignatures)
        buffer.append(header.numReadonlySignedAccounts)
        buffer.append(header.numReadonlyUnsignedAccounts)
        CompactU16.append(keys.count, to: &buffer)
        for key in keys { key.rawValue.append(to: &buffer) }
        blockhash.rawValue.append(to: &buffer)
        CompactU16.append(instructions.count, to: &buffer)
        for instruction in instructions { instruction.append(to: &buffer) }
    }

    static func readBody(_ reader: inout WireReader) throws(SolanaError)
        -> (MessageHeader, [SolanaPublicKey], Blockhash, [CompiledInstruction])
    {
        let header = MessageHeader(
            numRequiredSignatures: try reader.readByte("the message header"),
            numReadonlySignedAccounts: try reader.readByte("the message header"),
            numReadonlyUnsignedAccounts: try reader.readByte("the message header"))
        let keys = try reader.readKeys()
        let blockhash = Blockhash(rawValue: try reader.readBytes32("the recent blockhash"))
        let count = try reader.readCompactU16()
        // Each instruction takes at least 3 bytes: refuse counts the input cannot hold before allocating.
        guard count * 3 <= reader.remaining else {
            throw SolanaError(.truncated, "\(count) instructions cannot fit in \(reader.remaining) bytes",
                              offset: reader.offset)
        }
        var instructions: [CompiledInstruction] = []
        instructions.reserveCapacity(count)
        for _ in 0..<count {
            let program = try reader.readByte("an instruction")
            let accounts = try reader.readLengthPrefixed("an instruction's account indexes")
            let data = try reader.readLengthPrefixed("an instruction's data")
            instructions.append(CompiledInstruction(programIDIndex: program, accounts: accounts, data: data))
        }
        return (header, keys, blockhash, instructions)
    }

    /// Solana's sanitize rules common to both versions; `loaded` counts accounts from lookup tables.
    static func sanitize(
        header: MessageHeader, staticKeys: Int, loaded: Int, instructions: [CompiledInstruction]
    ) throws(SolanaError) {
        guard Int(header.numRequiredSignatures) + Int(header.numReadonlyUnsignedAccounts) <= staticKeys else {
            throw SolanaError(
                .invalidMessage, "header counts \(header.numRequiredSignatures) signers and "
                    + "\(header.numReadonlyUnsignedAccounts) read-only accounts but the message has \(staticKeys) keys")
        }
        guard header.numReadonlySignedAccounts < header.numRequiredSignatures else {
            throw SolanaError(.invalidMessage, "the message has no writable signer to pay the fee")
        }
        let total = staticKeys + loaded
        guard total <= 256 else {
            throw SolanaError(.tooManyAccounts, "\(total) accounts; a message indexes at most 256")
        }
        for (i, instruction) in instructions.enumerated() {
            let program = Int(instruction.programIDIndex)
            guard program != 0, program < staticKeys else {
                throw SolanaError(
                    .invalidMessage, "instruction \(i) names program index \(program); it must be a static key "
                        + "other than the fee payer", offset: i)
            }
            for account in instruction.accounts where Int(account) >= total {
                throw SolanaError(
                    .invalidMessage, "instruction \(i) names account index \(account) of \(total)", offset: i)
            }
        }
    }
}
