import SettleCore

/// Who pays with which wallet: a billing customer (and subscription) on a chain with a token.
public struct Agreement: Hashable, Sendable {
    public var id: Int64
    public var customer: String
    public var subscription: String?
    /// The chain file's name (`base`, `solana`, …).
    public var chain: String
    /// The token's symbol in that chain file.
    public var token: String
    /// The paying wallet (EVM address or Solana owner), as text.
    public var wallet: String
}

/// What a charge pays with, pinned when it is created: attempts are built and matched from these, never from the
/// agreement as it is now. An agreement change re-prices only charges with no transaction that could land.
public struct ChargeTerms: Hashable, Sendable {
    /// The chain file's name.
    public var chain: String
    /// The token's symbol in that chain file (its address or mint, decimals and program come from the file).
    public var token: String
    /// The paying wallet.
    public var wallet: String
    /// The token's contract address (EVM, EIP-55) or mint (Solana) when the charge was priced; nil for charges
    /// created without it (then the chain file's is used).
    public var asset: String?
    /// Where the payment goes (the chain file's treasury when the charge was created); nil as for `asset`.
    public var treasury: String?

    public init(chain: String, token: String, wallet: String, asset: String? = nil, treasury: String? = nil) {
        self.chain = chain
        self.token = token
        self.wallet = wallet
        self.asset = asset
        self.treasury = treasury
    }
}

/// One charge: one invoice, collected at most once.
public struct Charge: Hashable, Sendable {
    public var id: Int64
    public var invoice: String
    public var agreement: Int64
    public var amount: Money
    public var tokenAmount: TokenAmount
    /// The rate used (whole tokens per unit of the currency) and when it was taken (Unix seconds).
    public var rate: ExchangeRate
    public var rateAt: UInt64
    public var dueAt: UInt64
    public var state: ChargeState
    public var reason: String?
    public var nextAttemptAt: UInt64?
    /// Chain, token and wallet, pinned.
    public var terms: ChargeTerms
}

/// The error the ledger throws.
public struct LedgerError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// The same invoice or agreement already exists with different terms.
        public static let conflict = Code("conflict")
        /// A state change the payment state machine does not allow.
        public static let invalidTransition = Code("invalidTransition")
        /// No such charge or agreement.
        public static let notFound = Code("notFound")
        /// Bad input (amount zero, unknown currency, …).
        public static let invalidInput = Code("invalidInput")

        public var description: String { raw }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
