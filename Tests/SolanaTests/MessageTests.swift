import Solana
import Testing
import TestSupport

@Suite("Messages")
struct MessageTests {
    @Test("legacy messages compile byte for byte like solders Message.new_with_blockhash, and decode back")
    func legacy() throws {
        let cases = try Vectors.load("solana_legacy_messages", as: [LegacyMessageCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let message = try LegacyMessage(
                instructions: c.instructions.map { try $0.instruction() },
                payer: c.payer.map(pubkey), recentBlockhash: Blockhash(base58: c.blockhash))
            let expected = [UInt8](hex: c.message)
            let bytes = message.serialized()
            #expect(bytes == expected)
            #expect(message.encodedCount == expected.count)
            if bytes != expected { return }
            // Without a payer there may be no writable signer, or a program at index 0: sanitize refuses those.
            if (try? message.sanitize()) != nil {
                let decoded = try LegacyMessage(wireBytes: expected)
                #expect(decoded == message)
                #expect(try VersionedMessage(wireBytes: expected) == .legacy(message))
            }
        }
    }

    @Test("v0 messages compile byte for byte like solders MessageV0.try_compile with lookup tables")
    func v0() throws {
        let cases = try Vectors.load("solana_v0_messages", as: [V0MessageCase].self)
        #expect(cases.count >= 1000)
        var usedLookups = 0
        for c in cases {
            let result = Result { () throws -> MessageV0 in
                try MessageV0(
                    payer: pubkey(c.payer), instructions: c.instructions.map { try $0.instruction() },
                    addressLookupTables: c.lookup_tables.map { try $0.table() },
                    recentBlockhash: Blockhash(base58: c.blockhash))
            }
            guard let hex = c.message else {
                #expect(throws: SolanaError.self) { try result.get() }
                continue
            }
            let message = try result.get()
            let expected = [UInt8](hex: hex)
            let bytes = message.serialized()
            #expect(bytes == expected)
            #expect(message.encodedCount == expected.count)
            if bytes != expected { return }
            if !message.addressTableLookups.isEmpty { usedLookups += 1 }
            if (try? message.sanitize()) != nil {
                #expect(try MessageV0(wireBytes: expected) == message)
                #expect(try VersionedMessage(wireBytes: expected) == .v0(message))
            }
        }
        #expect(usedLookups > 100)
    }

    @Test("roles merge and order: payer, writable signers, read-only signers, writable, read-only")
    func ordering() throws {
        let keys = (1...6).map { i in SolanaPublicKey(rawValue: try! .init([UInt8](repeating: UInt8(i), count: 32))) }
        let program = keys[5]
        let instruction = SolanaInstruction(programID: program, accounts: [
            .readonly(keys[4]), .readonly(keys[3], signer: true), .writable(keys[2]), .writable(keys[1], signer: true),
            .readonly(keys[2]), .writable(keys[4]),
        ], data: [])
        let message = try LegacyMessage(instructions: [instruction], payer: keys[0], recentBlockhash: .zero)
        #expect(message.accountKeys == [keys[0], keys[1], keys[3], keys[2], keys[4], keys[5]])
        #expect(message.header == MessageHeader(numRequiredSignatures: 3, numReadonlySignedAccounts: 1, numReadonlyUnsignedAccounts: 1))
        #expect(message.instructions[0].accounts == [4, 2, 3, 1, 3, 4])
        #expect(message.instructions[0].programIDIndex == 5)
        #expect((0..<6).map { message.isWritable(index: $0) } == [true, true, false, true, true, false])
    }

    @Test("more than 256 accounts are refused")
    func tooManyAccounts() throws {
        var rng = SeededGenerator(seed: 7)
        let accounts = (0..<300).map { _ in AccountMeta.readonly(SolanaPublicKey(rawValue: try! .init(rng.bytes(32)))) }
        let instruction = SolanaInstruction(programID: .zero, accounts: accounts, data: [])
        #expect { try LegacyMessage(instructions: [instruction], payer: nil, recentBlockhash: .zero) }
            throws: { ($0 as? SolanaError)?.code == .tooManyAccounts }
    }
}
