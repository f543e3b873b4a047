import Solana

/// An SPL Token (or Token-2022) instruction that changes a delegation or moves tokens, decoded from a transaction.
public struct TokenEvent: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// Approve / ApproveChecked: `counterparty` is the delegate, `amount` the delegated amount.
        case approve
        /// Revoke: the delegate is cleared.
        case revoke
        /// Transfer / TransferChecked: `counterparty` is the destination token account.
        case transfer
    }

    public var kind: Kind
    public var program: TokenProgram
    /// The source token account.
    public var source: SolanaPublicKey
    /// Delegate (approve) or destination (transfer); nil for revoke.
    public var counterparty: SolanaPublicKey?
    /// The signing authority: the owner, or for a transfer possibly the delegate.
    public var authority: SolanaPublicKey
    /// The mint, when the instruction names it (the Checked forms) or the transaction's token balances do.
    public var mint: SolanaPublicKey?
    public var amount: UInt64
    /// Decimals, for the Checked forms.
    public var decimals: UInt8?
    public var outerIndex: Int
    public var innerIndex: Int?

    public init(kind: Kind, program: TokenProgram, source: SolanaPublicKey, counterparty: SolanaPublicKey?, authority: SolanaPublicKey,
                mint: SolanaPublicKey?, amount: UInt64, decimals: UInt8?, outerIndex: Int, innerIndex: Int?) {
        self.kind = kind
        self.program = program
        self.source = source
        self.counterparty = counterparty
        self.authority = authority
        self.mint = mint
        self.amount = amount
        self.decimals = decimals
        self.outerIndex = outerIndex
        self.innerIndex = innerIndex
    }
}

extension TokenEvent {
    /// Decodes the token events of a transaction, outer and inner (CPI) instructions alike, in execution order.
    /// A failed transaction has none (it changed nothing). Instructions of other programs, and token instructions
    /// that are not Approve/ApproveChecked/Revoke/Transfer/TransferChecked, are not events. A token instruction
    /// too short for its layout is reported by `malformed` and skipped, never guessed.
    public static func decode(_ transaction: FetchedSolanaTransaction, malformed: (ResolvedInstruction) -> Void = { _ in }) -> [TokenEvent] {
        guard !transaction.failed else { return [] }
        var mints: [SolanaPublicKey: SolanaPublicKey] = [:]
        for entry in transaction.preTokenBalances + transaction.postTokenBalances where entry.accountIndex < transaction.accountKeys.count {
            mints[transaction.accountKeys[entry.accountIndex]] = entry.mint
        }
        var events: [TokenEvent] = []
        for instruction in transaction.instructions {
            guard let program = TokenProgram(programID: instruction.programID), let tag = instruction.data.first else { continue }
            let a = instruction.accounts
            let data = instruction.data
            func amount() -> UInt64? {
                guard data.count >= 9 else { return nil }
                var value: UInt64 = 0
                for i in (1...8).reversed() { value = value << 8 | UInt64(data[i]) }
                return value
            }
            var event: TokenEvent?
            switch tag {
            case 3 where a.count >= 3:  // Transfer: source, destination, authority
                if let amount = amount() {
                    event = TokenEvent(kind: .transfer, program: program, source: a[0], counterparty: a[1], authority: a[2],
                                       mint: mints[a[0]] ?? mints[a[1]], amount: amount, decimals: nil,
                                       outerIndex: instruction.outerIndex, innerIndex: instruction.innerIndex)
                }
            case 12 where a.count >= 4 && data.count >= 10:  // TransferChecked: source, mint, destination, authority
                if let amount = amount() {
                    event = TokenEvent(kind: .transfer, program: program, source: a[0], counterparty: a[2], authority: a[3],
                                       mint: a[1], amount: amount, decimals: data[9],
                                       outerIndex: instruction.outerIndex, innerIndex: instruction.innerIndex)
                }
            case 26 where data.count >= 19 && data[1] == 1 && a.count >= 4:  // TransferCheckedWithFee: source, mint, destination, authority
                var value: UInt64 = 0
                for i in (2...9).reversed() { value = value << 8 | UInt64(data[i]) }
                event = TokenEvent(kind: .transfer, program: program, source: a[0], counterparty: a[2], authority: a[3],
                                   mint: a[1], amount: value, decimals: data[10],
                                   outerIndex: instruction.outerIndex, innerIndex: instruction.innerIndex)
            case 4 where a.count >= 3:  // Approve: source, delegate, owner
                if let amount = amount() {
                    event = TokenEvent(kind: .approve, program: program, source: a[0], counterparty: a[1], authority: a[2],
                                       mint: mints[a[0]], amount: amount, decimals: nil,
                                       outerIndex: instruction.outerIndex, innerIndex: instruction.innerIndex)
                }
            case 13 where a.count >= 4 && data.count >= 10:  // ApproveChecked: source, mint, delegate, owner
                if let amount = amount() {
                    event = TokenEvent(kind: .approve, program: program, source: a[0], counterparty: a[2], authority: a[3],
                                       mint: a[1], amount: amount, decimals: data[9],
                                       outerIndex: instruction.outerIndex, innerIndex: instruction.innerIndex)
                }
            case 5 where a.count >= 2:  // Revoke: source, owner
                event = TokenEvent(kind: .revoke, program: program, source: a[0], counterparty: nil, authority: a[1],
                                   mint: mints[a[0]], amount: 0, decimals: nil,
                                   outerIndex: instruction.outerIndex, innerIndex: instruction.innerIndex)
            case 3, 4, 5, 12, 13:
                malformed(instruction)
            default:
                continue
            }
            if let event { events.append(event) } else if [3, 4, 12, 13].contains(tag) && amount() == nil { malformed(instruction) }
        }
        return events
    }
}
