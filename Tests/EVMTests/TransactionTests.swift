import EVM
import SettleCore
import Signing
import Testing
import TestSupport

@Suite("Transactions")
struct TransactionTests {
    /// The signed transaction of the EIP-155 specification's example.
    static let eip155Raw =
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a0"
        + "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a0"
        + "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"

    @Test("EIP-155 published example")
    func eip155Example() throws {
        let key = try Secp256k1PrivateKey(bytes: [UInt8](repeating: 0x46, count: 32))
        let tx = LegacyTransaction(
            nonce: 9, gasPrice: UInt256(20_000_000_000 as UInt64), gasLimit: 21000,
            to: try EVMAddress(bytes: [UInt8](repeating: 0x35, count: 20)),
            value: UInt256(1_000_000_000_000_000_000 as UInt64), chainID: 1)
        #expect(tx.signingPayload.hex
            == "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080")
        #expect(tx.signingHash.description == "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53")
        let signed = tx.signed(with: key)
        #expect(signed.rawBytes.hex == Self.eip155Raw)
        #expect(signed.v == UInt256(37 as UInt64))
        let decoded = try SignedTransaction(raw: signed.rawBytes)
        #expect(decoded == signed)
        #expect(try decoded.recoverSender() == EVMAddress(publicKey: key.publicKey))
    }

    @Test("legacy transactions match eth-account on 1,000 random cases")
    func legacyConformance() throws {
        let vectors = try Vectors.load("evm_legacy_tx", as: [TransactionVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let tx = LegacyTransaction(
                nonce: try UInt256(decimal: vector.nonce).exactUInt64!,
                gasPrice: try UInt256(decimal: vector.gasPrice!),
                gasLimit: try UInt256(decimal: vector.gas).exactUInt64!,
                to: try vector.to.map { try EVMAddress(hex: $0) },
                value: try UInt256(decimal: vector.value),
                data: [UInt8](hex: vector.data),
                chainID: try vector.chainId.map { try UInt256(decimal: $0).exactUInt64! })
            try check(vector, signingHash: tx.signingHash) { key in tx.signed(with: key) }
            #expect(try SignedTransaction(raw: [UInt8](hex: vector.raw)).body == .legacy(tx))
        }
    }

    @Test("EIP-1559 transactions match eth-account on 1,000 random cases")
    func eip1559Conformance() throws {
        let vectors = try Vectors.load("evm_eip1559_tx", as: [TransactionVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let accessList = try (vector.accessList ?? []).map { entry in
                AccessListEntry(address: try EVMAddress(hex: entry.address),
                                storageKeys: try entry.storageKeys.map { try Hash32(hex: $0) })
            }
            let tx = EIP1559Transaction(
                chainID: try UInt256(decimal: vector.chainId!).exactUInt64!,
                nonce: try UInt256(decimal: vector.nonce).exactUInt64!,
                maxPriorityFeePerGas: try UInt256(decimal: vector.maxPriorityFeePerGas!),
                maxFeePerGas: try UInt256(decimal: vector.maxFeePerGas!),
                gasLimit: try UInt256(decimal: vector.gas).exactUInt64!,
                to: try vector.to.map { try EVMAddress(hex: $0) },
                value: try UInt256(decimal: vector.value),
                data: [UInt8](hex: vector.data),
                accessList: accessList)
            try check(vector, signingHash: tx.signingHash) { key in tx.signed(with: key) }
            #expect(try SignedTransaction(raw: [UInt8](hex: vector.raw)).body == .eip1559(tx))
        }
    }

    private func check(_ vector: TransactionVector, signingHash: Hash32,
                       sign: (Secp256k1PrivateKey) -> SignedTransaction) throws {
        #expect(signingHash.bytes32.hex == vector.signingHash)
        let key = try Secp256k1PrivateKey(bytes: [UInt8](hex: vector.key))
        let signed = sign(key)
        #expect(signed.signingHash == signingHash)
        #expect(signed.rawBytes.hex == vector.raw)
        #expect(signed.hash.bytes32.hex == vector.hash)
        #expect(signed.v.description == vector.v)
        #expect(try UInt256(bigEndian: signed.signature.r.bytes) == UInt256(decimal: vector.r))
        #expect(try UInt256(bigEndian: signed.signature.s.bytes) == UInt256(decimal: vector.s))
        let sender = try EVMAddress(hex: vector.sender)
        #expect(EVMAddress(publicKey: key.publicKey) == sender)
        // Sender recovery from the raw bytes alone.
        let raw = [UInt8](hex: vector.raw)
        let decoded = try SignedTransaction(raw: raw)
        #expect(decoded.rawBytes == raw)
        #expect(decoded.signature == signed.signature)
        #expect(try decoded.recoverSender() == sender)
        #expect(try SignedTransaction.recoverSender(raw: raw) == sender)
        #expect(try SignedTransaction(rawHex: "0x" + vector.raw) == decoded)
    }

    // MARK: Bad input

    /// A valid signed EIP-1559 transfer to mutate.
    static func sampleEIP1559() throws -> SignedTransaction {
        let key = try Secp256k1PrivateKey(bytes: [UInt8](repeating: 0x11, count: 32))
        let tx = EIP1559Transaction(
            chainID: 1, nonce: 7, maxPriorityFeePerGas: UInt256(1_000_000_000 as UInt64),
            maxFeePerGas: UInt256(50_000_000_000 as UInt64), gasLimit: 65_000,
            to: try EVMAddress(bytes: [UInt8](repeating: 0xaa, count: 20)),
            data: ERC20.transfer(to: try EVMAddress(bytes: [UInt8](repeating: 0xbb, count: 20)), amount: .max))
        return tx.signed(with: key)
    }

    /// Re-encodes `fields` as an EIP-1559 envelope.
    private func envelope(_ fields: [RLPItem]) -> [UInt8] {
        [0x02] + RLPItem.list(fields).encoded()
    }

    private func expect(_ code: EVMError.Code, _ raw: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try SignedTransaction.recoverSender(raw: raw) } throws: { error in
            guard let error = error as? EVMError else { return false }
            if error.code != code { Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation) }
            return error.code == code
        }
    }

    @Test("raw transaction decoding rejects malformed input with precise codes")
    func malformed() throws {
        let signed = try Self.sampleEIP1559()
        let raw = signed.rawBytes
        let fields = try RLPItem(decoding: raw.dropFirst()).listValue()

        expect(.rlpTruncated, [])
        expect(.rlpTruncated, [0x02])
        expect(.rlpTruncated, Array(raw.dropLast()))
        expect(.rlpTrailingBytes, raw + [0x00])
        expect(.unsupportedTransactionType, [0x01] + Array(raw.dropFirst()))
        expect(.unsupportedTransactionType, [0x03] + Array(raw.dropFirst()))
        expect(.rlpUnexpectedShape, [0x80])
        expect(.rlpUnexpectedShape, envelope(Array(fields.dropLast())))             // 11 fields
        expect(.rlpUnexpectedShape, [0x02, 0x80])                                   // not a list

        var bad = fields
        bad[9] = .uint(2 as UInt64)                                                 // yParity 2
        expect(.invalidSignature, envelope(bad))
        bad = fields
        bad[10] = .uint(0 as UInt64)                                                // r = 0
        expect(.invalidSignature, envelope(bad))
        bad = fields
        bad[11] = .uint(RecoverableSignature.order - UInt256.one)                   // high s
        expect(.invalidSignature, envelope(bad))
        bad = fields
        bad[1] = .bytes([0x00, 0x07])                                               // nonce with leading zero
        expect(.rlpNonCanonical, envelope(bad))
        bad = fields
        bad[1] = .bytes([UInt8](repeating: 1, count: 9))                            // nonce > 64 bits
        expect(.rlpUnexpectedShape, envelope(bad))
        bad = fields
        bad[5] = .bytes([UInt8](repeating: 1, count: 19))                           // 19-byte recipient
        expect(.rlpUnexpectedShape, envelope(bad))
        bad = fields
        bad[7] = .list([])                                                          // data as a list
        expect(.rlpUnexpectedShape, envelope(bad))
        bad = fields
        bad[8] = .list([.list([.bytes([UInt8](repeating: 1, count: 20)), .list([.bytes([1])])])])  // 1-byte key
        expect(.rlpUnexpectedShape, envelope(bad))

        // Legacy: v that names no chain, and a chain id past 64 bits.
        let legacy = try RLPItem(decoding: [UInt8](hex: Self.eip155Raw)).listValue()
        var badLegacy = legacy
        badLegacy[6] = .uint(30 as UInt64)
        expect(.invalidTransaction, RLPItem.list(badLegacy).encoded())
        badLegacy[6] = .uint(UInt256.max)
        expect(.invalidTransaction, RLPItem.list(badLegacy).encoded())
        expect(.rlpUnexpectedShape, RLPItem.list(Array(legacy.prefix(8))).encoded())
        #expect { try SignedTransaction(rawHex: "0xzz") } throws: { ($0 as? EVMError)?.code == .invalidHex }
    }

    @Test("a tampered field recovers a different sender, not the signer")
    func tampered() throws {
        let signed = try Self.sampleEIP1559()
        var fields = try RLPItem(decoding: signed.rawBytes.dropFirst()).listValue()
        fields[1] = .uint(8 as UInt64)
        let other = try SignedTransaction(raw: envelope(fields))
        #expect(try other.recoverSender() != signed.recoverSender())
    }

    @Test("contract creation and pre-EIP-155 round-trip")
    func creationAndUnprotected() throws {
        let key = try Secp256k1PrivateKey(bytes: [UInt8](repeating: 0x22, count: 32))
        let tx = LegacyTransaction(nonce: 0, gasPrice: .one, gasLimit: 100_000, to: nil, data: [0x60, 0x00],
                                   chainID: nil)
        let signed = tx.signed(with: key)
        #expect(signed.v == UInt256(27 as UInt64) || signed.v == UInt256(28 as UInt64))
        let decoded = try SignedTransaction(raw: signed.rawBytes)
        #expect(decoded.chainID == nil)
        #expect(try decoded.recoverSender() == EVMAddress(publicKey: key.publicKey))
    }
}
