import Signing
import Solana
import Testing
import TestSupport

/// Specific error codes for malformed, truncated and non-canonical input.
@Suite("Malformed input")
struct MalformedInputTests {
    private func expectCode(_ code: SolanaError.Code, _ body: () throws -> Void,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            try body()
        } throws: { error in
            (error as? SolanaError)?.code == code
        }
    }

    /// A valid signed legacy transaction: payer, one other account, two programs.
    private func sampleTransaction(v0: Bool = false) throws -> (bytes: [UInt8], message: [UInt8]) {
        let payer = try Ed25519PrivateKey(seed: [UInt8](repeating: 9, count: 32))
        let owner = SolanaPublicKey(payer.publicKey)
        let mint = try SolanaPublicKey(bytes: [UInt8](repeating: 3, count: 32))
        let instructions = [
            ComputeBudgetInstruction.setComputeUnitPrice(microLamports: 5),
            TokenInstruction.transferChecked(source: mint, mint: .zero, destination: .computeBudgetProgram, owner: owner,
                                             amount: 1, decimals: 6),
        ]
        let message: VersionedMessage = v0
            ? .v0(try MessageV0(payer: owner, instructions: instructions, addressLookupTables: [
                AddressLookupTableAccount(key: .associatedTokenProgram, addresses: [mint, .zero])],
                recentBlockhash: .zero))
            : .legacy(try LegacyMessage(instructions: instructions, payer: owner, recentBlockhash: .zero))
        return (try SolanaTransaction.signedWireBytes(message: message, signers: [payer]), message.serialized())
    }

    @Test("public keys: wrong lengths and characters")
    func publicKeys() {
        expectCode(.invalidLength) { _ = try SolanaPublicKey(base58: "") }
        expectCode(.invalidLength) { _ = try SolanaPublicKey(base58: "1111111111111111111111111111111") }  // 31 zero bytes
        expectCode(.invalidLength) { _ = try SolanaPublicKey(base58: String(repeating: "z", count: 45)) }
        expectCode(.invalidLength) { _ = try SolanaPublicKey(base58: Base58.encode([UInt8](repeating: 0xff, count: 33))) }
        expectCode(.invalidLength) { _ = try SolanaPublicKey(bytes: [UInt8](repeating: 1, count: 33)) }
        expectCode(.invalidBase58Character) { _ = try SolanaPublicKey(base58: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D0") }
        expectCode(.invalidLength) { _ = try SolanaSignature(base58: "1111") }
        expectCode(.invalidLength) { _ = try Blockhash(bytes: [1, 2, 3]) }
    }

    @Test("public keys: base58 round trip and description")
    func publicKeyRoundTrip() throws {
        let key = try SolanaPublicKey(base58: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
        #expect(key == .tokenProgram)
        #expect("\(key)" == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
        #expect(SolanaPublicKey.zero < key)
    }

    @Test("transactions: every truncation is refused as truncated")
    func truncatedTransactions() throws {
        for v0 in [false, true] {
            let (bytes, _) = try sampleTransaction(v0: v0)
            _ = try SolanaTransaction(wireBytes: bytes)
            for length in 0..<bytes.count {
                expectCode(.truncated) { _ = try SolanaTransaction(wireBytes: Array(bytes.prefix(length))) }
            }
        }
    }

    @Test("messages: every truncation is refused as truncated")
    func truncatedMessages() throws {
        for v0 in [false, true] {
            let (_, message) = try sampleTransaction(v0: v0)
            _ = try VersionedMessage(wireBytes: message)
            for length in 1..<message.count {
                expectCode(.truncated) { _ = try VersionedMessage(wireBytes: Array(message.prefix(length))) }
            }
        }
        expectCode(.truncated) { _ = try VersionedMessage(wireBytes: []) }
    }

    @Test("trailing bytes are refused")
    func trailing() throws {
        let (bytes, message) = try sampleTransaction()
        expectCode(.trailingBytes) { _ = try SolanaTransaction(wireBytes: bytes + [0]) }
        expectCode(.trailingBytes) { _ = try LegacyMessage(wireBytes: message + [0]) }
        let (_, messageV0) = try sampleTransaction(v0: true)
        expectCode(.trailingBytes) { _ = try MessageV0(wireBytes: messageV0 + [0, 0]) }
    }

    @Test("versions: only legacy and v0")
    func versions() throws {
        let (_, legacy) = try sampleTransaction()
        let (_, v0) = try sampleTransaction(v0: true)
        var v1 = v0
        v1[0] = 0x81
        expectCode(.unsupportedVersion) { _ = try VersionedMessage(wireBytes: v1) }
        expectCode(.unsupportedVersion) { _ = try MessageV0(wireBytes: legacy) }
        expectCode(.unsupportedVersion) { _ = try LegacyMessage(wireBytes: v0) }
    }

    @Test("non-canonical compact-u16 inside a transaction is refused")
    func nonCanonicalLength() throws {
        let (bytes, _) = try sampleTransaction()
        #expect(bytes[0] == 1)
        // Signature count 1 written as 0x81 0x00.
        expectCode(.nonCanonicalCompactU16) { _ = try SolanaTransaction(wireBytes: [0x81, 0x00] + bytes.dropFirst()) }
    }

    @Test("signature count must match the header")
    func signatureCount() throws {
        let (_, message) = try sampleTransaction()
        let zeros = [UInt8](repeating: 0, count: 64)
        expectCode(.signatureCountMismatch) { _ = try SolanaTransaction(wireBytes: [2] + zeros + zeros + message) }
        expectCode(.signatureCountMismatch) { _ = try SolanaTransaction(wireBytes: [0] + message) }
    }

    @Test("sanitize: header, program and account indexes")
    func sanitize() throws {
        let (_, message) = try sampleTransaction()
        // Layout: header (3), key count at 3, keys (5 × 32), blockhash, instruction count, instructions.
        let keyCount = Int(message[3])
        let instructionsStart = 4 + 32 * keyCount + 32 + 1
        var noWritableSigner = message
        noWritableSigner[1] = 1
        expectCode(.invalidMessage) { _ = try LegacyMessage(wireBytes: noWritableSigner) }
        var tooManySigners = message
        tooManySigners[0] = UInt8(keyCount + 1)
        expectCode(.invalidMessage) { _ = try LegacyMessage(wireBytes: tooManySigners) }
        var payerAsProgram = message
        payerAsProgram[instructionsStart] = 0
        expectCode(.invalidMessage) { _ = try LegacyMessage(wireBytes: payerAsProgram) }
        var programOutOfRange = message
        programOutOfRange[instructionsStart] = UInt8(keyCount)
        expectCode(.invalidMessage) { _ = try LegacyMessage(wireBytes: programOutOfRange) }
        var accountOutOfRange = message
        // First instruction (compute budget) has no accounts; the second's first account index follows its
        // program index, account count, the first's 10 data bytes and their length.
        let second = instructionsStart + 1 + 1 + 1 + 9
        #expect(message[second + 1] == 4)
        accountOutOfRange[second + 2] = UInt8(keyCount)
        expectCode(.invalidMessage) { _ = try LegacyMessage(wireBytes: accountOutOfRange) }
    }

    @Test("v0: empty lookups are refused")
    func emptyLookup() throws {
        let (_, message) = try sampleTransaction(v0: true)
        let decoded = try MessageV0(wireBytes: message)
        #expect(decoded.addressTableLookups.count == 1)
        var empty = decoded
        empty.addressTableLookups[0] = MessageAddressTableLookup(accountKey: .zero, writableIndexes: [], readonlyIndexes: [])
        expectCode(.invalidMessage) { _ = try MessageV0(wireBytes: empty.serialized()) }
    }

    @Test("seeds over the limits are refused")
    func seeds() {
        expectCode(.maxSeedLengthExceeded) {
            _ = try SolanaPublicKey.createProgramAddress(seeds: [[UInt8](repeating: 0, count: 33)], programID: .zero)
        }
        expectCode(.maxSeedLengthExceeded) {
            _ = try SolanaPublicKey.createProgramAddress(seeds: Array(repeating: [], count: 17), programID: .zero)
        }
    }
}
