import Signing
import Solana
import Testing
import TestSupport

@Suite("Transactions")
struct TransactionTests {
    @Test("signed transactions match solders Transaction / VersionedTransaction byte for byte")
    func conformance() throws {
        let cases = try Vectors.load("solana_transactions", as: [TransactionCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let signers = try c.seeds.map { try Ed25519PrivateKey(seed: [UInt8](hex: $0)) }
            let instructions = try c.instructions.map { try $0.instruction() }
            let blockhash = try Blockhash(base58: c.blockhash)
            let message: VersionedMessage
            if c.version == "legacy" {
                message = .legacy(try LegacyMessage(instructions: instructions, payer: pubkey(c.payer), recentBlockhash: blockhash))
            } else {
                message = .v0(try MessageV0(
                    payer: pubkey(c.payer), instructions: instructions,
                    addressLookupTables: c.lookup_tables.map { try $0.table() }, recentBlockhash: blockhash))
            }
            let expected = [UInt8](hex: c.transaction)
            let bytes = try SolanaTransaction.signedWireBytes(message: message, signers: signers)
            #expect(bytes == expected)
            let transaction = try SolanaTransaction(message: message, signers: signers)
            #expect(transaction.serialized() == expected)
            #expect(transaction.encodedCount == expected.count)
            let decoded = try SolanaTransaction(wireBytes: expected)
            #expect(decoded == transaction)
            #expect(decoded.verifySignatures())
            #expect(decoded.id?.description == transaction.signatures[0].description)
        }
    }

    @Test("signers must match the message's required signers")
    func signerMismatch() throws {
        let payer = try Ed25519PrivateKey(seed: [UInt8](repeating: 1, count: 32))
        let other = try Ed25519PrivateKey(seed: [UInt8](repeating: 2, count: 32))
        let message = VersionedMessage.legacy(try LegacyMessage(
            instructions: [ComputeBudgetInstruction.setComputeUnitLimit(1)], payer: SolanaPublicKey(payer.publicKey),
            recentBlockhash: .zero))
        #expect { try SolanaTransaction(message: message, signers: []) }
            throws: { ($0 as? SolanaError)?.code == .signerMismatch }
        #expect { try SolanaTransaction(message: message, signers: [payer, other]) }
            throws: { ($0 as? SolanaError)?.code == .signerMismatch }
        let signed = try SolanaTransaction(message: message, signers: [payer])
        #expect(signed.verifySignatures())
        var tampered = signed
        tampered.signatures[0] = .zero
        #expect(!tampered.verifySignatures())
    }
}
