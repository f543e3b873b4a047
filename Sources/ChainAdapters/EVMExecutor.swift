import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Leases
import Logging
import SettleCore
import Settlement
import Signing
import Transport

/// Pulls due charges on one EVM chain: preflight, then `transferFrom(payer, treasury, amount)` signed by the
/// spender key with a nonce from the ledger (never the chain's; see `NonceGuard`) allocated in the same ledger write
/// that stores the signed attempt (persist before broadcast), then broadcast. `confirm` gathers evidence about every
/// unresolved attempt — receipts checked against canonical headers, the signer's count at the finalized block, the
/// transaction that used a nonce — and carries out what `ChargeLifecycle` decides. It decides nothing itself.
public actor EVMExecutor: ChargeExecutor {
    public nonisolated let config: ChainConfig
    public nonisolated let node: EVMNode
    public nonisolated let ledger: Ledger
    let key: Secp256k1PrivateKey
    let treasury: EVMAddress
    let capacity: EVMCapacityReader
    let logger: Logger
    /// Waits before re-checking a charge short of funds: the i-th wait of a charge uses entry i, the last repeats
    /// (from the chain file's `[settlement] retry_seconds`).
    public var retrySeconds: [UInt64] = [600]

    /// The lease this executor signs under (`settled serve`: "settle CHAIN"); nil signs unfenced (one daemon on SQLite,
    /// the CLI). Every signature is stored only while the lease is current (`LeaseFence`): an executor that was
    /// paused past its lease and lost it cannot sign when it wakes.
    public private(set) var lease: Lease?

    /// Signs under `lease` from now on.
    public func hold(_ lease: Lease?) { self.lease = lease }

    /// Sets the retry schedule.
    public func setRetrySeconds(_ schedule: [UInt64]) { if !schedule.isEmpty { retrySeconds = schedule } }

    /// The ledger writes and logs of the lifecycle's actions.
    var effects: LifecycleEffects { LifecycleEffects(ledger: ledger, chain: config.name, logger: logger) }
    /// Cap on `maxFeePerGas`, in wei.
    public var feeCap: UInt256 = UInt256(UInt64(500_000_000_000))
    /// The index to cross-check preflight against (optional): the chain's id in it and the store.
    var index: (store: any EVMIndexStore, chain: Int64)?
    /// Preflights whose live reading disagreed with the index (the live value is used; the index catches up).
    public private(set) var indexMismatches = 0

    /// Cross-checks preflight against this index.
    public func crossCheck(with store: any EVMIndexStore, chain: Int64) { index = (store, chain) }

    /// Blocks after which a sent, unmined attempt is replaced.
    public var replaceAfterBlocks: UInt64 = 12

    /// Sets how many blocks an attempt may stay unmined before it is replaced.
    public func setReplaceAfterBlocks(_ blocks: UInt64) { replaceAfterBlocks = blocks }

    /// Finalized blocks past an attempt's nonce use with no proof of what used it before the charge goes `unknown`.
    public var unknownAfterBlocks: UInt64 = 64

    /// Sets the bound after which an unprovable attempt makes its charge `unknown`.
    public func setUnknownAfterBlocks(_ blocks: UInt64) { unknownAfterBlocks = blocks }

    /// Where each of the spender's nonces was used in finalized history (never changes once found).
    private var located: [UInt64: (block: UInt64, hash: Hash32)] = [:]

    public nonisolated var spender: EVMAddress { EVMAddress(publicKey: key.publicKey) }

    public init(config: ChainConfig, node: EVMNode, ledger: Ledger, key: Secp256k1PrivateKey, treasury: EVMAddress, logger: Logger) {
        self.config = config
        self.node = node
        self.ledger = ledger
        self.key = key
        self.treasury = treasury
        self.capacity = EVMCapacityReader(config: config, node: node, spender: EVMAddress(publicKey: key.publicKey))
        self.logger = logger
    }

    /// Runs one due charge of `agreement` as far as it can go now: to `awaiting_funds` (with the reason), or to a
    /// persisted and broadcast attempt. Returns the charge's state afterwards.
    @discardableResult
    public func execute(_ charge: Charge, agreement: Agreement, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> ChargeState {
        guard charge.state == .due else { return charge.state }
        // The charge's pinned terms, never the agreement as it is now (it may have moved to another token or wallet).
        let terms = charge.terms
        guard let token = config.token(terms.token) else {
            throw LedgerError(.invalidInput, "\(terms.token) is not a token of \(config.name)")
        }
        guard token.decimals == charge.tokenAmount.decimals else {
            throw LedgerError(.invalidInput, "\(config.file) gives \(token.symbol) \(token.decimals) decimals; the charge was priced with \(charge.tokenAmount.decimals)")
        }
        let payer: EVMAddress
        do { payer = try EVMAddress(hex: terms.wallet) } catch { throw LedgerError(.invalidInput, "wallet \(terms.wallet): \(error.message)") }
        let pins = try pinned(charge, token: token)
        guard pins.token == token.address, pins.treasury == treasury else {
            throw LedgerError(.conflict, "the chain file changed under the charge of \(charge.invoice): it pinned \(token.symbol) at \(pins.token) paid to \(pins.treasury), the file now says \(token.address) and \(treasury); nothing is signed")
        }
        let amount = charge.tokenAmount.baseUnits
        // A token that keeps a fee on transfer, where the merchant opted in: pull enough that the treasury gets `amount`.
        let pull = try GrossUp.pull(for: amount, basisPoints: token.grossUpFeeBps, rounding: .floor)
        let live = try await capacity.capacity(wallet: terms.wallet, token: terms.token)
        if let index {
            let allowance = try await index.store.currentAllowances(chain: index.chain, owner: payer, token: token.address, spender: spender).first?.value
            let balance = try await index.store.balances(chain: index.chain, owner: payer, token: token.address).first?.value
            if allowance.map({ $0 != live.allowance }) ?? false || balance.map({ $0 != live.balance }) ?? false {
                indexMismatches += 1
                logger.warning("preflight: the chain and the index disagree; using the chain's values", metadata: [
                    "invoice.id": "\(charge.invoice)", "live.allowance": "\(live.allowance)", "index.allowance": "\(allowance?.description ?? "none")",
                    "live.balance": "\(live.balance)", "index.balance": "\(balance?.description ?? "none")",
                ])
            }
        }
        let shortfall = live.shortfall(for: pull)
        guard shortfall.isEmpty else {
            try await effects.wait(charge, reason: shortfall.reason, now: now, schedule: retrySeconds)
            return .awaitingFunds
        }
        let data = ERC20.transferFrom(from: payer, to: treasury, amount: pull)
        let gas: UInt64
        switch try await EVMPullCheck(node: node, spender: spender, treasury: treasury).check(token: token.address, payer: payer, amount: pull) {
        case .runs(let estimate):
            gas = EVMFees.gasLimit(estimate: estimate)
        case .stops(let reason, let message):
            // The node ran the pull and it reverts: nothing is sent (no fee); the charge waits with the reason.
            try await effects.wait(charge, reason: reason.rawValue, detail: message, now: now, schedule: retrySeconds)
            return .awaitingFunds
        }
        let (priority, maxFee) = try await fees()
        let head = try await node.blockNumber()
        let chainPending = try await pendingNonce()
        let chainID = config.chainID
        let key = self.key
        let to = token.address
        let signing = try await ledger.signEVMAttempt(
            charge: charge.id, chain: config.name, signer: spender.checksummed, chainPending: chainPending, head: head, fence: lease, now: now,
            sign: { nonce in
                let signed = EIP1559Transaction(chainID: chainID, nonce: nonce, maxPriorityFeePerGas: priority, maxFeePerGas: maxFee,
                                                gasLimit: gas, to: to, data: data).signed(with: key)
                return SignedPayload(transactionID: signed.hash.description, raw: signed.rawBytes,
                                     maxFee: maxFee.description, priorityFee: priority.description)
            })
        switch signing {
        case .notDue:
            return try await ledger.charge(invoice: charge.invoice)?.state ?? .signed  // another executor took it
        case .halted(let alert):
            logger.critical("signing stopped on this chain: nonce divergence; run `settled nonce inspect` then `settled nonce adopt`", metadata: [
                "chain": "\(config.name)", "spender": "\(spender)", "ledger.next_nonce": "\(alert.ledgerNext.map(String.init) ?? "?")",
                "chain.pending_count": "\(alert.chainCount.map(String.init) ?? "?")",
            ])
            throw LedgerError(.conflict, alert.detail)
        case .signed(let attempt):
            CrashPoint.reach(.afterPersist)
            try await send(attempt, now: now)
        }
        return try await ledger.charge(invoice: charge.invoice)?.state ?? .signed
    }

    /// Hands an attempt's persisted bytes to the node and feeds the answer to the charge's lifecycle. Only an
    /// acceptance (or "already known") acknowledges it; no answer ever declares it dead. An underpriced refusal of the
    /// newest attempt re-prices it at the same nonce (once per call).
    func send(_ attempt: Attempt, now: UInt64, repriceOnRefusal: Bool = true) async throws {
        let refusal = await sendRaw(attempt.raw)
        switch SendVerdict.classify(refusal: refusal?.message) {
        case .acknowledged:
            CrashPoint.reach(.afterSend)
            try await ledger.markSent(attempt, headBlock: try? await node.blockNumber(), now: now)
            CrashPoint.reach(.afterMarkSent)
        case .nonceUsed:
            break  // mined (ours or another's): the evidence decides
        case .underpriced:
            logger.warning("a node refused the payment transaction as underpriced; it stays followed and is re-priced at the same nonce", metadata: [
                "chain": "\(config.name)", "tx.hash": "\(attempt.transactionID)",
            ])
            guard repriceOnRefusal, let charge = try await ledger.charge(id: attempt.charge) else { return }
            var lifecycle = try await lifecycle(of: charge)
            try await carryOut(lifecycle.event(.refusedUnderpriced(attempt: attempt.id)), charge: charge, now: now, reprice: false)
        case .insufficientFunds:
            logger.critical("the spender cannot pay for gas: fund it with the chain's native coin; the payment stays persisted and is sent again", metadata: [
                "chain": "\(config.name)", "spender": "\(spender)", "tx.hash": "\(attempt.transactionID)",
            ])
        case .unacknowledged(let message):
            logger.warning("broadcast not acknowledged; the attempt stays followed and is sent again", metadata: [
                "chain": "\(config.name)", "tx.hash": "\(attempt.transactionID)", "error": "\(message)",
            ])
        }
    }

    /// `eth_sendRawTransaction`; nil when accepted, else the node's refusal or the transport failure.
    private func sendRaw(_ raw: [UInt8]) async -> (message: String, error: RPCError)? {
        do {
            _ = try await node.rpc.call("eth_sendRawTransaction", [.string(Hex.encode(raw, prefix: true))])
            return nil
        } catch {
            if case .server(_, let message, _) = error { return (message, error) }
            return (String(describing: error), error)
        }
    }

    /// After a start: every unresolved attempt is looked up (and re-sent where nothing shows it) before anything new.
    public func recover() async throws {
        try await confirm(now: UInt64(Date().timeIntervalSince1970))
    }

    /// Follows every unresolved attempt (`signed` ones included: a node may hold bytes it never acknowledged): gathers
    /// the evidence per charge and carries out what `ChargeLifecycle` decides. One charge's failure does not stop the
    /// others.
    public func confirm(now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        let unresolved = try await ledger.unresolvedAttempts(chain: config.name)
        let head = try await node.blockNumber()
        let finalized: UInt64
        let deep: UInt64  // how deep a settled transfer must be before it is no longer watched
        switch config.finality {
        case .finalizedTag:
            finalized = try await node.header(.finalized)?.number ?? 0
            deep = finalized
        case .confirmations(let n):
            finalized = head >= n ? head - n : 0
            let twice = n.multipliedReportingOverflow(by: 2)
            deep = twice.overflow || head < twice.partialValue ? 0 : head - twice.partialValue
        }
        try await watchSettled(deep: deep, now: now)
        guard !unresolved.isEmpty else { return }
        for chargeID in Set(unresolved.map(\.charge)).sorted() {
            do {
                guard let charge = try await ledger.charge(id: chargeID), ChargeLifecycle.followedStates.contains(charge.state) else { continue }
                var lifecycle = try await lifecycle(of: charge)
                let evidence = try await evidence(for: charge, head: head, finalized: finalized)
                try await carryOut(lifecycle.event(.observed(evidence)), charge: charge, now: now, reprice: true)
            } catch {
                logger.error("following a payment failed; retried on the next pass", metadata: [
                    "chain": "\(config.name)", "charge": "\(chargeID)", "error": "\(error)",
                ])
            }
        }
    }

    /// Settled and reported transfers not yet `deep` (twice the confirmations, or the finalized tag) are looked at
    /// again every pass; one whose block no longer holds it, with no canonical receipt elsewhere, makes its charge
    /// `reversed` (`ReversalRule`): the merchant is told, and only an operator collects it again.
    func watchSettled(deep: UInt64, now: UInt64) async throws {
        for (charge, attempt) in try await ledger.watchedAttempts(chain: config.name, above: deep) {
            guard let block = attempt.block, let hash = try? Hash32(hex: attempt.transactionID) else { continue }
            let holds = try? await node.transactionHashes(inBlock: block).map { $0.contains(hash) }
            var elsewhere: UInt64?
            if holds != true, let receipt = try? await node.receipt(hash), receipt.blockNumber != block,
               let header = try? await node.header(.number(receipt.blockNumber)), header.hash == receipt.blockHash {
                elsewhere = receipt.blockNumber
            }
            switch ReversalRule.decide(blockHolds: holds ?? nil, canonicalElsewhere: elsewhere) {
            case .intact, .noEvidence:
                continue
            case .moved(let to):
                try await ledger.setOutcome(attempt.id, .included, block: to)
            case .reversed:
                try await ledger.apply(LedgerChange(outcomes: [], move: (charge.state, .reversed),
                                                    reason: "transaction \(attempt.transactionID) is no longer in block \(block) nor anywhere on the canonical chain"),
                                       charge: charge.id, now: now)
                CrashPoint.reach(.afterRecord)
                logger.critical("a settled payment was reversed by a reorg: the merchant is told; collect it again with `settled charge recollect`", metadata: [
                    "chain": "\(config.name)", "invoice.id": "\(charge.invoice)", "tx.hash": "\(attempt.transactionID)", "block.number": "\(block)",
                ])
            }
        }
    }

    /// The charge's machine, rebuilt from the ledger (the ledger is the machine's memory across restarts).
    func lifecycle(of charge: Charge) async throws -> ChargeLifecycle {
        ChargeLifecycle(state: charge.state, attempts: try await ledger.attempts(charge: charge.id).map(ChargeLifecycle.Tracked.init),
                        policy: .evm(replaceAfterBlocks: replaceAfterBlocks, unknownAfterBlocks: unknownAfterBlocks))
    }

    /// What the node shows about the charge's live attempts. Absence is never turned into death here: an attempt is
    /// `dead` only when the transaction that used its nonce at a finalized block is found and is none of ours.
    func evidence(for charge: Charge, head: UInt64, finalized: UInt64) async throws -> LifecycleEvidence {
        let live = try await ledger.attempts(charge: charge.id).filter { ChargeLifecycle.Tracked($0).isLive }
        var evidence = LifecycleEvidence(head: head)
        for attempt in live {
            guard let receipt = try await node.receipt(try Hash32(hex: attempt.transactionID)) else { continue }
            guard let header = try await node.header(.number(receipt.blockNumber)), header.hash == receipt.blockHash else { continue }
            evidence.sightings[attempt.id] = try await landing(receipt, finalized: finalized, charge: charge, into: &evidence, attempt: attempt.id)
        }
        guard evidence.sightings.isEmpty else { return evidence }
        // Nothing landed that the node shows. Whose transaction used each nonce at a finalized block?
        let groups = Dictionary(grouping: live.filter { $0.nonce != nil }, by: { $0.nonce ?? 0 })
        guard !groups.isEmpty, let count = try? await node.transactionCount(of: spender, at: .number(finalized)) else { return evidence }
        for (nonce, group) in groups {
            guard count > nonce else { continue }  // unseen: the nonce may still be taken by one of ours
            let used = try? await locate(nonce: nonce, above: group.compactMap(\.headAtSigning).min() ?? 0, through: finalized)
            let ours = Set(group.map { $0.transactionID.lowercased() })
            if let used, ours.contains(used.hash.description.lowercased()), let attempt = group.first(where: { $0.transactionID.lowercased() == used.hash.description.lowercased() }) {
                // Ours used it: its receipt from the block (the node's transaction index may be pruned).
                if let receipt = try? await node.receipts(inBlock: used.block)?.first(where: { $0.transactionHash == used.hash }) {
                    evidence.sightings[attempt.id] = try await landing(receipt, finalized: finalized, charge: charge, into: &evidence,
                                                                       attempt: attempt.id)
                    continue
                }
            }
            let past = used.map { finalized - min(finalized, $0.block) } ?? finalized - min(finalized, group.compactMap(\.sentBlock).max() ?? finalized)
            for attempt in group {
                evidence.sightings[attempt.id] = SightingRules.evm(nonce: nonce, finalizedCount: count, transactionAtNonce: used?.hash.description,
                                                                   ours: ours, blocksPast: past)
            }
        }
        return evidence
    }

    /// Where the signer's `nonce` was used in finalized history (cached: finalized history does not change).
    func locate(nonce: UInt64, above: UInt64, through finalized: UInt64) async throws -> (block: UInt64, hash: Hash32)? {
        if let known = located[nonce] { return known }
        guard let block = try await node.blockUsing(nonce: nonce, of: spender, above: above, through: finalized),
              let hash = try await node.transaction(from: spender, nonce: nonce, inBlock: block) else { return nil }
        located[nonce] = (block, hash)
        return (block, hash)
    }

    private func landing(_ receipt: EVMReceipt, finalized: UInt64, charge: Charge, into evidence: inout LifecycleEvidence,
                         attempt: Int64) async throws -> Sighting {
        let final = receipt.blockNumber <= finalized
        var matches: Bool?
        var succeeded = receipt.succeeded
        if final, receipt.succeeded {
            switch try await arrival(receipt, charge: charge) {
            case .exact: matches = true
            case .nothingMoved: succeeded = false  // a token that returns false instead of reverting: a failed pull
            case .other(let what):
                evidence.received[attempt] = what
                matches = false
            }
        }
        return .landed(block: receipt.blockNumber, succeeded: succeeded, final: final, matches: matches)
    }

    /// Carries out the lifecycle's actions, in order.
    func carryOut(_ actions: [LifecycleAction], charge: Charge, now: UInt64, reprice: Bool) async throws {
        for action in actions {
            switch action {
            case .record(let change):
                try await effects.record(change, charge: charge, now: now, schedule: retrySeconds)
            case .send(let id):
                guard let attempt = try await ledger.attempts(charge: charge.id).first(where: { $0.id == id }) else { continue }
                try await send(attempt, now: now, repriceOnRefusal: reprice)
            case .replace(let id):
                guard let stuck = try await ledger.attempts(charge: charge.id).first(where: { $0.id == id }) else { continue }
                try await replace(stuck, now: now)
            case .alert(let alert):
                effects.report(alert, charge: charge)
            }
        }
    }

    /// Re-signs an attempt's payload with the SAME nonce and fees raised by at least 12.5% (up to the cap), persists
    /// it, and sends it. Every attempt at the nonce stays followed.
    private func replace(_ stuck: Attempt, now: UInt64) async throws {
        let decoded = try SignedTransaction(raw: stuck.raw)
        guard case .eip1559(var transaction) = decoded.body else { return }
        let bump: (UInt256) throws -> UInt256 = { fee in try fee.checkedAdding((fee / 8).checkedAdding(.one)) }
        let (currentPriority, currentMax) = try await fees()
        let priority = max(try bump(transaction.maxPriorityFeePerGas), currentPriority)
        let maxFee = max(try bump(transaction.maxFeePerGas), currentMax)
        guard maxFee <= feeCap else {
            logger.error("stuck payment transaction cannot be replaced: its fees are at the cap", metadata: ["tx.hash": "\(stuck.transactionID)"])
            return
        }
        transaction.maxPriorityFeePerGas = min(priority, maxFee)
        transaction.maxFeePerGas = maxFee
        let signed = transaction.signed(with: key)
        let replacement = try await ledger.replaceEVMAttempt(stuck, payload: SignedPayload(
            transactionID: signed.hash.description, raw: signed.rawBytes, maxFee: maxFee.description, priorityFee: transaction.maxPriorityFeePerGas.description),
            fence: lease, now: now)
        CrashPoint.reach(.afterPersist)
        logger.warning("payment transaction re-priced at the same nonce", metadata: [
            "tx.hash": "\(stuck.transactionID)", "replacement": "\(replacement.transactionID)",
        ])
        try await send(replacement, now: now, repriceOnRefusal: false)
    }

    /// The token contract and treasury the charge pinned when it was created (the chain file's for charges created
    /// without them).
    func pinned(_ charge: Charge, token: ChainConfig.Token) throws -> (token: EVMAddress, treasury: EVMAddress) {
        (try charge.terms.asset.map { try EVMAddress(hex: $0) } ?? token.address, try charge.terms.treasury.map { try EVMAddress(hex: $0) } ?? treasury)
    }

    /// What a final, successful transaction delivered.
    enum Arrival: Hashable, Sendable {
        /// Exactly the charge's amount of its token, from the payer, into the treasury.
        case exact
        /// Nothing at all: no Transfer of the token, the treasury's balance unchanged (a token that returns `false`
        /// instead of reverting). A failed pull, like a revert.
        case nothingMoved
        /// Something else (the charge's `mismatch` reason).
        case other(String)
    }

    /// What arrived, checked against the charge:
    /// - the receipt's Transfer logs of the token from the payer to the treasury must sum to exactly the amount
    ///   (a fee-on-transfer token delivers less);
    /// - where the node serves the state, the treasury's `balanceOf` across the block must move by exactly what the
    ///   block's Transfer logs of the token into and out of the treasury say (a token whose logs lie is caught).
    func arrival(_ receipt: EVMReceipt, charge: Charge) async throws -> Arrival {
        guard let token = config.token(charge.terms.token), let payer = try? EVMAddress(hex: charge.terms.wallet),
              let pins = try? pinned(charge, token: token) else {
            return .other("the charge's token, wallet or treasury is not valid on \(config.name)")
        }
        // Matched against what the charge pinned, whatever the chain file says now.
        let (tokenAddress, treasury) = (pins.token, pins.treasury)
        let amount = charge.tokenAmount.baseUnits
        var received = UInt256.zero
        var tokenTransfers = 0
        for log in receipt.logs where log.address == tokenAddress {
            guard case .transfer(let from, let to, let value)? = try? ERC20Event(topics: log.topics, data: log.data) else { continue }
            tokenTransfers += 1
            guard from == payer, to == treasury else { continue }
            guard let sum = try? received.checkedAdding(value) else { return .other("the Transfer logs overflow") }
            received = sum
        }
        let balances = await balanceCheck(token: tokenAddress, treasury: treasury, receipt: receipt)
        switch ArrivalRule.decide(tokenTransfers: tokenTransfers, received: received, amount: amount, grossedUp: token.grossUpFeeBps > 0,
                                  balances: balances, describe: { received in
            "the treasury received \(received) of \(amount) base units of \(token.symbol) from the payer in \(receipt.transactionHash)"
        }) {
        case .exact: return .exact
        case .nothingMoved: return .nothingMoved
        case .other(let what): return .other(what)
        }
    }

    /// The treasury's `balanceOf` before and at the receipt's block against the block's Transfer logs of the token
    /// into and out of it; `unavailable` when the node keeps no state that old.
    private func balanceCheck(token: EVMAddress, treasury: EVMAddress, receipt: EVMReceipt) async -> ArrivalRule.BalanceCheck {
        guard receipt.blockNumber > 0,
              let before = try? await node.balanceOf(token: token, owner: treasury, block: .number(receipt.blockNumber - 1)),
              let after = try? await node.balanceOf(token: token, owner: treasury, block: .number(receipt.blockNumber)),
              let logged = try? await treasuryFlow(token: token, treasury: treasury, block: receipt.blockNumber, hash: receipt.blockHash)
        else { return .unavailable }
        guard let expected = try? before.checkedAdding(logged.in), expected >= logged.out, expected - logged.out == after else {
            return .disagrees("the token's logs say the treasury gained \(logged.in) and lost \(logged.out) in block \(receipt.blockNumber), but its balance went from \(before) to \(after)")
        }
        return .agrees
    }

    /// Sums of the token's Transfer logs into and out of the treasury in one block (checked against its hash).
    private func treasuryFlow(token: EVMAddress, treasury: EVMAddress, block: UInt64, hash: Hash32) async throws -> (in: UInt256, out: UInt256)? {
        let topic = try Hash32(hex: "0x000000000000000000000000" + treasury.lowercaseHex)
        var flows = (in: UInt256.zero, out: UInt256.zero)
        for (position, isIn) in [(2, true), (1, false)] {
            var topics: [[Hash32]?] = [[ERC20.transferTopic], nil, nil]
            topics[position] = [topic]
            for log in try await node.logs(LogFilter(fromBlock: block, toBlock: block, addresses: [token], topics: topics)) {
                guard log.blockHash == hash, case .transfer(_, _, let value)? = try? ERC20Event(topics: log.topics, data: log.data) else { return nil }
                if isIn { flows.in = try flows.in.checkedAdding(value) } else { flows.out = try flows.out.checkedAdding(value) }
            }
        }
        return flows
    }

    // MARK: - Node queries

    /// EIP-1559 fees for the next transaction (see `EVMFees.suggest`), capped at `feeCap`.
    func fees() async throws -> (priority: UInt256, maxFee: UInt256) {
        try await EVMFees.suggest(node: node, cap: feeCap)
    }

    func pendingNonce() async throws -> UInt64 {
        try await node.pendingNonce(of: spender)
    }
}
