import SettleCore
import Signing

extension SignedTransaction {
    /// Decodes raw transaction bytes (legacy or EIP-1559), canonically and completely.
    ///
    /// The re-encoding of the result equals the input byte for byte (RLP is canonical, integers minimal).
    /// - Throws: `EVMError` RLP codes for malformed encodings, `.rlpUnexpectedShape` for wrong field counts or
    ///   kinds, `.unsupportedTransactionType` for other typed envelopes, `.invalidTransaction` for a legacy `v`
    ///   that names no chain, `.invalidSignature` for `r`/`s` out of range, high `s` (EIP-2) or a bad `yParity`.
    public init<Bytes: Collection>(raw: Bytes) throws(EVMError) where Bytes.Element == UInt8 {
        let bytes = Array(raw)
        guard let first = bytes.first else {
            throw EVMError(.rlpTruncated, "empty raw transaction", offset: 0)
        }
        switch first {
        case 0xc0...0xff:
            try self.init(legacyFields: try RLPItem(decoding: bytes).listValue(field: "transaction"))
        case EIP1559Transaction.typeByte:
            try self.init(eip1559Fields: try RLPItem(decoding: bytes.dropFirst()).listValue(field: "transaction"))
        case 0x00...0x7f:
            throw EVMError(.unsupportedTransactionType, "transaction type \(first) is not supported", offset: 0)
        default:
            throw EVMError(.rlpUnexpectedShape, "a raw transaction is a list or a typed envelope", offset: 0)
        }
    }

    /// Decodes raw transaction hex (`0x` optional).
    public init(rawHex: some StringProtocol) throws(EVMError) {
        try self.init(raw: try decodeHex(rawHex))
    }

    /// Recovers the sender of raw transaction bytes: decode, then recover.
    public static func recoverSender<Bytes: Collection>(raw: Bytes) throws(EVMError) -> EVMAddress
    where Bytes.Element == UInt8 {
        try SignedTransaction(raw: raw).recoverSender()
    }

    private init(legacyFields fields: [RLPItem]) throws(EVMError) {
        guard fields.count == 9 else {
            throw EVMError(.rlpUnexpectedShape, "a legacy transaction has 9 fields, got \(fields.count)")
        }
        let v = try fields[6].uint256Value(field: "v")
        let chainID: UInt64?
        let recoveryID: UInt8
        if v == UInt256(UInt64(27)) || v == UInt256(UInt64(28)) {
            chainID = nil
            recoveryID = v == UInt256(UInt64(27)) ? 0 : 1
        } else if v >= UInt256(UInt64(35)) {
            let (quotient, remainder) = (v - UInt256(UInt64(35))).quotientAndRemainder(dividingBy: 2 as UInt64)
            guard let id = quotient.exactUInt64 else {
                throw EVMError(.invalidTransaction, "EIP-155 chain id exceeds 64 bits")
            }
            chainID = id
            recoveryID = UInt8(remainder)
        } else {
            throw EVMError(.invalidTransaction, "legacy v \(v) is neither 27/28 nor EIP-155")
        }
        let tx = LegacyTransaction(
            nonce: try fields[0].uint64Value(field: "nonce"),
            gasPrice: try fields[1].uint256Value(field: "gasPrice"),
            gasLimit: try fields[2].uint64Value(field: "gas"),
            to: try Self.recipient(fields[3]),
            value: try fields[4].uint256Value(field: "value"),
            data: try fields[5].bytesValue(field: "data"),
            chainID: chainID)
        let signature = try Self.signature(r: fields[7], s: fields[8], recoveryID: recoveryID)
        self.init(legacy: tx, signature: signature)
    }

    private init(eip1559Fields fields: [RLPItem]) throws(EVMError) {
        guard fields.count == 12 else {
            throw EVMError(.rlpUnexpectedShape, "an EIP-1559 transaction has 12 fields, got \(fields.count)")
        }
        let yParity = try fields[9].uint256Value(field: "yParity")
        guard let recoveryID = yParity.exactUInt64, recoveryID <= 1 else {
            throw EVMError(.invalidSignature, "yParity must be 0 or 1")
        }
        let tx = EIP1559Transaction(
            chainID: try fields[0].uint64Value(field: "chainId"),
            nonce: try fields[1].uint64Value(field: "nonce"),
            maxPriorityFeePerGas: try fields[2].uint256Value(field: "maxPriorityFeePerGas"),
            maxFeePerGas: try fields[3].uint256Value(field: "maxFeePerGas"),
            gasLimit: try fields[4].uint64Value(field: "gas"),
            to: try Self.recipient(fields[5]),
            value: try fields[6].uint256Value(field: "value"),
            data: try fields[7].bytesValue(field: "data"),
            accessList: try Self.accessList(fields[8]))
        let signature = try Self.signature(r: fields[10], s: fields[11], recoveryID: UInt8(recoveryID))
        self.init(eip1559: tx, signature: signature)
    }

    private static func recipient(_ item: RLPItem) throws(EVMError) -> EVMAddress? {
        let bytes = try item.bytesValue(field: "to")
        if bytes.isEmpty { return nil }
        guard bytes.count == 20 else {
            throw EVMError(.rlpUnexpectedShape, "to is \(bytes.count) bytes, expected 20 or none")
        }
        return try EVMAddress(bytes: bytes)
    }

    private static func accessList(_ item: RLPItem) throws(EVMError) -> [AccessListEntry] {
        var entries: [AccessListEntry] = []
        for entry in try item.listValue(field: "accessList") {
            let parts = try entry.listValue(field: "access list entry")
            guard parts.count == 2 else {
                throw EVMError(.rlpUnexpectedShape, "an access list entry has 2 fields, got \(parts.count)")
            }
            let addressBytes = try parts[0].bytesValue(field: "access list address")
            guard addressBytes.count == 20 else {
                throw EVMError(.rlpUnexpectedShape, "access list address is \(addressBytes.count) bytes")
            }
            var keys: [Hash32] = []
            for key in try parts[1].listValue(field: "storage keys") {
                let keyBytes = try key.bytesValue(field: "storage key")
                guard keyBytes.count == 32 else {
                    throw EVMError(.rlpUnexpectedShape, "storage key is \(keyBytes.count) bytes, expected 32")
                }
                keys.append(try Hash32(bytes: keyBytes))
            }
            entries.append(AccessListEntry(address: try EVMAddress(bytes: addressBytes), storageKeys: keys))
        }
        return entries
    }

    private static func signature(r rItem: RLPItem, s sItem: RLPItem, recoveryID: UInt8)
        throws(EVMError) -> RecoverableSignature
    {
        let r = try rItem.uint256Value(field: "r")
        let s = try sItem.uint256Value(field: "s")
        let signature: RecoverableSignature
        do {
            signature = try RecoverableSignature(r: r.bytes32, s: s.bytes32, recoveryID: recoveryID)
        } catch {
            throw EVMError(.invalidSignature, error.message)
        }
        guard signature.isLowS else {
            throw EVMError(.invalidSignature, "s is in the upper half of the curve order (EIP-2)")
        }
        return signature
    }
}
