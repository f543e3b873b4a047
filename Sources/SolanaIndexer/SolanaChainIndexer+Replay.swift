import Solana
import Store

/// What a Solana replay found and repaired.
public struct SolanaReplayReport: Hashable, Sendable, Codable {
    public var fromSlot: UInt64
    public var toSlot: UInt64
    public var transactionsChecked = 0
    public var transactionsAdded = 0
    public var transactionsRemoved = 0
    public var transactionsChanged = 0

    public var clean: Bool { transactionsAdded + transactionsRemoved + transactionsChanged == 0 }
}

extension SolanaChainIndexer {
    /// Re-reads every tracked account's transactions in `fromSlot...toSlot` from the chain, compares them (and their
    /// decoded events) with the index, and repairs the differences: missing ones added, ones the chain does not have
    /// removed, ones whose events differ replaced.
    public func replay(fromSlot: UInt64, toSlot: UInt64) async throws -> SolanaReplayReport {
        let chain = try await prepare()
        var report = SolanaReplayReport(fromSlot: fromSlot, toSlot: toSlot)
        var fresh = Set<SolanaSignature>()
        for account in try await store.trackedAccounts(chain: chain) {
            var before: SolanaSignature?
            pages: while true {
                let page = try await node.signatures(for: account.account, before: before, limit: 1000)
                for info in page {
                    if info.slot < fromSlot { break pages }
                    if info.slot <= toSlot { fresh.insert(info.signature) }
                }
                guard page.count == 1000, let last = page.last else { break }
                before = last.signature
            }
        }
        let stored = try await store.eventsBySignature(chain: chain, fromSlot: fromSlot, toSlot: toSlot)
        let owners = Dictionary(try await store.trackedAccounts(chain: chain).map { ($0.account, $0.owner) }, uniquingKeysWith: { a, _ in a })
        var replace: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])] = []
        var remove = Set(stored.keys).subtracting(fresh)
        for signature in fresh.sorted(by: { $0.rawValue.hex < $1.rawValue.hex }) {
            report.transactionsChecked += 1
            guard let transaction = try await node.transaction(signature) else { continue }
            let events = TokenEvent.decode(transaction)
            if let old = stored[signature] {
                if old != events {
                    report.transactionsChanged += 1
                    remove.insert(signature)
                    replace.append((transaction, events))
                }
            } else {
                report.transactionsAdded += 1
                replace.append((transaction, events))
            }
        }
        report.transactionsRemoved = remove.count - report.transactionsChanged
        try await store.remove(chain: chain, Array(remove))
        try await store.commit(chain: chain, replace, owners: owners)
        return report
    }
}

extension SolanaIndexStore {
    /// Stored transactions in a slot range with their events (in instruction order).
    public func eventsBySignature(chain: Int64, fromSlot: UInt64, toSlot: UInt64) async throws -> [SolanaSignature: [TokenEvent]] {
        let signatures = try await database.read { db in
            let select = try db.statement("SELECT signature FROM sol_transactions WHERE chain = ? AND slot BETWEEN ? AND ?")
            select.bind(chain, at: 1)
            select.bind(Int64(fromSlot), at: 2)
            select.bind(Int64(toSlot), at: 3)
            var out: [SolanaSignature] = []
            while try select.step() { out.append(try Self.signature(select.blob(0))) }
            return out
        }
        var result = Dictionary(uniqueKeysWithValues: signatures.map { ($0, [TokenEvent]()) })
        for record in try await events(chain: chain) where record.slot >= fromSlot && record.slot <= toSlot {
            result[record.signature, default: []].append(record.event)
        }
        return result
    }

    /// Deletes transactions (and their events).
    public func remove(chain: Int64, _ signatures: [SolanaSignature]) async throws {
        guard !signatures.isEmpty else { return }
        try await database.write { db in
            let delete = try db.statement("DELETE FROM sol_transactions WHERE chain = ? AND signature = ?")
            for signature in signatures { try delete.run([.integer(chain), .blob(signature.rawValue.bytes)]) }
        }
    }
}
