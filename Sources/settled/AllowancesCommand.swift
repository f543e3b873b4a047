import ArgumentParser
import EVM
import EVMIndexer
import Foundation
import SettleRuntime
import SettleCore
import Store

struct AllowancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allowances",
        abstract: "Show a wallet's allowance history (oldest first) and its current allowance.",
        discussion: """
            Reads the index (run `settled index` first). History lists every Approval the wallet gave: block, \
            block time, transaction, log index, token, spender and value (a decimal string in base units). The \
            current allowance is the token's allowance() as last read from the chain.
            """)

    @OptionGroup var options: ChainOptions

    @Option(help: ArgumentHelp("The wallet (owner) address (base58 on Solana).", valueName: "address"))
    var owner: String

    @Option(help: ArgumentHelp("Only this token: a symbol from the chain file, or an address.", valueName: "symbol|address"))
    var token: String?

    @Option(help: ArgumentHelp("Only this spender.", valueName: "address"))
    var spender: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        if case .solana(let solana) = try options.loadAnyChain() {
            try await SolanaCommands.allowances(solana, options: options, owner: owner, token: token, json: json)
            return
        }
        let config = try options.loadChain()
        let ownerAddress: EVMAddress
        do { ownerAddress = try EVMAddress(hex: owner) } catch { throw ValidationError("--owner \(owner): \(error.message)") }
        var tokenAddress: EVMAddress?
        if let token {
            guard let found = config.token(token) else {
                throw ValidationError("--token \(token): not a token of \(config.name) (known: \(config.tokens.map(\.symbol).joined(separator: ", ")))")
            }
            tokenAddress = found.address
        }
        var spenderAddress: EVMAddress?
        if let spender {
            do { spenderAddress = try EVMAddress(hex: spender) } catch { throw ValidationError("--spender \(spender): \(error.message)") }
        }
        let store = try SettleDatabase.evmIndex(try options.openDatabase(logger: options.makeLogger()))
        try await store.migrate()
        guard let chain = try await store.chainID(named: config.name) else {
            throw ValidationError("\(config.name) has not been indexed into \(options.database) yet: run `settled index --chain \(config.name)`")
        }
        let history = try await store.allowanceHistory(chain: chain, owner: ownerAddress, token: tokenAddress, spender: spenderAddress)
        let current = try await store.currentAllowances(chain: chain, owner: ownerAddress, token: tokenAddress, spender: spenderAddress)
        let symbol: (EVMAddress) -> String = { address in config.tokens.first { $0.address == address }?.symbol ?? address.description }
        if json {
            let document: JSON = .object([
                ("chain", .string(config.name)), ("owner", .string(ownerAddress.description)),
                ("history", .array(history.map { row in
                    .object([
                        ("blockNumber", .number(String(row.block))), ("blockTime", .number(String(row.blockTime))),
                        ("transactionHash", .string(row.transactionHash.description)), ("logIndex", .number(String(row.logIndex))),
                        ("token", .string(row.token.description)), ("tokenSymbol", .string(symbol(row.token))),
                        ("owner", .string(row.owner.description)), ("spender", .string(row.spender.description)),
                        ("value", .string(row.value.description)),
                    ])
                })),
                ("current", .array(current.map { state in
                    .object([
                        ("token", .string(state.token.description)), ("tokenSymbol", .string(symbol(state.token))),
                        ("spender", .string(state.spender.description)), ("value", .string(state.value.description)),
                        ("asOfBlock", .number(String(state.asOfBlock))),
                    ])
                })),
            ])
            print(document.text)
            return
        }
        print("Allowance history of \(ownerAddress) on \(config.name) (oldest first):")
        if history.isEmpty { print("  (no approvals indexed)") }
        for row in history {
            let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(row.blockTime)))
            print("  block \(row.block)  \(time)  tx \(row.transactionHash)  log \(row.logIndex)  \(symbol(row.token))  spender \(row.spender)  value \(row.value)")
        }
        print("Current allowance:")
        if current.isEmpty { print("  (none read from the chain yet)") }
        for state in current {
            print("  \(symbol(state.token))  spender \(state.spender)  \(state.value)  (as of block \(state.asOfBlock))")
        }
    }
}
