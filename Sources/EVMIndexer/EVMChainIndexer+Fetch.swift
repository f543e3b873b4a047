import EVM
import Logging
import SettleCore
import Transport

extension EVMChainIndexer {
    /// Fetches and verifies the logs and headers of `from...to`. `knownOwners`: the store's tracked owners when the
    /// caller already holds them (nil: read them); `prefetched`: the node's answers, already fetched.
    func fetch(from: UInt64, to: UInt64, cursor: ChainCursor, headers policy: HeaderPolicy = .all,
               pendingOwners: [EVMAddress: UInt64] = [:], knownOwners: [EVMAddress: UInt64]? = nil,
               prefetched: PrefetchedRange? = nil) async throws -> FetchedRange {
        let fetchStarted = ContinuousClock.now
        let tokens = config.tokens.map(\.address)
        var logs: [EVMLog]
        // Owners that approved one of our spenders, with the block of their first approval. Transfers of an owner
        // count from that block on, whatever the range boundaries: replay over any ranges gives the same rows.
        let storedOwners: [EVMAddress: UInt64]
        if let knownOwners { storedOwners = knownOwners } else { storedOwners = try await store.trackedOwners(chain: cursor.id) }
        var trackedOwners = storedOwners.merging(pendingOwners) { min($0, $1) }
        var newOwners: [(owner: EVMAddress, firstBlock: UInt64)] = []
        let spenderSet = Set(spenders)
        switch config.indexMode {
        case .full:
            if let prefetched { logs = prefetched.logs } else { logs = try await fullModeLogs(from: from, to: to) }
        case .scoped:
            let spenderTopics = spenders.map(Self.topic(for:))
            logs = try await node.logs(LogFilter(fromBlock: from, toBlock: to, addresses: tokens,
                                                 topics: [[ERC20.approvalTopic], nil, spenderTopics]))
        }
        Self.sortInChainOrder(&logs)  // nodes answer in chain order: then this is one pass over the positions
        for log in logs where log.topics.count == 3 {
            if case .approval(let owner, let spender, _)? = try? ERC20Event(topics: log.topics, data: log.data),
               spenderSet.contains(spender), trackedOwners[owner].map({ log.blockNumber < $0 }) ?? true {
                if trackedOwners[owner] == nil { newOwners.append((owner, log.blockNumber)) }
                trackedOwners[owner] = log.blockNumber
            }
        }
        if config.indexMode == .scoped {
            let ownerList = trackedOwners.keys.sorted()
            var seen = Set(logs.map { LogKey(block: $0.blockNumber, index: $0.logIndex) })
            var start = 0
            while start < ownerList.count {
                let chunk = ownerList[start..<min(start + Self.ownerChunk, ownerList.count)].map(Self.topic(for:))
                start += Self.ownerChunk
                for topics in [[[ERC20.transferTopic], chunk], [[ERC20.transferTopic], nil, chunk]] as [[[Hash32]?]] {
                    for log in try await node.logs(LogFilter(fromBlock: from, toBlock: to, addresses: tokens, topics: topics))
                    where seen.insert(LogKey(block: log.blockNumber, index: log.logIndex)).inserted {
                        logs.append(log)
                    }
                }
            }
        }

        // Headers: the range's last block (continuity) and, following the head, the first and every unfinalized one;
        // blocks holding logs too, unless the logs carry their block's timestamp and the range is final.
        var numbers: Set<UInt64> = policy.needsLast(to) ? [to] : []
        let logsCarryTime = logs.allSatisfy { $0.blockTimestamp != nil }
        if policy == .all || !logsCarryTime { numbers.formUnion(logs.map(\.blockNumber)) }
        if policy == .all {
            numbers.insert(from)
            let unfinalizedFrom = max(from, (cursor.finalizedBlock ?? 0) + 1)
            if unfinalizedFrom <= to { for n in unfinalizedFrom...to { numbers.insert(n) } }
        }
        var range = FetchedRange(from: from, to: to)
        if let prefetched {
            range.headers = prefetched.headers
            numbers.subtract(prefetched.headers.keys)
        }
        range.headers.merge(try await headers(numbers)) { $1 }
        range.timings.fetch = fetchStarted.secondsUntilNow + (prefetched?.seconds ?? 0)
        let decodeStarted = ContinuousClock.now
        try verify(range: range, logs: logs, tokens: Set(tokens), cursor: cursor)

        // Decode, in chain order.
        Self.sortInChainOrder(&logs)
        let anyTracked = !trackedOwners.isEmpty
        func tracked(_ owner: EVMAddress, at block: UInt64) -> Bool {
            anyTracked && (trackedOwners[owner].map { block >= $0 } ?? false)
        }
        for log in logs {
            guard let blockTime = range.headers[log.blockNumber]?.timestamp ?? log.blockTimestamp else { continue }  // verified above
            let event: ERC20Event
            do {
                event = try ERC20Event(topics: log.topics, data: log.data)
            } catch {
                logger.error("log does not decode as an ERC-20 event; not indexed", metadata: [
                    "chain": "\(config.name)", "block.number": "\(log.blockNumber)", "log.index": "\(log.logIndex)",
                    "tx.hash": "\(log.transactionHash)", "error": "\(error)",
                ])
                continue
            }
            switch event {
            case .approval(let owner, let spender, let value):
                range.approvals.append(ApprovalRecord(
                    block: log.blockNumber, logIndex: log.logIndex, blockTime: blockTime, transactionHash: log.transactionHash,
                    token: log.address, owner: owner, spender: spender, value: value))
                if spenderSet.contains(spender) || tracked(owner, at: log.blockNumber) {
                    range.affected.insert(StateKey(token: log.address, owner: owner, spender: spender))
                }
            case .transfer(let from, let to, let value):
                if config.indexMode == .scoped && !tracked(from, at: log.blockNumber) && !tracked(to, at: log.blockNumber) { continue }
                range.transfers.append(TransferRecord(
                    block: log.blockNumber, logIndex: log.logIndex, blockTime: blockTime, transactionHash: log.transactionHash,
                    token: log.address, from: from, to: to, value: value))
                for owner in [from, to] where tracked(owner, at: log.blockNumber) {
                    range.affected.insert(StateKey(token: log.address, owner: owner, spender: nil))
                }
                if tracked(from, at: log.blockNumber) {
                    // A transferFrom lowers allowances without always emitting Approval.
                    for spender in spenders { range.affected.insert(StateKey(token: log.address, owner: from, spender: spender)) }
                }
            }
        }
        range.newOwners = newOwners
        range.timings.decode = decodeStarted.secondsUntilNow
        return range
    }

    /// Sorts by (block, log index), unless already in that order (the usual answer: no copy, no moves).
    static func sortInChainOrder(_ logs: inout [EVMLog]) {
        var ordered = true
        var i = 1
        while ordered && i < logs.count {
            ordered = (logs[i - 1].blockNumber, logs[i - 1].logIndex) < (logs[i].blockNumber, logs[i].logIndex)
            i += 1
        }
        if !ordered { logs.sort { ($0.blockNumber, $0.logIndex) < ($1.blockNumber, $1.logIndex) } }
    }

    /// Every Transfer and Approval of the configured tokens in `from...to` (full mode). Nonisolated so the next
    /// range can be fetched and decoded while this actor assembles and commits the current one.
    nonisolated func fullModeLogs(from: UInt64, to: UInt64) async throws(RPCError) -> [EVMLog] {
        try await node.logs(fullModeFilter(from: from, to: to))
    }

    /// What a finalized full-mode range needs from the node, fetched and parsed off the actor (so several ranges can
    /// be in flight and parsed on every core): its logs, and the headers `fetch` would ask for under
    /// `.finalizedOnly(keep:)` — the last block when it is `keep`, and the blocks holding logs when the logs carry no
    /// timestamps.
    nonisolated func prefetchFinalized(from: UInt64, to: UInt64, keep: UInt64) async throws(RPCError) -> PrefetchedRange {
        let started = ContinuousClock.now
        let logs = try await fullModeLogs(from: from, to: to)
        var numbers: Set<UInt64> = HeaderPolicy.finalizedOnly(keep: keep).needsLast(to) ? [to] : []
        if !logs.allSatisfy({ $0.blockTimestamp != nil }) { numbers.formUnion(logs.map(\.blockNumber)) }
        return PrefetchedRange(logs: logs, headers: try await headers(numbers), seconds: started.secondsUntilNow)
    }

    /// The headers of `numbers`, by number, in batches of 500 (under common providers' batch limits).
    nonisolated func headers(_ numbers: Set<UInt64>) async throws(RPCError) -> [UInt64: BlockHeader] {
        var headers: [UInt64: BlockHeader] = [:]
        let sorted = numbers.sorted()
        var offset = 0
        while offset < sorted.count {
            let chunk = Array(sorted[offset..<min(offset + 500, sorted.count)])
            offset += chunk.count
            for header in try await node.headers(chunk) { headers[header.number] = header }
        }
        return headers
    }

    nonisolated func fullModeFilter(from: UInt64, to: UInt64) -> LogFilter {
        LogFilter(fromBlock: from, toBlock: to, addresses: config.tokens.map(\.address),
                  topics: [[ERC20.transferTopic, ERC20.approvalTopic]])
    }

    /// Every log must sit in a block whose header we hold with the same hash; headers must chain by parent hash.
    private func verify(range: FetchedRange, logs: [EVMLog], tokens: Set<EVMAddress>, cursor: ChainCursor) throws {
        var blockHashes: [UInt64: Hash32] = [:]
        var last: (block: UInt64, hash: Hash32)?
        for log in logs {
            guard log.blockNumber >= range.from, log.blockNumber <= range.to else {
                throw EVMIndexError(.inconsistentNode, "eth_getLogs for \(range.from)...\(range.to) returned a log of block \(log.blockNumber)")
            }
            guard !log.removed else {
                throw EVMIndexError(.inconsistentNode, "eth_getLogs returned a removed log (block \(log.blockNumber))")
            }
            guard tokens.contains(log.address) else {
                throw EVMIndexError(.inconsistentNode, "eth_getLogs returned a log of \(log.address), which was not asked for")
            }
            if let header = range.headers[log.blockNumber] {
                guard log.blockTimestamp == nil || log.blockTimestamp == header.timestamp else {
                    throw EVMIndexError(.inconsistentNode, "log of block \(log.blockNumber) carries timestamp \(log.blockTimestamp ?? 0), the header says \(header.timestamp)")
                }
                guard header.hash == log.blockHash else {
                    throw EVMIndexError(.inconsistentNode, "log of block \(log.blockNumber) names block hash \(log.blockHash), the header says \(header.hash)")
                }
            } else if log.blockTimestamp == nil {
                throw EVMIndexError(.inconsistentNode, "no header and no timestamp for block \(log.blockNumber)")
            } else if let last, last.block == log.blockNumber {
                // Logs come grouped by block: the common case compares with the previous log only.
                guard last.hash == log.blockHash else {
                    throw EVMIndexError(.inconsistentNode, "logs of block \(log.blockNumber) name two different block hashes")
                }
            } else {
                if let first = blockHashes[log.blockNumber], first != log.blockHash {
                    throw EVMIndexError(.inconsistentNode, "logs of block \(log.blockNumber) name two different block hashes")
                }
                blockHashes[log.blockNumber] = log.blockHash
            }
            last = (log.blockNumber, log.blockHash)
        }
        for (number, header) in range.headers {
            if number > 0, let previous = range.headers[number - 1], header.parentHash != previous.hash {
                throw EVMIndexError(.inconsistentNode, "block \(number)'s parent hash does not match block \(number - 1): the chain moved while fetching")
            }
        }
    }

    /// Reads allowances and balances at `block` for `keys` (nil: every tracked owner × token × spender).
    func readStates(keys: Set<StateKey>?, newOwners: [EVMAddress], cursor: ChainCursor, at block: UInt64) async throws -> ([AllowanceState], [BalanceState]) {
        var wanted: Set<StateKey>
        if let keys {
            wanted = keys
            for owner in newOwners {
                for token in config.tokens {
                    wanted.insert(StateKey(token: token.address, owner: owner, spender: nil))
                    for spender in spenders { wanted.insert(StateKey(token: token.address, owner: owner, spender: spender)) }
                }
            }
        } else {
            wanted = []
            let owners = Set(try await store.trackedOwners(chain: cursor.id).keys).union(newOwners)
            for owner in owners {
                for token in config.tokens {
                    wanted.insert(StateKey(token: token.address, owner: owner, spender: nil))
                    for spender in spenders { wanted.insert(StateKey(token: token.address, owner: owner, spender: spender)) }
                }
            }
        }
        let list = Array(wanted)
        var allowances: [AllowanceState] = []
        var balances: [BalanceState] = []
        var offset = 0
        while offset < list.count {
            let chunk = Array(list[offset..<min(offset + 200, list.count)])
            offset += chunk.count
            let results = try await node.calls(chunk.map { key in
                (key.token, key.spender.map { ERC20.allowance(owner: key.owner, spender: $0) } ?? ERC20.balanceOf(owner: key.owner))
            }, block: .number(block))
            for (key, bytes) in zip(chunk, results) {
                let value = try EVMNode.word(bytes, key.spender == nil ? "balanceOf" : "allowance")
                if let spender = key.spender {
                    allowances.append(AllowanceState(token: key.token, owner: key.owner, spender: spender, value: value, asOfBlock: block))
                } else {
                    balances.append(BalanceState(token: key.token, owner: key.owner, value: value, asOfBlock: block))
                }
            }
        }
        return (allowances, balances)
    }

    /// Refreshes every tracked state at `block` without moving the cursor.
    func refreshAllStates(cursor: ChainCursor, at block: UInt64) async throws {
        let (allowances, balances) = try await readStates(keys: nil, newOwners: [], cursor: cursor, at: block)
        try await store.saveStates(chain: cursor.id, allowances: allowances, balances: balances, lease: lease)
        markRefreshed()
    }

    static func topic(for address: EVMAddress) -> Hash32 {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes += address.bytes
        return (try? Hash32(bytes: bytes)) ?? .zero
    }
}

/// A log's position in the chain.
struct LogKey: Hashable {
    var block: UInt64
    var index: UInt64
}
