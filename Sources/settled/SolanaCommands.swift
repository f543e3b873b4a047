import ArgumentParser
import SettleConfiguration
import Foundation
import SettleRuntime
import Logging
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

/// The Solana halves of `index`, `allowances` and `replay` (chosen by the chain file's `family`).
enum SolanaCommands {
    static func indexer(_ config: SolanaChainConfig, options: ChainOptions, delegates: [String], logger: Logger) async throws -> (SolanaChainIndexer, HTTPClient, any SQLStore) {
        var keys: [SolanaPublicKey] = []
        for text in delegates {
            do { keys.append(try SolanaPublicKey(base58: text)) } catch { throw ValidationError("--delegate \(text): \(error.message)") }
        }
        if keys.isEmpty && config.delegates.isEmpty, let reference = config.signerKey {
            do { keys.append(SolanaPublicKey(try KeyLoader.ed25519(from: reference).publicKey)) } catch {
                throw ValidationError("\(config.file): signer.key: \(error.message) (or pass --delegate BASE58 to index without the key)")
            }
        }
        let database = try options.openDatabase(logger: logger)
        let store = try SettleDatabase.solanaIndex(database)
        try await store.migrate()
        let http = HTTPClient()
        let rpc = JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http)
        return (SolanaChainIndexer(config: config, node: SolanaNode(rpc: rpc), store: store, delegates: keys, logger: logger), http, database)
    }

    static func index(_ config: SolanaChainConfig, options: ChainOptions, once: Bool, delegates: [String]) async throws {
        let logger = options.makeLogger()
        let (indexer, http, database) = try await indexer(config, options: options, delegates: delegates, logger: logger)
        defer { http.shutdown() }
        // On PostgreSQL a daemon may index this chain: work under its lease, or not at all.
        let lease = try await CommandLease.take("index \(config.name)", on: database)
        let print: @Sendable (SolanaIndexReport) -> Void = { report in
            logger.info("pass", metadata: [
                "chain": "\(config.name)", "accounts": "\(report.accountsTracked)", "transactions": "\(report.transactionsIndexed)",
                "events": "\(report.eventsIndexed)", "finalized": "\(report.finalized)", "dropped": "\(report.dropped)",
                "mismatches": "\(report.stateMismatches)", "rpc.calls": "\(report.rpcCalls)",
            ])
        }
        if once {
            let report = try await indexer.indexOnce(lease: lease?.lease)
            await lease?.release()
            print(report)
            Swift.print("\(config.name): \(report.accountsTracked) token accounts, \(report.transactionsIndexed) new transactions, \(report.eventsIndexed) events")
        } else {
            try await indexer.run(lease: lease?.lease, report: print)
        }
    }

    static func allowances(_ config: SolanaChainConfig, options: ChainOptions, owner: String, token: String?, json: Bool) async throws {
        let ownerKey: SolanaPublicKey
        do { ownerKey = try SolanaPublicKey(base58: owner) } catch { throw ValidationError("--owner \(owner): \(error.message)") }
        var mint: SolanaPublicKey?
        if let token {
            guard let found = config.token(token) else {
                throw ValidationError("--token \(token): not a token of \(config.name) (known: \(config.tokens.map(\.symbol).joined(separator: ", ")))")
            }
            mint = found.mint
        }
        let store = try SettleDatabase.solanaIndex(try options.openDatabase(logger: options.makeLogger()))
        try await store.migrate()
        guard let chain = try await store.chainID(named: config.name) else {
            throw ValidationError("\(config.name) has not been indexed into \(options.database) yet: run `settled index --chain \(config.name)`")
        }
        let history = try await store.events(chain: chain, owner: ownerKey, mint: mint, kinds: [.approve, .revoke])
        let states = try await store.states(chain: chain, owner: ownerKey, mint: mint)
        let symbol: (SolanaPublicKey?) -> String = { mint in config.tokens.first { $0.mint == mint }?.symbol ?? mint?.description ?? "?" }
        if json {
            let document: JSON = .object([
                ("chain", .string(config.name)), ("owner", .string(ownerKey.description)),
                ("history", .array(history.map { record in
                    .object([
                        ("slot", .number(String(record.slot))), ("blockTime", record.blockTime.map { .number(String($0)) } ?? .null),
                        ("signature", .string(record.signature.description)), ("kind", .string(record.event.kind.rawValue)),
                        ("tokenAccount", .string(record.event.source.description)), ("mint", record.event.mint.map { .string($0.description) } ?? .null),
                        ("tokenSymbol", .string(symbol(record.event.mint))),
                        ("delegate", record.event.counterparty.map { .string($0.description) } ?? .null),
                        ("value", .string(String(record.event.amount))), ("final", .bool(record.final)),
                    ])
                })),
                ("current", .array(states.map { state in
                    .object([
                        ("tokenAccount", .string(state.account.description)), ("amount", .string(String(state.amount))),
                        ("delegate", state.delegate.map { .string($0.description) } ?? .null),
                        ("delegatedAmount", .string(String(state.delegatedAmount))), ("slot", .number(String(state.slot))),
                    ])
                })),
            ])
            Swift.print(document.text)
            return
        }
        Swift.print("Delegation history of \(ownerKey) on \(config.name) (oldest first):")
        if history.isEmpty { Swift.print("  (no delegations indexed)") }
        for record in history {
            let what = record.event.kind == .approve ? "approve \(record.event.counterparty?.description ?? "?") value \(record.event.amount)" : "revoke"
            Swift.print("  slot \(record.slot)  \(record.signature)  \(symbol(record.event.mint))  account \(record.event.source)  \(what)\(record.final ? "" : "  (confirmed, not yet final)")")
        }
        Swift.print("Current delegation:")
        if states.isEmpty { Swift.print("  (no token account state read yet)") }
        for state in states {
            Swift.print("  account \(state.account)  balance \(state.amount)  delegate \(state.delegate?.description ?? "none")  delegated \(state.delegatedAmount)  (slot \(state.slot))")
        }
    }

    static func replay(_ config: SolanaChainConfig, options: ChainOptions, from: UInt64, to: UInt64, json: Bool) async throws {
        let logger = options.makeLogger()
        let (indexer, http, database) = try await indexer(config, options: options, delegates: [], logger: logger)
        defer { http.shutdown() }
        let lease = try await CommandLease.take("index \(config.name)", on: database)
        let report = try await indexer.replay(fromSlot: from, toSlot: to, lease: lease?.lease)
        await lease?.release()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Swift.print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            Swift.print("""
                replay \(config.name) slots \(from)...\(to): \(report.transactionsChecked) transactions checked
                  +\(report.transactionsAdded) added, -\(report.transactionsRemoved) removed, ~\(report.transactionsChanged) changed
                  \(report.clean ? "index matched the chain" : "index repaired")
                """)
        }
    }
}
