import SettleCore

/// An SPL token account (the 165-byte base layout shared by SPL Token and Token-2022).
///
/// Layout: mint 32, owner 32, amount u64, delegate `COption<Pubkey>` (u32 tag + 32), state u8,
/// is_native `COption<u64>` (u32 tag + 8), delegated amount u64, close authority `COption<Pubkey>`; integers
/// little-endian. Decoding follows SPL Token's `unpack`: tags must be 0 or 1, the state 1 or 2
/// (`Uninitialized` accounts are refused, as the program refuses them).
public struct TokenAccount: Hashable, Sendable {
    /// Size of the base layout.
    public static let size = 165
    /// Size of a Token-2022 multisig account, which an account with extensions can never have.
    static let multisigSize = 355
    /// Token-2022's account-type byte for a token account.
    static let accountTypeAccount: UInt8 = 2

    /// The state byte.
    public enum State: UInt8, Hashable, Sendable {
        /// Usable.
        case initialized = 1
        /// Frozen by the mint's freeze authority: no transfers in or out.
        case frozen = 2
    }

    /// The token's mint.
    public var mint: SolanaPublicKey
    /// The owner (the wallet that may move the tokens).
    public var owner: SolanaPublicKey
    /// Balance in base units.
    public var amount: UInt64
    /// The delegate, if one is approved.
    public var delegate: SolanaPublicKey?
    /// Initialized or frozen.
    public var state: State
    /// For wrapped SOL, the rent-exempt reserve in lamports; nil for other tokens.
    public var isNative: UInt64?
    /// How much the delegate may still move.
    public var delegatedAmount: UInt64
    /// Who may close the account, if not the owner.
    public var closeAuthority: SolanaPublicKey?

    /// Creates an account value.
    public init(
        mint: SolanaPublicKey, owner: SolanaPublicKey, amount: UInt64, delegate: SolanaPublicKey? = nil,
        state: State = .initialized, isNative: UInt64? = nil, delegatedAmount: UInt64 = 0,
        closeAuthority: SolanaPublicKey? = nil
    ) {
        self.mint = mint
        self.owner = owner
        self.amount = amount
        self.delegate = delegate
        self.state = state
        self.isNative = isNative
        self.delegatedAmount = delegatedAmount
        self.closeAuthority = closeAuthority
    }

    /// Decodes account data. Exactly 165 bytes, or (Token-2022) longer data whose byte 165 is the `Account`
    /// type (2) followed by extensions, which are not decoded; 355 bytes (a multisig's size) is refused.
    /// - Throws: `SolanaError` `.invalidLength`, `.invalidAccountType`, `.invalidOptionTag`,
    ///   `.invalidAccountState`, `.uninitializedAccount`.
    public init(data: [UInt8]) throws(SolanaError) {
        guard data.count >= Self.size, data.count != Self.multisigSize else {
            throw SolanaError(.invalidLength, "a token account is 165 bytes (more with Token-2022 extensions), "
                                  + "got \(data.count)")
        }
        if data.count > Self.size, data[Self.size] != Self.accountTypeAccount {
            throw SolanaError(.invalidAccountType, "account type \(data[Self.size]) is not a token account (2)",
                              offset: Self.size)
        }
        let fields: Result<TokenAccount, SolanaError> = data.withUnsafeBytes { raw in
            Result { () throws(SolanaError) in try Self.decodeBase(raw) }
        }
        self = try fields.get()
    }

    private static func decodeBase(_ raw: UnsafeRawBufferPointer) throws(SolanaError) -> TokenAccount {
        func key(_ at: Int) -> SolanaPublicKey { SolanaPublicKey(rawValue: Bytes32(loading: raw, at: at)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func present(_ at: Int) throws(SolanaError) -> Bool {
            switch raw.loadUnaligned(fromByteOffset: at, as: UInt32.self) {
            case 0: return false
            case UInt32(1).littleEndian: return true
            default: throw SolanaError(.invalidOptionTag, "option tag is neither 0 nor 1", offset: at)
            }
        }
        let delegate = try present(72) ? key(76) : nil
        let stateByte = raw[108]
        guard stateByte != 0 else {
            throw SolanaError(.uninitializedAccount, "the token account is not initialized", offset: 108)
        }
        guard let state = State(rawValue: stateByte) else {
            throw SolanaError(.invalidAccountState, "account state \(stateByte) is not 0, 1 or 2", offset: 108)
        }
        let isNative = try present(109) ? u64(113) : nil
        let closeAuthority = try present(129) ? key(133) : nil
        return TokenAccount(
            mint: key(0), owner: key(32), amount: u64(64), delegate: delegate, state: state, isNative: isNative,
            delegatedAmount: u64(121), closeAuthority: closeAuthority)
    }

    /// The 165-byte base layout (absent options are written as zeros, as SPL Token writes them).
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        func append(_ key: SolanaPublicKey?) {
            out.append(contentsOf: [key == nil ? 0 : 1, 0, 0, 0])
            (key ?? .zero).rawValue.append(to: &out)
        }
        mint.rawValue.append(to: &out)
        owner.rawValue.append(to: &out)
        append(amount)
        append(delegate)
        out.append(state.rawValue)
        out.append(contentsOf: [isNative == nil ? 0 : 1, 0, 0, 0])
        append(isNative ?? 0)
        append(delegatedAmount)
        append(closeAuthority)
        return out
    }
}
