import ArgumentParser

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
        subcommands: [DemoCommand.self, IndexCommand.self, AllowancesCommand.self, ReplayCommand.self, ChargeCommand.self, ExecuteCommand.self,
                      ServeCommand.self, DoctorCommand.self, InitCommand.self, NonceCommand.self, RetryCommand.self, CollectNowCommand.self, AuditCommand.self, WebhooksCommand.self, DbCommand.self]
    )
}
