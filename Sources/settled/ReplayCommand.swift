import ArgumentParser
import EVMIndexer
import Foundation
import SettleRuntime

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-read a block range from the chain, repair the index, and report what differed.",
        discussion: """
            The reconciliation tool: compares every indexed Approval and Transfer of the range with what the node \
            returns now, replaces rows that were added, removed or changed, refreshes current allowances and \
            balances, and reports the counts. Only blocks already indexed are checked. Exit status 0 either way; \
            use --json for a machine-readable report.
            """)

    @OptionGroup var options: ChainOptions

    @Option(help: "First block (slot on Solana).")
    var from: UInt64

    @Option(help: "Last block (inclusive; slot on Solana).")
    var to: UInt64

    @Option(name: .long, help: ArgumentHelp("A spender address to scope on (repeatable).", valueName: "address"))
    var spender: [String] = []

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard from <= to else { throw ValidationError("--from \(from) is after --to \(to)") }
    }

    func run() async throws {
        if case .solana(let config) = try options.loadAnyChain() {
            try await SolanaCommands.replay(config, options: options, from: from, to: to, json: json)
            return
        }
        let logger = options.makeLogger()
        let (indexer, http, database) = try await options.makeIndexer(extraSpenders: spender, logger: logger)
        defer { http.shutdown() }
        let lease = try await CommandLease.take("index \(indexer.config.name)", on: database)
        await indexer.hold(lease?.lease)
        let progress = ProgressLine()
        let total = to - from + 1
        let report = try await indexer.replay(from: from, to: to) { partial in
            progress.update(fraction: Double(partial.blocksChecked) / Double(total),
                            "checked \(partial.blocksChecked)/\(total) blocks")
        }
        progress.finish()
        await lease?.release()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("""
                replay \(indexer.config.name) \(report.fromBlock)...\(report.toBlock): \(report.blocksChecked) blocks checked
                  approvals: +\(report.approvalsAdded) added, -\(report.approvalsRemoved) removed, ~\(report.approvalsChanged) changed
                  transfers: +\(report.transfersAdded) added, -\(report.transfersRemoved) removed, ~\(report.transfersChanged) changed
                  \(report.clean ? "index matched the chain" : "index repaired")
                """)
        }
    }
}
