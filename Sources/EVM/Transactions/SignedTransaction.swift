import SettleCore
import Signing

/// A signed transaction: its body, signature and the raw bytes sent with `eth_sendRawTransaction`.
///
/// Made by `LegacyTransaction.signed(with:)` / `EIP1559Transaction.signed(with:)`, or decoded from raw bytes with
/// `init(raw:)`; `recoverSender()` then tells who signed it.
public struct SignedTransaction: Hashable, Sendable {
    /// The unsigned part.
    public enum Body: Hashable, Sendable {
        /// A legacy (type 0) transaction.
        case legacy(LegacyTransaction)
        /// An EIP-1559 (type 2) transaction.
        case eip1559(EIP1559Transaction)
    }

    /// The unsigned part.
    public let body: Body
    /// The signature over `signingHash`.
    public let signature: RecoverableSignature
    /// The network encoding: `rlp([…])` for legacy, `0x02 ‖ rlp([…])` for EIP-1559.
    public let rawBytes: [UInt8]

    /// Signs `legacy`'s fields with a signature made elsewhere.
    public init(legacy: LegacyTransaction, signature: RecoverableSignature) {
        body = .legacy(legacy)
        self.signature = signature
        rawBytes = legacy.rawBytes(signature: signature)
    }

    /// Signs `eip1559`'s fields with a signature made elsewhere.
    public init(eip1559: EIP1559Transaction, signature: RecoverableSignature) {
        body = .eip1559(eip1559)
        self.signature = signature
        rawBytes = eip1559.rawBytes(signature: signature)
    }

    /// The transaction hash: keccak-256 of `rawBytes`.
    public var hash: Hash32 {
        Hash32(rawBytes.withUnsafeBytes { Keccak256.hash($0) })
    }

    /// The hash that was signed.
    public var signingHash: Hash32 {
        switch body {
        case .legacy(let tx): return tx.signingHash
        case .eip1559(let tx): return tx.signingHash
        }
    }

    /// `v` as encoded: EIP-155 `chainID·2 + 35 + recoveryID` (or 27/28) for legacy, `yParity` for EIP-1559.
    public var v: UInt256 {
        switch body {
        case .legacy(let tx): return tx.v(recoveryID: signature.recoveryID)
        case .eip1559: return UInt256(signature.recoveryID)
        }
    }

    /// The chain id, nil for a legacy transaction without EIP-155 protection.
    public var chainID: UInt64? {
        switch body {
        case .legacy(let tx): return tx.chainID
        case .eip1559(let tx): return tx.chainID
        }
    }

    /// `0x` and the hex of `rawBytes`.
    public var rawHex: String { Hex.encode(rawBytes, prefix: true) }

    /// The address whose key signed the transaction.
    /// - Throws: `EVMError.invalidSignature` when no public key recovers from the signature.
    public func recoverSender() throws(EVMError) -> EVMAddress {
        do {
            let key = try signature.recoverPublicKey(digest: signingHash.bytes32)
            return EVMAddress(publicKey: key)
        } catch {
            throw EVMError(.invalidSignature, error.message)
        }
    }
}
