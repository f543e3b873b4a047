import SettleCore
import EVM
import Signing

/// One chain Settle follows, loaded from `chains/NAME.toml`.
///
/// Keys (defaults in brackets):
/// - `name` [file name], `family` (`evm` | `solana`), `chain_id` (EVM chain id; checked against the node at start)
/// - `rpc_urls`: list of endpoints, each a URL or `env:VARIABLE` (a URL holding an API key belongs in the
///   environment); tried in order with failover
/// - `block_time_ms`, `poll_interval_ms` [block time], `max_log_range` [2000], `start_block` [0]
/// - `[finality]`: `mode` = `tag` (use the node's `finalized` block) or `confirmations`; `confirmations` [64],
///   `reorg_window` [128] blocks of headers kept for reorg detection
/// - `[index]`: `mode` = `scoped` (Approvals to our spenders, Transfers of wallets that approved us) or `full`
///   (every Approval/Transfer of the configured tokens) [scoped]; `spenders` [] extra spender addresses to scope on;
///   `requests_in_flight` [8] `eth_getLogs` requests a full-mode backfill keeps in flight at most (1-64; halved
///   while the provider answers 429, 5xx or `Retry-After`)
/// - `[[tokens]]`: `symbol`, `address`, `decimals`, `gross_up_fee_bps` [0] (see `Token`)
/// - `[signer]`: `key` (a `file:`/`env:` reference, never the key), `treasury` (where pulled payments go)
/// - `explorer_tx_url`: a block explorer's transaction page, `{tx}` for the hash (`"https://etherscan.io/tx/{tx}"`)
public struct ChainConfig: Sendable {
    /// How the chain's finality is judged.
    public enum Finality: Hashable, Sendable {
        /// The node's `finalized` block tag.
        case finalizedTag
        /// A block is final once this many blocks are built on it.
        case confirmations(UInt64)
    }

    /// Which events the indexer keeps.
    public enum IndexMode: String, Hashable, Sendable {
        case scoped, full
    }

    /// A token Settle accepts on this chain.
    public struct Token: Hashable, Sendable {
        public var symbol: String
        public var address: EVMAddress
        public var decimals: Int
        /// `gross_up_fee_bps` [0]: the merchant's opt-in for a token that keeps this fee (basis points, rounded
        /// down) on every transfer: Settle pulls enough more that the treasury receives the invoice amount (within
        /// the allowance). 0: a fee-charging token's charge ends in `mismatch`.
        public var grossUpFeeBps: UInt16 = 0
    }

    public var name: String
    public var chainID: UInt64
    /// Endpoints, resolved (URLs may hold API keys: never log them; use `label`).
    public var rpc: [(url: String, label: String)]
    /// Environment variables this file's `env:` references name (RPC URLs, the signer key): removed from the
    /// environment once loaded (`SecretEnvironment`).
    public var secretEnvironment: [String] = []
    /// `explorer_tx_url`: a transaction's page at a block explorer, `{tx}` for its hash (nil: no links).
    public var explorerTransactionURL: String?
    public var blockTime: Duration
    public var pollInterval: Duration
    public var maxLogRange: UInt64
    public var startBlock: UInt64
    public var finality: Finality
    public var reorgWindow: UInt64
    public var indexMode: IndexMode
    public var spenders: [EVMAddress]
    /// `[index] requests_in_flight`: the most `eth_getLogs` requests a full-mode backfill keeps in flight.
    public var requestsInFlight: Int = 8
    public var tokens: [Token]
    public var signerKey: KeyReference?
    public var treasury: EVMAddress?
    /// Waits before re-checking a charge short of funds (the i-th retry uses entry i; the last repeats).
    public var retrySeconds: [UInt64] = [600]
    /// Configured rates: whole `token`s per unit of `currency`.
    public var rates: [(token: String, currency: String, rate: ExchangeRate)] = []
    /// The file it came from.
    public var file: String

    /// The token with this symbol (case-insensitive) or address.
    public func token(_ symbolOrAddress: String) -> Token? {
        if let address = try? EVMAddress(hex: symbolOrAddress) {
            return tokens.first { $0.address == address }
        }
        return tokens.first { $0.symbol.lowercased() == symbolOrAddress.lowercased() }
    }
}
