import SettleCore
import Signing

/// A legacy (type 0) transaction, signed with EIP-155 replay protection when `chainID` is set.
public struct LegacyTransaction: Hashable, Sendable {
    /// The sender's nonce.
    public var nonce: UInt64
    /// Price per unit of gas, in wei.
    public var gasPrice: UInt256
    /// Gas limit.
    public var gasLimit: UInt64
    /// The recipient; nil creates a contract.
    public var to: EVMAddress?
    /// Wei transferred.
    public var value: UInt256
    /// Calldata (or init code).
    public var data: [UInt8]
    /// The EIP-155 chain id; nil signs without replay protection (`v` = 27 or 28).
    public var chainID: UInt64?

    /// Creates a transaction.
    public init(nonce: UInt64, gasPrice: UInt256, gasLimit: UInt64, to: EVMAddress?, value: UInt256 = .zero,
                data: [UInt8] = [], chainID: UInt64?) {
        self.nonce = nonce
        self.gasPrice = gasPrice
        self.gasLimit = gasLimit
        self.to = to
        self.value = value
        self.data = data
        self.chainID = chainID
    }

    /// Length of the six common fields.
    private var fieldsLength: Int {
        RLPWriter.uintLength(nonce) + RLPWriter.uintLength(gasPrice) + RLPWriter.uintLength(gasLimit)
            + RLPWriter.addressLength(to) + RLPWriter.uintLength(value) + RLPWriter.stringLength(data)
    }

    private func writeFields(_ writer: inout RLPWriter) {
        writer.uint(nonce)
        writer.uint(gasPrice)
        writer.uint(gasLimit)
        writer.address(to)
        writer.uint(value)
        writer.string(data)
    }

    /// Length of the signing payload's trailing fields: `chainID, 0, 0` under EIP-155, none before it.
    private var signingTailLength: Int {
        chainID.map { RLPWriter.uintLength($0) + 2 } ?? 0
    }

    private func writeSigningTail(_ writer: inout RLPWriter) {
        guard let chainID else { return }
        writer.uint(chainID)
        writer.byte(0x80)
        writer.byte(0x80)
    }

    /// The bytes whose keccak-256 is signed: `rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])`
    /// (the last three only under EIP-155).
    public var signingPayload: [UInt8] {
        let payload = fieldsLength + signingTailLength
        return RLPWriter.encode(count: RLPWriter.headerLength(payload: payload) + payload) { writer in
            writer.listHeader(payload: payload)
            writeFields(&writer)
            writeSigningTail(&writer)
        }
    }

    /// Keccak-256 of `signingPayload`, computed without allocating.
    public var signingHash: Hash32 {
        let payload = fieldsLength + signingTailLength
        return Hash32(RLPWriter.hashEncoding(count: RLPWriter.headerLength(payload: payload) + payload) { writer in
            writer.listHeader(payload: payload)
            writeFields(&writer)
            writeSigningTail(&writer)
        })
    }

    /// The `v` of a signature with `recoveryID`: `chainID·2 + 35 + recoveryID`, or `27 + recoveryID`.
    public func v(recoveryID: UInt8) -> UInt256 {
        guard let chainID else { return UInt256(UInt64(27 + recoveryID)) }
        return UInt256(UInt128(chainID) * 2 + 35 + UInt128(recoveryID))
    }

    /// Signs the transaction (RFC 6979, low-s).
    public func signed(with key: Secp256k1PrivateKey) -> SignedTransaction {
        let signature = key.signRecoverable(digest: signingHash.bytes32)
        return SignedTransaction(legacy: self, signature: signature)
    }

    /// `rlp([nonce, gasPrice, gas, to, value, data, v, r, s])`.
    func rawBytes(signature: RecoverableSignature) -> [UInt8] {
        let v = v(recoveryID: signature.recoveryID)
        let r = UInt256(bytes32: signature.r)
        let s = UInt256(bytes32: signature.s)
        let payload = fieldsLength + RLPWriter.uintLength(v) + RLPWriter.uintLength(r) + RLPWriter.uintLength(s)
        return RLPWriter.encode(count: RLPWriter.headerLength(payload: payload) + payload) { writer in
            writer.listHeader(payload: payload)
            writeFields(&writer)
            writer.uint(v)
            writer.uint(r)
            writer.uint(s)
        }
    }
}
