import SettleConfiguration
import Foundation
import EVM
import Foundation
import Testing

let chainsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("chains").path

let shippedChains: [(name: String, chainID: UInt64, usdcDecimals: Int)] = [
    ("ethereum", 1, 6), ("base", 8453, 6), ("polygon", 137, 6), ("arbitrum", 42161, 6),
    ("optimism", 10, 6), ("bnb", 56, 18), ("devnet", 1337, 6),
]

let validChain = """
family = "evm"
chain_id = 5
rpc_urls = ["http://127.0.0.1:8545"]
block_time_ms = 1000
[[tokens]]
symbol = "USDC"
address = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
decimals = 6
"""

@Suite("chains/*.toml")
struct ChainConfigTests {
    @Test("every shipped chain loads, with checksummed token addresses", arguments: shippedChains.map(\.name))
    func shipped(name: String) throws {
        let variable = "SETTLE_\(name.uppercased())_RPC_URL"
        let config = try ChainConfig.load(named: name, in: chainsDirectory, environment: [variable: "https://rpc.example/key123"])
        let expected = try #require(shippedChains.first { $0.name == name })
        #expect(config.chainID == expected.chainID)
        #expect(config.token("usdc")?.decimals == expected.usdcDecimals)
        #expect(config.rpc.first?.url == "https://rpc.example/key123")
        #expect(config.rpc.first?.label == "\(name)#0")
        for token in config.tokens { #expect(config.token(token.address.checksummed) == token) }
    }

    @Test("a missing environment variable names file, key and variable")
    func missingEnvironment() {
        let error = #expect(throws: ConfigError.self) { try ChainConfig.load(named: "base", in: chainsDirectory, environment: [:]) }
        #expect(error?.key == "rpc_urls[0]")
        #expect(error?.description.contains("SETTLE_BASE_RPC_URL") == true)
        #expect(error?.file.hasSuffix("base.toml") == true)
    }

    @Test("an unknown chain lists the ones there are")
    func unknownChain() {
        let error = #expect(throws: ConfigError.self) { try ChainConfig.load(named: "nope", in: chainsDirectory) }
        #expect(error?.problem.contains("ethereum") == true)
    }

    @Test("bad config fails with file, key and problem", arguments: [
        ("chain_id = 5", "chain_id = \"five\"", "chain_id"),
        ("chain_id = 5", "chain_id = -5", "chain_id"),
        ("family = \"evm\"", "family = \"cosmos\"", "family"),
        ("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB49", "tokens[0].address"),
        ("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "0xa0B86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "tokens[0].address"),
        ("decimals = 6", "decimals = 77", "tokens[0].decimals"),
        ("http://127.0.0.1:8545", "ws://127.0.0.1:8545", "rpc_urls[0]"),
        ("block_time_ms = 1000", "block_time_ms = 1000\nblock_tme = 3", "block_tme"),
        ("block_time_ms = 1000", "block_time_ms = 1000\n[finality]\nmode = \"vibes\"", "finality.mode"),
        ("block_time_ms = 1000", "block_time_ms = 1000\n[index]\nmode = \"all\"", "index.mode"),
        ("block_time_ms = 1000", "block_time_ms = 1000\n[signer]\nkey = \"0x4646\"", "signer.key"),
        ("chain_id = 5", "chain_id = 5\nchain_id = 6", ""),
        ("decimals = 6", "decimals = 6\n[[tokens]]\nsymbol = \"usdc\"\naddress = \"0xdAC17F958D2ee523a2206206994597C13D831ec7\"\ndecimals = 6", "tokens[1]"),
    ])
    func badConfig(find: String, replace: String, key: String) {
        let text = validChain.replacingOccurrences(of: find, with: replace)
        let error = #expect(throws: ConfigError.self) { try ChainConfig.parse(text, file: "chains/test.toml") }
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.file == "chains/test.toml")
    }

    @Test("defaults fill what is left out")
    func defaults() throws {
        let config = try ChainConfig.parse(validChain, file: "chains/test.toml")
        #expect(config.name == "test")
        #expect(config.maxLogRange == 2000)
        #expect(config.finality == .finalizedTag)
        #expect(config.indexMode == .scoped)
        #expect(config.pollInterval == .seconds(1))
    }
}

@Suite("chains/solana*.toml")
struct SolanaChainConfigTests {
    @Test("the Solana chain files load with their mints", arguments: [("solana", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
                                                                     ("solana-devnet", "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU")])
    func shipped(name: String, usdc: String) throws {
        let variable = "SETTLE_\(name.uppercased().replacingOccurrences(of: "-", with: "_"))_RPC_URL"
        guard case .solana(let config) = try AnyChainConfig.load(named: name, in: chainsDirectory, environment: [variable: "https://rpc.example"]) else {
            Issue.record("\(name) did not load as a Solana chain")
            return
        }
        #expect(config.token("USDC")?.mint.description == usdc)
        #expect(config.token(usdc)?.decimals == 6)
        #expect(config.signerKey != nil)
    }

    @Test("bad Solana config names file, key and problem", arguments: [
        ("mint = \"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\"", "mint = \"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\"", "tokens[0].mint"),
        ("program = \"token\"", "program = \"spl\"", "tokens[0].program"),
        ("decimals = 6", "decimals = 30", "tokens[0].decimals"),
        ("[index]", "[index]\nowners = [\"nope\"]", "index.owners[0]"),
    ])
    func bad(find: String, replace: String, key: String) {
        let valid = """
            family = "solana"
            rpc_urls = ["http://127.0.0.1:8899"]
            [[tokens]]
            symbol = "USDC"
            mint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
            decimals = 6
            program = "token"
            [index]
            """
        let error = #expect(throws: ConfigError.self) { try SolanaChainConfig.parse(valid.replacingOccurrences(of: find, with: replace), file: "s.toml") }
        #expect(error?.key == key, "\(String(describing: error))")
    }
}

@Suite("[settlement] and [[rates]] in chain files")
struct SettlementConfigTests {
    static let base = """
        family = "evm"
        chain_id = 5
        rpc_urls = ["http://127.0.0.1:8545"]
        block_time_ms = 1000
        [[tokens]]
        symbol = "USDC"
        address = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
        decimals = 6
        """

    @Test("retry schedule and rates parse; defaults apply")
    func parse() throws {
        let plain = try ChainConfig.parse(Self.base, file: "t.toml")
        #expect(plain.retrySeconds == [600] && plain.rates.isEmpty)
        let config = try ChainConfig.parse(Self.base + """

            [settlement]
            retry_seconds = [600, 600, 3600]
            [[rates]]
            token = "USDC"
            currency = "EUR"
            rate = "1.0825"
            """, file: "t.toml")
        #expect(config.retrySeconds == [600, 600, 3600])
        #expect(config.rates.first?.rate.description == "1.0825")
    }

    @Test("explorer_tx_url: an http(s) URL with {tx} once, or absent")
    func explorer() throws {
        #expect(try ChainConfig.parse(Self.base, file: "t.toml").explorerTransactionURL == nil)
        let good = try ChainConfig.parse("explorer_tx_url = \"https://etherscan.io/tx/{tx}\"\n" + Self.base, file: "t.toml")
        #expect(good.explorerTransactionURL == "https://etherscan.io/tx/{tx}")
        for bad in ["https://etherscan.io/tx/", "javascript:alert(1)//{tx}", "https://x/{tx}/{tx}", "https://x/\"><script>{tx}", "ftp://x/{tx}",
                    "https://x/ {tx}"] {
            let error = #expect(throws: ConfigError.self) { try ChainConfig.parse("explorer_tx_url = '\(bad)'\n" + Self.base, file: "t.toml") }
            #expect(error?.key == "explorer_tx_url", "\(bad): \(String(describing: error))")
        }
        guard case .solana(let solana) = try AnyChainConfig.load(named: "solana", in: chainsDirectory, environment: ["SETTLE_SOLANA_RPC_URL": "https://rpc.example"]) else {
            Issue.record("solana did not load as a Solana chain")
            return
        }
        #expect(solana.explorerTransactionURL == "https://explorer.solana.com/tx/{tx}")
    }

    @Test("bad settlement values name the key", arguments: [
        ("[settlement]\nretry_seconds = [0]", "settlement.retry_seconds"),
        ("[settlement]\nretry_seconds = 600", "settlement.retry_seconds"),
        ("[[rates]]\ntoken = \"USDC\"\ncurrency = \"EUR\"\nrate = \"-1\"", "rates[0].rate"),
        ("[[rates]]\ntoken = \"USDC\"\ncurrency = \"EURO\"\nrate = \"1\"", "rates[0].currency"),
    ])
    func bad(extra: String, key: String) {
        let error = #expect(throws: ConfigError.self) { try ChainConfig.parse(Self.base + "\n" + extra, file: "t.toml") }
        #expect(error?.key == key, "\(String(describing: error))")
    }
}
