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

    /// Rows gathered into one backfill transaction (larger transactions insert faster) …
    static let rowsPerCommit = 50_000
    /// … but never more than this many ranges, so sparse history still commits (and shows progress) often.
    static let rangesPerCommit = 8

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
        let deferIndexes = limit - start > Self.deferIndexesBeyond ? try await store.beginBulkLoad(chain: cursor.id) : false
        if deferIndexes {
            logger.info("initial backfill: building secondary indexes after inserting", metadata: ["chain": "\(config.name)"])
        }
        var stepCursor = cursor
        stepCursor.finalizedBlock = finalized
        var owners: [EVMAddress: UInt64] = [:]  // owners found in ranges not yet committed
        let store = self.store
        let lease = self.lease
        let chain = cursor.id
        let prefetching = config.indexMode == .full
        do {
        try await withThrowingTaskGroup(of: Double.self) { group in
            var inFlight = false
            var from = start
            var pending: IndexProgress?
            var carried: (from: UInt64, to: UInt64, response: (body: [UInt8], id: UInt64))?
            var accumulated: IndexBatch?
            var accumulatedRanges = 0
            var accumulatedProgress = (approvals: 0, transfers: 0, fetch: 0.0, decode: 0.0)
            while from <= limit {
                try Task.checkCancellation()
                let fetched: FetchedRange
                if let ahead = carried, ahead.from == from, let logs = try? LogsDecoder.decode(ahead.response.body, id: ahead.response.id) {
                    fetched = try await fetch(from: ahead.from, to: ahead.to, cursor: stepCursor, headers: .finalizedOnly,
                                              pendingOwners: owners, prefetched: logs)
                } else {
                    fetched = try await fetchAdaptive(from: from, limit: limit, cursor: stepCursor, headers: .finalizedOnly,
                                                      pendingOwners: owners)
                }
                carried = nil
                // Transfer the next range while this one is decoded and committed. A failure here is not an error: the
                // range is fetched again (adaptively) on the next turn.
                let aheadFrom = fetched.to + 1
                let aheadTo = min(limit, fetched.to + rangeSize)
                async let ahead = prefetching && aheadFrom <= limit ? try? fullModeResponse(from: aheadFrom, to: aheadTo) : nil
                for owner in fetched.newOwners where owners[owner.owner] == nil { owners[owner.owner] = owner.firstBlock }
                if !fetched.affected.isEmpty { markNeedsRefresh() }
                // Ranges accumulate into one transaction of about `Self.rowsPerCommit` rows (larger transactions
                // insert faster); the cursor still moves with the rows.
                var batch = accumulated ?? IndexBatch(fromBlock: fetched.from, toBlock: fetched.to)
                batch.toBlock = fetched.to
                batch.headers = fetched.headers[fetched.to].map { [$0] } ?? []
                batch.approvals += fetched.approvals
                batch.transfers += fetched.transfers
                batch.newOwners += fetched.newOwners
                batch.headBlock = head
                batch.finalizedBlock = finalized
                batch.pruneHeadersBelow = fetched.to
                accumulatedProgress.approvals += fetched.approvals.count
                accumulatedProgress.transfers += fetched.transfers.count
                accumulatedProgress.fetch += fetched.timings.fetch
                accumulatedProgress.decode += fetched.timings.decode
                from = fetched.to + 1
                accumulatedRanges += 1
                if batch.approvals.count + batch.transfers.count < Self.rowsPerCommit
                    && accumulatedRanges < Self.rangesPerCommit && from <= limit
                {
                    accumulated = batch
                    if let response = await ahead { carried = (aheadFrom, aheadTo, response) }
                    continue
                }
                accumulated = nil
                accumulatedRanges = 0
                if inFlight, let seconds = try await group.next(), var done = pending {
                    done.timings.store = seconds
                    progress?(done)
                }
                let committing = batch
                group.addTask {
                    let started = ContinuousClock.now
                    try await store.commit(committing, chain: chain, lease: lease)
                    return started.secondsUntilNow
                }
                inFlight = true
                var timings = StepTimings()
                timings.fetch = accumulatedProgress.fetch
                timings.decode = accumulatedProgress.decode
                pending = IndexProgress(fromBlock: batch.fromBlock, toBlock: batch.toBlock, headBlock: head, startBlock: start,
                                        approvals: accumulatedProgress.approvals, transfers: accumulatedProgress.transfers, timings: timings)
                accumulatedProgress = (0, 0, 0, 0)
                if let response = await ahead { carried = (aheadFrom, aheadTo, response) }
            }
            if inFlight, let seconds = try await group.next(), var done = pending {
                done.timings.store = seconds
                progress?(done)
            }
        }
        } catch {
            if deferIndexes { try? await store.endBulkLoad(completed: false) }
            throw error
        }
        if deferIndexes {
            let started = ContinuousClock.now
            try await store.endBulkLoad(completed: true)
            logger.info("secondary indexes built", metadata: ["chain": "\(config.name)", "seconds": "\(started.secondsUntilNow)"])
        }
    }
}
