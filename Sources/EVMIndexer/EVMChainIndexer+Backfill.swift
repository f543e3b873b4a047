import EVM
import Logging
import Transport

/// Which block headers a fetch needs.
enum HeaderPolicy: Equatable {
    /// Every unfinalized block plus the blocks holding logs (following the head: reorg detection).
    case all
    /// Only what finalized history needs: the header of block `keep` when the range ends there (the backfill's
    /// last block, whose header `step` compares with the node's next), and the blocks holding logs when the node
    /// does not put `blockTimestamp` in its logs. Finalized history cannot reorg, so the other ranges' last headers
    /// would be fetched only to be pruned (one request per range, half of them on a sparse chain).
    case finalizedOnly(keep: UInt64)

    /// Whether the header of a range's last block `to` is needed.
    func needsLast(_ to: UInt64) -> Bool {
        switch self {
        case .all: true
        case .finalizedOnly(let keep): to == keep
        }
    }
}

extension EVMChainIndexer {
    /// Blocks behind the finalized block beyond which the initial backfill builds the secondary indexes after
    /// inserting, not while (much faster for large backfills; see Benchmarks/).
    static let deferIndexesBeyond: UInt64 = 1000

    /// Rows gathered into one backfill transaction (larger transactions insert faster) …
    static let rowsPerCommit = 50_000
    /// … but never more than this many ranges, so sparse history still commits (and shows progress) often.
    static let rangesPerCommit = 8

    /// Indexes finalized history (which cannot reorg) with fetching, parsing and writing overlapped. In full mode up
    /// to `[index] requests_in_flight` ranges are fetched and parsed at once, off the actor (so on every core), as
    /// many as a `RequestWindow` allows: it narrows while the provider shows strain (429, 5xx, `Retry-After`,
    /// timeouts) and widens again as answers come back clean. Answers are taken in block order from a reorder
    /// buffer, verified and decoded on the actor, and gathered into transactions of about `rowsPerCommit` rows; one
    /// commit is in flight at a time and each moves the cursor with its rows, so the index never holds a gap. A
    /// range the provider refuses for its size (too many results, too large, too slow) is split at once into ranges
    /// it takes, fetched in parallel; one that failed otherwise (errors beyond the client's retries) is fetched
    /// again adaptively when its turn comes. Scoped mode fetches one range at
    /// a time (which transfers it keeps depends on the owners found before). Stops at the finalized block; `step`
    /// takes over from there.
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
        var owners: [EVMAddress: UInt64] = [:]  // owners found by this backfill (committed or not)
        let knownOwners = try await store.trackedOwners(chain: cursor.id)  // only this backfill adds owners meanwhile
        let store = self.store
        let lease = self.lease
        let chain = cursor.id
        let pipelined = config.indexMode == .full
        do {
        try await withThrowingTaskGroup(of: BackfillTaskResult.self) { group in
            var overloadsSeen = node.rpc.overloadSignals
            var nextLaunch = start
            var fetchesInFlight = 0
            // Answers by their range's first block; a nil result asks for an adaptive fetch of `from...to`.
            var ready: [UInt64: (to: UInt64, result: Result<PrefetchedRange, RPCError>?)] = [:]
            var commitInFlight = false
            var pending: IndexProgress?
            var from = start
            var accumulated: IndexBatch?
            var accumulatedRanges = 0
            var accumulatedProgress = (approvals: 0, transfers: 0, fetch: 0.0, decode: 0.0)

            // Ranges the provider refused for their size, to ask again at once in sizes it takes.
            var refetch: [(from: UInt64, to: UInt64)] = []

            func take(_ result: BackfillTaskResult?) throws {
                switch result {
                case .fetched(let rangeFrom, let rangeTo, let generation, let answer)?:
                    fetchesInFlight -= 1
                    if case .failure(let error) = answer, let size = Self.sizeAfterRefusal(error, from: rangeFrom, to: rangeTo) {
                        // Refused for its size: split now and fetch the parts in parallel, rather than one by one when
                        // its turn comes (each a round trip while every range behind it waits).
                        rangeSize.refused(size: rangeTo - rangeFrom + 1, next: size)
                        var partFrom = rangeFrom
                        while partFrom <= rangeTo {
                            let partTo = rangeTo - partFrom < size ? rangeTo : partFrom + size - 1
                            refetch.append((partFrom, partTo))
                            partFrom = partTo + 1
                        }
                    } else {
                        ready[rangeFrom] = (rangeTo, answer)
                    }
                    // The client's count of overloaded answers is shared by every request in flight: credit a rise
                    // to an answer of the current generation only (an older one's would be ignored and lost).
                    let overloads = node.rpc.overloadSignals
                    if generation == requestWindow.generation || overloads == overloadsSeen {
                        requestWindow.answered(sentIn: generation, overloaded: overloads != overloadsSeen)
                        overloadsSeen = overloads
                    }
                case .committed(let seconds)?:
                    commitInFlight = false
                    if var done = pending {
                        done.timings.store = seconds
                        progress?(done)
                        pending = nil
                    }
                case nil:  // not reached: it is asked only while a task it started is running
                    throw EVMIndexError(.cursorMismatch, "backfill waited for a task it had not started (at block \(from))")
                }
            }

            while from <= limit {
                try Task.checkCancellation()
                let fetched: FetchedRange
                if pipelined {
                    // Launches: first the parts of refused ranges (already counted against the window), then new
                    // ranges while the window has room. Again after every answer taken while waiting for `from`,
                    // whose range may itself have been split.
                    var waiting = true
                    while waiting {
                        while !refetch.isEmpty || (fetchesInFlight + ready.count < requestWindow.allowed && nextLaunch <= limit) {
                            let rangeFrom: UInt64
                            let rangeTo: UInt64
                            if refetch.isEmpty {
                                rangeFrom = nextLaunch
                                rangeTo = min(limit, rangeFrom + rangeSize.current - 1)
                                nextLaunch = rangeTo + 1
                            } else {
                                (rangeFrom, rangeTo) = refetch.removeFirst()
                            }
                            let generation = requestWindow.generation
                            group.addTask {
                                do throws(RPCError) {
                                    return .fetched(from: rangeFrom, to: rangeTo, generation: generation,
                                                    .success(try await self.prefetchFinalized(from: rangeFrom, to: rangeTo, keep: limit)))
                                } catch {
                                    return .fetched(from: rangeFrom, to: rangeTo, generation: generation, .failure(error))
                                }
                            }
                            fetchesInFlight += 1
                        }
                        if ready[from] == nil { try take(try await group.next()) } else { waiting = false }
                    }
                    let entry = ready.removeValue(forKey: from)!
                    if case .success(let answer)? = entry.result {
                        fetched = try await fetch(from: from, to: entry.to, cursor: stepCursor, headers: .finalizedOnly(keep: limit),
                                                  pendingOwners: owners, knownOwners: knownOwners, prefetched: answer)
                        rangeSize.answered(size: entry.to - from + 1)
                    } else {
                        // Failed in its child task for another reason than its size (errors beyond the client's
                        // retries), or left over from an adaptive fetch: asked again here, one range at a time.
                        fetched = try await fetchAdaptive(from: from, limit: entry.to, cursor: stepCursor, headers: .finalizedOnly(keep: limit),
                                                          pendingOwners: owners, knownOwners: knownOwners)
                        if fetched.to < entry.to { ready[fetched.to + 1] = (entry.to, nil) }
                    }
                } else {
                    fetched = try await fetchAdaptive(from: from, limit: limit, cursor: stepCursor, headers: .finalizedOnly(keep: limit),
                                                      pendingOwners: owners, knownOwners: knownOwners)
                }
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
                    continue
                }
                accumulated = nil
                accumulatedRanges = 0
                while commitInFlight { try take(try await group.next()) }
                let committing = batch
                group.addTask {
                    let started = ContinuousClock.now
                    try await store.commit(committing, chain: chain, lease: lease)
                    return .committed(seconds: started.secondsUntilNow)
                }
                commitInFlight = true
                var timings = StepTimings()
                timings.fetch = accumulatedProgress.fetch
                timings.decode = accumulatedProgress.decode
                pending = IndexProgress(fromBlock: batch.fromBlock, toBlock: batch.toBlock, headBlock: head, startBlock: start,
                                        approvals: accumulatedProgress.approvals, transfers: accumulatedProgress.transfers, timings: timings)
                accumulatedProgress = (0, 0, 0, 0)
            }
            while commitInFlight { try take(try await group.next()) }
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

extension EVMChainIndexer {
    /// The range size to ask again in when the provider refused `from...to` for its size (its suggestion, or half,
    /// rounded up); nil when the error is not about the size, or the range is one block already. Both the backfill's
    /// split and `fetchAdaptive` decide by it.
    static func sizeAfterRefusal(_ error: RPCError, from: UInt64, to: UInt64) -> UInt64? {
        let size = to - from + 1
        switch LogRangeAdvice(error) {
        case .suggested(let suggestedFrom, let suggestedTo) where suggestedFrom == from && suggestedTo < to:
            return suggestedTo - from + 1
        case .shrink, .suggested:
            return size > 1 ? size - size / 2 : nil
        case .none:
            return nil
        }
    }
}

/// What a child task of the backfill finished: a range's node answers (or why there are none), or a commit.
enum BackfillTaskResult: Sendable {
    case fetched(from: UInt64, to: UInt64, generation: UInt64, Result<PrefetchedRange, RPCError>)
    case committed(seconds: Double)
}
