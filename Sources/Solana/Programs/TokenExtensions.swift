/// The Token-2022 extensions of a mint or token account: the type-length-value entries after the base layout
/// (82 bytes of mint padded to 165, or 165 bytes of account) and the account-type byte at offset 165. Plain SPL
/// Token accounts and mints have none. Decoding is strict: an entry running past the data is an error, never a trap.
public struct TokenExtensions: Hashable, Sendable {
    /// Extension type numbers (Token-2022's `ExtensionType`) that Settle acts on.
    public enum Kind: UInt16, Hashable, Sendable {
        case transferFeeConfig = 1
        case transferFeeAmount = 2
        case defaultAccountState = 6
        case immutableOwner = 7
        case memoTransfer = 8
        case nonTransferable = 9
        case permanentDelegate = 12
        case nonTransferableAccount = 13
        case transferHook = 14
        case transferHookAccount = 15
    }

    /// Entry values by type number (types Settle does not know are kept by number).
    public var entries: [UInt16: [UInt8]]

    /// No extensions.
    public static let none = TokenExtensions(entries: [:])

    public init(entries: [UInt16: [UInt8]]) { self.entries = entries }

    /// Parses a mint's (`accountType` 1) or a token account's (`accountType` 2) data.
    /// - Throws: `SolanaError` `.invalidAccountType`, `.truncated`.
    public init(data: [UInt8], accountType: UInt8) throws(SolanaError) {
        let base = accountType == 1 ? 82 : 165
        guard data.count > base else { self = .none; return }
        guard data.count > 165 else { throw SolanaError(.truncated, "extension data ends before the account type byte", offset: data.count) }
        guard data[165] == accountType else {
            throw SolanaError(.invalidAccountType, "account type \(data[165]) is not \(accountType)", offset: 165)
        }
        var entries: [UInt16: [UInt8]] = [:]
        var at = 166
        while at + 4 <= data.count {
            let type = UInt16(data[at]) | UInt16(data[at + 1]) << 8
            let length = Int(UInt16(data[at + 2]) | UInt16(data[at + 3]) << 8)
            if type == 0 && length == 0 { break }  // Uninitialized: the rest is padding
            guard at + 4 + length <= data.count else {
                throw SolanaError(.truncated, "extension \(type) of \(length) bytes runs past the data", offset: at)
            }
            entries[type] = Array(data[(at + 4)..<(at + 4 + length)])
            at += 4 + length
        }
        self.entries = entries
    }

    public func has(_ kind: Kind) -> Bool { entries[kind.rawValue] != nil }

    /// MemoTransfer: incoming transfers must be preceded by a memo.
    public var requiresIncomingMemo: Bool { entries[Kind.memoTransfer.rawValue]?.first == 1 }

    /// TransferHook: the hook program, when one is set (32 bytes of authority, then 32 of program id; zero = none).
    public var transferHookProgram: SolanaPublicKey? {
        guard let value = entries[Kind.transferHook.rawValue], value.count >= 64 else { return nil }
        let program = Array(value[32..<64])
        guard program.contains(where: { $0 != 0 }), let key = try? SolanaPublicKey(bytes: program) else { return nil }
        return key
    }

    /// TransferFeeConfig: the newer of the two epoch fees' maximum, in base units (nil when none).
    public var transferFeeMaximum: UInt64? {
        guard let value = entries[Kind.transferFeeConfig.rawValue], value.count >= 108 else { return nil }
        var maximum: UInt64 = 0
        for i in (98..<106).reversed() { maximum = maximum << 8 | UInt64(value[i]) }
        return maximum
    }

    /// TransferFeeConfig: the newer of the two epoch fees, in basis points (0 when none). (Settle uses the newer fee:
    /// a pending change takes effect at its epoch, and the program refuses a TransferCheckedWithFee whose fee does not
    /// match, so a wrong guess fails the transaction rather than paying a wrong amount.)
    public var transferFeeBasisPoints: UInt16 {
        // authority 32, withdraw authority 32, withheld 8, older fee (epoch 8, max 8, bps 2), newer fee (same).
        guard let value = entries[Kind.transferFeeConfig.rawValue], value.count >= 108 else { return 0 }
        return UInt16(value[106]) | UInt16(value[107]) << 8
    }
}
