import SettleCore
import Signing

/// An EIP-1559 (type 2) transaction: priority fee and fee cap instead of a gas price, optional access list.
public struct EIP1559Transaction: Hashable, Sendable {
    /// The EIP-155 chain id.
    public var chainID: UInt64
    /// The sender's nonce.
    public var nonce: UInt64
    /// Tip per unit of gas, in wei.
    public var maxPriorityFeePerGas: UInt256
    /// Cap on base fee plus tip per unit of gas, in wei.
    public var maxFeePerGas: UInt256
    /// Gas limit.
    public var gasLimit: UInt64
    /// The recipient; nil creates a contract.
    public var to: EVMAddress?
    /// Wei transferred.
    public var value: UInt256
    /// Calldata (or init code).
    public var data: [UInt8]
    /// EIP-2930 access list.
    public var accessList: [AccessListEntry]

    /// The type byte that prefixes the payload.
    public static let typeByte: UInt8 = 0x02

    /// Creates a transaction.
    public init(chainID: UInt64, nonce: UInt64, maxPriorityFeePerGas: UInt256, maxFeePerGas: UInt256,
                gasLimit: UInt64, to: EVMAddress?, value: UInt256 = .zero, data: [UInt8] = [],
                accessList: [AccessListEntry] = []) {
        self.chainID = chainID
        self.nonce = nonce
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.maxFeePerGas = maxFeePerGas
        self.gasLimit = gasLimit
        self.to = to
        self.value = value
        self.data = data
        self.accessList = accessList
    }

    /// Length of the nine unsigned fields.
    private var fieldsLength: Int {
        RLPWriter.uintLength(chainID) + RLPWriter.uintLength(nonce) + RLPWriter.uintLength(maxPriorityFeePerGas)
            + RLPWriter.uintLength(maxFeePerGas) + RLPWriter.uintLength(gasLimit) + RLPWriter.addressLength(to)
            + RLPWriter.uintLength(value) + RLPWriter.stringLength(data) + RLPWriter.accessListLength(accessList)
    }

    private func writeFields(_ writer: inout RLPWriter) {
        writer.uint(chainID)
        writer.uint(nonce)
        writer.uint(maxPriorityFeePerGas)
        writer.uint(maxFeePerGas)
        writer.uint(gasLimit)
        writer.address(to)
        writer.uint(value)
        writer.string(data)
        writer.accessList(accessList)
    }

    /// The bytes whose keccak-256 is signed: `0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas,
    /// gas, to, value, data, accessList])`.
    public var signingPayload: [UInt8] {
        let payload = fieldsLength
        return RLPWriter.encode(count: 1 + RLPWriter.headerLength(payload: payload) + payload) { writer in
            writer.byte(Self.typeByte)
            writer.listHeader(payload: payload)
            writeFields(&writer)
        }
    }

    /// Keccak-256 of `signingPayload`, computed without allocating.
    public var signingHash: Hash32 {
        let payload = fieldsLength
        return Hash32(RLPWriter.hashEncoding(count: 1 + RLPWriter.headerLength(payload: payload) + payload) {
            writer in
            writer.byte(Self.typeByte)
            writer.listHeader(payload: payload)
            writeFields(&writer)
        })
    }

    /// Signs the transaction (RFC 6979, low-s).
    public func signed(with key: Secp256k1PrivateKey) -> SignedTransaction {
        let signature = key.signRecoverable(digest: signingHash.bytes32)
        return SignedTransaction(eip1559: self, signature: signature)
    }

    /// `0x02 ‖ rlp([…fields, yParity, r, s])`.
    func rawBytes(signature: RecoverableSignature) -> [UInt8] {
        let r = UInt256(bytes32: signature.r)
        let s = UInt256(bytes32: signature.s)
        let payload = fieldsLength + RLPWriter.uintLength(UInt64(signature.recoveryID)) + RLPWriter.uintLength(r)
            + RLPWriter.uintLength(s)
        return RLPWriter.encode(count: 1 + RLPWriter.headerLength(payload: payload) + payload) { writer in
            writer.byte(Self.typeByte)
            writer.listHeader(payload: payload)
            writeFields(&writer)
            writer.uint(UInt64(signature.recoveryID))
            writer.uint(r)
            writer.uint(s)
        }
    }
}
