import Leases
import Solana

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
    /// removed, ones whose events differ replaced — all in one transaction, which checks `lease` when given.
    public func replay(fromSlot: UInt64, toSlot: UInt64, lease: Lease? = nil) async throws -> SolanaReplayReport {
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
        guard !remove.isEmpty || !replace.isEmpty else { return report }
        try await store.commit(chain: chain, replace, owners: owners, removing: remove.sorted { $0.rawValue.hex < $1.rawValue.hex }, cursor: nil, lease: lease)
        return report
    }
}
