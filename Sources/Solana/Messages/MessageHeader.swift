/// The three counts at the front of a message that tell signers and read-only accounts apart.
///
/// Account keys come in four runs: writable signers, read-only signers, writable non-signers, read-only
/// non-signers. The first `numRequiredSignatures` keys sign; the last `numReadonlySignedAccounts` of those are
/// read-only; the last `numReadonlyUnsignedAccounts` static keys are read-only.
public struct MessageHeader: Hashable, Sendable {
    /// How many signatures the transaction must carry (the first keys).
    public var numRequiredSignatures: UInt8
    /// How many of the signing keys are read-only.
    public var numReadonlySignedAccounts: UInt8
    /// How many of the non-signing static keys are read-only.
    public var numReadonlyUnsignedAccounts: UInt8

    /// Creates a header.
    @inlinable
    public init(numRequiredSignatures: UInt8, numReadonlySignedAccounts: UInt8, numReadonlyUnsignedAccounts: UInt8) {
        self.numRequiredSignatures = numRequiredSignatures
        self.numReadonlySignedAccounts = numReadonlySignedAccounts
        self.numReadonlyUnsignedAccounts = numReadonlyUnsignedAccounts
    }
}
