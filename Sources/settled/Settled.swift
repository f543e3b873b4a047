import ArgumentParser
import Foundation
import SettleCore
import SettleRuntime
import Store

@main
struct Settled: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settled",
        abstract: "Settle: the onchain half of crypto subscription billing.",
        discussion: """
            Customers pay Stripe invoices in stablecoins from their own wallets by approving the merchant's spender \
            (an ERC-20 allowance, or an SPL Token delegate). Settle indexes those approvals and transfers, pulls each \
            due payment exactly once, waits for finality and marks the invoice paid.

            Chains are configured in chains/NAME.toml (see chains/ for Ethereum, Base, Polygon, Arbitrum, Optimism, \
            BNB Chain and a local devnet). RPC URLs and keys are referenced (env:VAR or file:PATH), never inline.

            Start with `settled demo`, then `settled index --chain devnet --once` against a local node.
            """,
        version: versionText,
        subcommands: [DemoCommand.self, IndexCommand.self, AllowancesCommand.self, ReplayCommand.self, ChargeCommand.self, ExecuteCommand.self,
                      ServeCommand.self, DoctorCommand.self, InitCommand.self, NonceCommand.self, RetryCommand.self, CollectNowCommand.self, AuditCommand.self, WebhooksCommand.self, ItemsCommand.self, InvoicesCommand.self, DbCommand.self]
    )
}

extension Settled {
    /// `settled --version`: the release, and the schema version of each module this build migrates to (per backend:
    /// the SQLite and PostgreSQL schemas are numbered apart). Operators compare these with `settled doctor`'s line for
    /// the database before an upgrade; a daemon refuses a database whose schema is newer than it knows.
    static var versionText: String {
        let sqlite = SettleDatabase.schemas(.sqlite), postgres = SettleDatabase.schemas(.postgres)
        let width = sqlite.map(\.module.count).max() ?? 0
        var lines = ["settled \(SettleVersion.current)", "schemas this build writes (module: SQLite, PostgreSQL):"]
        for (index, schema) in sqlite.enumerated() {
            let other = postgres.indices.contains(index) ? postgres[index].version : 0
            lines.append("  \(schema.module.padding(toLength: width, withPad: " ", startingAt: 0))  \(schema.version)  \(other)")
        }
        return lines.joined(separator: "\n")
    }
}
