import ArgumentParser
import SettleConfiguration
import Foundation
import Logging
import SettleRuntime
import SettleCore
import Settlement
import Store

struct ChargeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "charge",
        abstract: "Create and inspect charges in the ledger (one per invoice).",
        subcommands: [Create.self, List.self, Recollect.self])

    struct LedgerOptions: ParsableArguments {
        @OptionGroup var storage: DatabaseOptions

        func ledger() async throws -> Ledger {
            var logger = Logger(label: "settled")
            logger.logLevel = .warning
            let store = try storage.open(logger: logger)
            let ledger = Ledger(database: store)
            try await ledger.migrate()
            return ledger
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the charge for an invoice (idempotent: the same invoice again returns the same charge).",
            discussion: """
                The token amount is computed in integers from the invoice amount, the token's decimals (from the chain \
                file) and the rate (1 for a stablecoin in its own currency), rounded up by at most one base unit.

                Example: settled charge create --invoice in_123 --customer cus_9 --chain base --token USDC \\
                  --wallet 0x… --amount 2500 --currency usd
                """)

        @OptionGroup var options: LedgerOptions
        @Option(help: "Billing invoice id.") var invoice: String
        @Option(help: "Billing customer id.") var customer: String
        @Option(help: "Billing subscription id.") var subscription: String?
        @Option(help: "Chain file name (chains/NAME.toml).") var chain: String
        @Option(name: .long, help: "Directory of chain files.") var chainsDirectory: String = "chains"
        @Option(help: "Token symbol from the chain file.") var token: String
        @Option(help: "The paying wallet (EVM address, or Solana owner).") var wallet: String
        @Option(help: "Amount in minor units (cents).") var amount: UInt64
        @Option(help: "ISO 4217 currency.") var currency: String
        @Option(help: "Whole tokens per unit of the currency, as a decimal (default: the chain file's [[rates]], or 1 for a stablecoin in its own currency).")
        var rate: String?
        @Option(help: "Due time, Unix seconds (default now).") var due: UInt64?

        func run() async throws {
            let decimals: Int
            let configuredRates: [(token: String, currency: String, rate: ExchangeRate)]
            // Only the token's decimals are needed here: RPC URLs the environment does not set are filled with a
            // placeholder so a charge can be created on a machine that does not talk to the chain.
            let chainConfig: AnyChainConfig
            do {
                chainConfig = try AnyChainConfig.load(named: chain, in: chainsDirectory, environment: placeholderEnvironment())
            } catch {
                throw ValidationError(error.description)
            }
            switch chainConfig {
            case .evm(let config):
                guard let found = config.token(token) else { throw ValidationError("--token \(token) is not a token of \(chain)") }
                decimals = found.decimals
                configuredRates = config.rates
            case .solana(let config):
                guard let found = config.token(token) else { throw ValidationError("--token \(token) is not a token of \(chain)") }
                decimals = found.decimals
                configuredRates = config.rates
            }
            let money = Money(minorUnits: amount, currency: try Currency(code: currency))
            let now = UInt64(Date().timeIntervalSince1970)
            let chosen: (rate: ExchangeRate, at: UInt64)
            if let rate {
                chosen = (try ExchangeRate(decimal: rate), now)
            } else {
                do { chosen = try StaticRateProvider(rates: configuredRates, asOf: now).rate(currency: money.currency, token: token) } catch {
                    throw ValidationError("\(error) (or pass --rate)")
                }
            }
            let ledger = try await options.ledger()
            let agreement = try await ledger.agreement(customer: customer, subscription: subscription, chain: chain, token: token, wallet: wallet)
            let (charge, created) = try await ledger.createCharge(
                invoice: invoice, agreement: agreement.id, amount: money, tokenDecimals: decimals, rate: chosen.rate,
                rateAt: chosen.at, dueAt: due ?? now)
            print("\(created ? "created" : "exists"): \(charge.invoice) \(charge.amount.minorUnits) \(charge.amount.currency) = \(charge.tokenAmount.baseUnits) base units of \(token) on \(chain) (\(charge.state.rawValue))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List charges, optionally in one state.")

        @OptionGroup var options: LedgerOptions
        @Option(help: "Only this state (ingested, due, awaiting_funds, signed, broadcast, included, settled, reported, cancelled, uncollectible).")
        var state: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var states = Set(ChargeState.allCases)
            if let state {
                guard let parsed = ChargeState(rawValue: state) else { throw ValidationError("--state \(state) is not a charge state") }
                states = [parsed]
            }
            let charges = try await options.ledger().charges(in: states)
            if json {
                print(JSON.array(charges.map { charge in
                    .object([
                        ("invoice", .string(charge.invoice)), ("state", .string(charge.state.rawValue)),
                        ("amountMinor", .string(String(charge.amount.minorUnits))), ("currency", .string(charge.amount.currency.code)),
                        ("tokenAmount", .string(charge.tokenAmount.baseUnits.description)), ("decimals", .number(String(charge.tokenAmount.decimals))),
                        ("rate", .string(charge.rate.description)), ("dueAt", .number(String(charge.dueAt))),
                        ("reason", charge.reason.map { .string($0) } ?? .null),
                    ])
                }).text)
                return
            }
            for charge in charges {
                print("\(charge.invoice)  \(charge.state.rawValue)  \(charge.amount.minorUnits) \(charge.amount.currency)  \(charge.tokenAmount.baseUnits) base units\(charge.reason.map { "  (\($0))" } ?? "")")
            }
        }
    }
}

extension ChargeCommand {
    /// `settled charge recollect --invoice ID`: the operator's answer to `payment.reversed`.
    struct Recollect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect a reversed charge again by sending the same signed transaction again.",
            discussion: """
                A charge is `reversed` when the transfer that settled it vanished from the chain (a reorg deeper than \
                the confirmation policy). Settle never collects it again by itself. This command moves it back to \
                `signed` with its last transaction unacknowledged: the next executor pass sends the very same signed \
                bytes (same nonce on EVM chains, so the customer cannot be charged twice) and follows them to finality. \
                If Stripe already shows the invoice paid, marking it again is skipped. Run it while the daemon runs or \
                before starting it; it exits 1 when the charge is not reversed.
                """)

        @OptionGroup var options: LedgerOptions
        @Option(help: "Billing invoice id.") var invoice: String
        @Option(help: "Who collects again (recorded in the charge's history).")
        var by: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            let ledger = try await options.ledger()
            guard let charge = try await ledger.charge(invoice: invoice) else { throw ValidationError("no charge for invoice \(invoice)") }
            guard try await ledger.recollect(charge.id, by: by) else {
                throw ValidationError("the charge of \(invoice) is \(charge.state.rawValue), not reversed: nothing to collect again")
            }
            print("the charge of \(invoice) is signed again: the next pass sends its transaction again")
        }
    }
}

/// The environment with a loopback placeholder for each shipped chain's RPC URL variable that is unset: `charge create`
/// reads only token metadata from the chain file and never connects.
func placeholderEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    for name in ["ETHEREUM", "BASE", "POLYGON", "ARBITRUM", "OPTIMISM", "BNB", "DEVNET", "SOLANA", "SOLANA_DEVNET"] {
        environment["SETTLE_\(name)_RPC_URL"] = environment["SETTLE_\(name)_RPC_URL"] ?? "http://127.0.0.1:1/"
    }
    return environment
}
