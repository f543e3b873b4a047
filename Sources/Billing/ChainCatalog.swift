/// What billing may know of the configured chains: which chain names and token symbols exist (with decimals) and
/// whether a wallet is well-formed for a chain. Built by the executable from the chain files.
public struct ChainCatalog: Sendable {
    /// Chain name → token symbol (upper case) → decimals.
    public var tokens: [String: [String: Int]]
    /// The wallet in canonical form (EIP-55, base58), or nil when it is not valid on the chain.
    public var canonicalWallet: @Sendable (_ chain: String, _ wallet: String) -> String?
    /// Chain name → token symbol (upper case) → contract address or mint, pinned with each charge.
    public var assets: [String: [String: String]]
    /// Chain name → treasury, pinned with each charge.
    public var treasuries: [String: String]

    public init(tokens: [String: [String: Int]], assets: [String: [String: String]] = [:], treasuries: [String: String] = [:],
                canonicalWallet: @escaping @Sendable (String, String) -> String?) {
        self.tokens = tokens
        self.assets = assets
        self.treasuries = treasuries
        self.canonicalWallet = canonicalWallet
    }
}

/// The agreement a Stripe customer or subscription names in its metadata.
///
/// Metadata keys, on the subscription (preferred) or else on the customer:
/// - `settle_chain`: a chain file's name (`base`, `solana`, …);
/// - `settle_token`: a token symbol from that chain file (`USDC`);
/// - `settle_wallet`: the paying wallet (EVM address, or Solana owner).
public struct AgreementTerms: Hashable, Sendable {
    public static let chainKey = "settle_chain"
    public static let tokenKey = "settle_token"
    public static let walletKey = "settle_wallet"

    public var chain: String
    public var token: String
    public var wallet: String
    public var decimals: Int

    public init(chain: String, token: String, wallet: String, decimals: Int) {
        self.chain = chain
        self.token = token
        self.wallet = wallet
        self.decimals = decimals
    }

    /// The outcome of reading metadata: nothing there, terms, or a reason they are unusable.
    public enum Reading: Hashable, Sendable {
        case absent
        case terms(AgreementTerms)
        case invalid(String)
    }

    /// Reads the three keys from `metadata` and checks them against `catalog`.
    public static func read(_ metadata: [String: String], catalog: ChainCatalog) -> Reading {
        let values = [chainKey, tokenKey, walletKey].map { metadata[$0].flatMap { $0.isEmpty ? nil : $0 } }
        if values.allSatisfy({ $0 == nil }) { return .absent }
        guard let chain = values[0], let token = values[1], let wallet = values[2] else {
            let missing = zip([chainKey, tokenKey, walletKey], values).filter { $0.1 == nil }.map(\.0)
            return .invalid("metadata lacks \(missing.joined(separator: ", "))")
        }
        guard let tokens = catalog.tokens[chain] else { return .invalid("\(chainKey) '\(chain)' is not a configured chain") }
        guard let decimals = tokens[token.uppercased()] else { return .invalid("\(tokenKey) '\(token)' is not a token of chain \(chain)") }
        guard let canonical = catalog.canonicalWallet(chain, wallet) else { return .invalid("\(walletKey) '\(wallet)' is not a wallet on \(chain)") }
        return .terms(AgreementTerms(chain: chain, token: token.uppercased(), wallet: canonical, decimals: decimals))
    }
}
