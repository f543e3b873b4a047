import EVM
import Logging

/// Which block headers a fetch needs.
enum HeaderPolicy {
    /// Every unfinalized block plus the blocks holding logs (following the head: reorg detection).
    case all
    /// Only what finalized history needs: the range's last block (continuity), and the blocks holding logs when
    /// the node does not put `blockTimestamp` in its logs.
    case finalizedOnly
}

extension EVMChainIndexer {
    /// Blocks behind the finalized block beyond which the initial backfill builds the secondary indexes after
    /// inserting, not while (much faster for large backfills; see Benchmarks/).
    static let deferIndexesBeyond: UInt64 = 1000

    /// Indexes finalized history (which cannot reorg) with fetching and writing overlapped: while one range is
    /// committed, the next is fetched and decoded. Stops at the finalized block; `step` takes over from there.
    func backfillFinalized(head: UInt64, progress: (@Sendable (IndexProgress) -> Void)?) async throws {
        let cursor = try await store.cursor(chain: try await prepare().id)
        let finalized = try await finalizedBlock(head: head)
        guard cursor.nextBlock + 1 < finalized else {
            try await store.ensureSecondaryIndexes()
            return
        }
        let limit = finalized - 1  // leave the finalized block itself to `step`, which keeps its header for the tip check
        let start = cursor.nextBlock
        let existing = try await store.eventCount(chain: cursor.id)
        let deferIndexes = limit - start > Self.deferIndexesBeyond && existing < 100_000
        if deferIndexes {
            logger.info("initial backfill: building secondary indexes after inserting", metadata: ["chain": "\(config.name)"])
            try await store.dropSecondaryIndexes()
        }
        var stepCursor = cursor
        stepCursor.finalizedBlock = finalized
        var owners: [EVMAddress: UInt64] = [:]  // owners found in ranges not yet committed
        let store = self.store
        let chain = cursor.id
        try await withThrowingTaskGroup(of: Double.self) { group in
            var inFlight = false
            var from = start
            var pending: IndexProgress?
            while from <= limit {
                try Task.checkCancellation()
                let fetched = try await fetchAdaptive(from: from, limit: limit, cursor: stepCursor, headers: .finalizedOnly,
                                                      pendingOwners: owners)
                for owner in fetched.newOwners where owners[owner.owner] == nil { owners[owner.owner] = owner.firstBlock }
                if !fetched.affected.isEmpty { markNeedsRefresh() }
                var batch = IndexBatch(fromBlock: fetched.from, toBlock: fetched.to)
                batch.headers = fetched.headers[fetched.to].map { [$0] } ?? []
                batch.approvals = fetched.approvals
                batch.transfers = fetched.transfers
                batch.newOwners = fetched.newOwners
                batch.headBlock = head
                batch.finalizedBlock = finalized
                batch.pruneHeadersBelow = fetched.to
                if inFlight, let seconds = try await group.next(), var done = pending {
                    done.timings.store = seconds
                    progress?(done)
                }
                group.addTask {
                    let started = ContinuousClock.now
                    try await store.commit(batch, chain: chain)
                    return started.secondsUntilNow
                }
                inFlight = true
                pending = IndexProgress(fromBlock: fetched.from, toBlock: fetched.to, headBlock: head, startBlock: start,
                                        approvals: fetched.approvals.count, transfers: fetched.transfers.count, timings: fetched.timings)
                from = fetched.to + 1
            }
            if inFlight, let seconds = try await group.next(), var done = pending {
                done.timings.store = seconds
                progress?(done)
            }
        }
        if deferIndexes {
            let started = ContinuousClock.now
            try await store.ensureSecondaryIndexes()
            logger.info("secondary indexes built", metadata: ["chain": "\(config.name)", "seconds": "\(started.secondsUntilNow)"])
        }
    }
}
