import EVM
import Logging
import Transport

/// What `replay` found and repaired.
public struct ReplayReport: Hashable, Sendable, Codable {
    public var fromBlock: UInt64
    public var toBlock: UInt64
    public var blocksChecked: UInt64 = 0
    public var approvalsAdded = 0
    public var approvalsRemoved = 0
    public var approvalsChanged = 0
    public var transfersAdded = 0
    public var transfersRemoved = 0
    public var transfersChanged = 0

    /// True when the index already matched the chain.
    public var clean: Bool {
        approvalsAdded + approvalsRemoved + approvalsChanged + transfersAdded + transfersRemoved + transfersChanged == 0
    }
}

extension EVMChainIndexer {
    /// Re-reads `from...to` from the chain, compares it with the index, repairs every difference (rows added,
    /// removed or changed) and reports them. Blocks past the indexed head are not touched; index them first.
    public func replay(from: UInt64, to requestedTo: UInt64, progress: (@Sendable (ReplayReport) -> Void)? = nil) async throws -> ReplayReport {
        let cursor = try await prepare()
        let current = try await store.cursor(chain: cursor.id)
        guard current.nextBlock > 0 else { return ReplayReport(fromBlock: from, toBlock: from) }
        let to = min(requestedTo, current.nextBlock - 1)
        var report = ReplayReport(fromBlock: from, toBlock: to)
        guard from <= to else { return report }
        var start = from
        var size = min(config.maxLogRange, 1000)
        while start <= to {
            try Task.checkCancellation()
            let end = min(to, start + size - 1)
            let fetched: FetchedRange
            do {
                fetched = try await fetch(from: start, to: end, cursor: current)
            } catch let error as RPCError {
                guard LogRangeAdvice(error) != .none, end > start else { throw error }
                size = max(1, (end - start + 1) / 2)
                continue
            }
            let storedApprovals = try await store.approvals(chain: cursor.id, from: start, to: end)
            let storedTransfers = try await store.transfers(chain: cursor.id, from: start, to: end)
            let approvalDiff = Self.diff(stored: storedApprovals, fresh: fetched.approvals) { LogKey(block: $0.block, index: $0.logIndex) }
            let transferDiff = Self.diff(stored: storedTransfers, fresh: fetched.transfers) { LogKey(block: $0.block, index: $0.logIndex) }
            report.approvalsAdded += approvalDiff.added
            report.approvalsRemoved += approvalDiff.removed
            report.approvalsChanged += approvalDiff.changed
            report.transfersAdded += transferDiff.added
            report.transfersRemoved += transferDiff.removed
            report.transfersChanged += transferDiff.changed
            if approvalDiff.total + transferDiff.total > 0 || !fetched.newOwners.isEmpty {
                try await store.replaceRange(chain: cursor.id, from: start, to: end, approvals: fetched.approvals,
                                             transfers: fetched.transfers, headers: Array(fetched.headers.values),
                                             newOwners: fetched.newOwners, lease: lease)
            }
            report.blocksChecked += end - start + 1
            progress?(report)
            start = end + 1
        }
        if !report.clean {
            logger.warning("replay repaired the index", metadata: ["chain": "\(config.name)", "report": "\(report)"])
            let head = try await node.blockNumber()
            try await refreshAllStates(cursor: current, at: min(head, current.nextBlock - 1))
        }
        return report
    }

    static func diff<Row: Equatable>(stored: [Row], fresh: [Row], key: (Row) -> LogKey) -> (added: Int, removed: Int, changed: Int, total: Int) {
        let old = Dictionary(stored.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(fresh.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        var added = 0, removed = 0, changed = 0
        for (k, row) in new {
            if let previous = old[k] { if previous != row { changed += 1 } } else { added += 1 }
        }
        for k in old.keys where new[k] == nil { removed += 1 }
        return (added, removed, changed, added + removed + changed)
    }
}
