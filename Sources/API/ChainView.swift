import ChainAdapters
import SettleCore
import Settlement

/// One configured chain as the API sees it: its tokens, a wallet's allowances (current and history) and balances
/// from the index, live payment capacity, and unsigned approval transactions. One implementation per chain family
/// (`EVMChainView`, `SolanaChainView`), so the routes never see a family's types.
public protocol ChainView: Sendable {
    /// The chain file's name (`base`, `solana`).
    var name: String { get }
    /// `evm` or `solana`.
    var family: String { get }
    /// Who pulls payments: the spender address (EVM) or the delegate (Solana).
    var puller: String { get }
    /// The chain id a browser wallet reports (`eth_chainId`, hex) for EVM chains; nil for Solana.
    var walletChainID: String? { get }
    /// Token symbols (upper case) with their decimals.
    var tokens: [(symbol: String, decimals: Int)] { get }
    /// The chain file's `explorer_tx_url` (`{tx}` for the transaction), or nil.
    var explorerTransactionURL: String? { get }
    /// Live balance and allowance (for readiness).
    var capacity: any CapacityReader { get }

    /// The wallet in canonical form, or a 400 saying why it is not a wallet on this chain.
    func canonicalWallet(_ wallet: String) throws(APIError) -> String

    /// The wallet's current allowance to the puller per token, and a page of its allowance history (oldest first).
    func allowances(wallet: String, token: String?, cursor: String?, limit: Int) async throws -> AllowancePage

    /// The wallet's token balances: indexed where the index follows the wallet, else read from the chain.
    func balances(wallet: String) async throws -> [JSON]

    /// An unsigned transaction by which `wallet` lets the puller take up to `amount` base units of `token`.
    func unsignedApproval(wallet: String, token: String, amount: UInt256) async throws -> JSON

    /// Why a pull of `amount` from `wallet` would fail now although balance and allowance suffice (paused token,
    /// blocklisted or frozen account, unsupported token), exactly as the executor would find before signing; nil
    /// when it would run.
    func stopReason(wallet: String, token: String, amount: UInt256) async throws -> PullStop?
}

/// Why a pull would fail now, and the node's or the decision's words for it.
public struct PullStop: Hashable, Sendable {
    public var reason: StopReason
    public var detail: String

    public init(reason: StopReason, detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

extension ChainView {
    /// The explorer page of transaction `id` (a hash or signature Settle stored), or null without `explorer_tx_url`.
    func transactionURL(_ id: String?) -> JSON {
        guard let id, let template = explorerTransactionURL, !id.isEmpty, id.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else {
            return .null
        }
        return .string(template.replacingOccurrences(of: "{tx}", with: id))
    }

    /// The decimals of `symbol`, or a 400 naming the chain's tokens.
    func decimals(of symbol: String) throws(APIError) -> Int {
        guard let token = tokens.first(where: { $0.symbol == symbol.uppercased() }) else {
            throw .badRequest("'\(symbol)' is not a token of \(name) (tokens: \(tokens.map(\.symbol).joined(separator: ", ")))")
        }
        return token.decimals
    }
}

/// A page of allowance history with the current allowances.
public struct AllowancePage: Sendable {
    public var current: [JSON]
    public var history: [JSON]
    public var nextCursor: String?

    public init(current: [JSON], history: [JSON], nextCursor: String?) {
        self.current = current
        self.history = history
        self.nextCursor = nextCursor
    }
}

/// Token amounts as the API shows them: exact base units as a string, with the decimals and a decimal rendering.
public enum AmountText {
    /// `display` for people: trailing zeros dropped down to two decimals (`325.000000` → `325.00`, `0.125000` → `0.125`).
    public static func short(_ value: UInt256, decimals: Int) -> String {
        var text = display(value, decimals: decimals)
        guard let dot = text.firstIndex(of: ".") else { return text }
        while text.hasSuffix("0"), text.distance(from: dot, to: text.endIndex) > 3 { text.removeLast() }
        return text
    }

    public static func display(_ value: UInt256, decimals: Int) -> String {
        display(digits: value.description, decimals: decimals)
    }

    /// `display` of an amount already written in decimal digits (`UInt256.description`), so an answer that shows
    /// both does the division once.
    public static func display(digits: String, decimals: Int) -> String {
        guard decimals > 0 else { return digits }
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        let split = padded.index(padded.endIndex, offsetBy: -decimals)
        return "\(padded[..<split]).\(padded[split...])"
    }
}
