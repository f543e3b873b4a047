import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Logging
import SettleCore
import Settlement
import Signing
import Transport

/// Pulls due charges on one EVM chain: preflight, then `transferFrom(payer, treasury, amount)` signed by the
/// spender key with a nonce allocated in the same ledger write that stores the signed attempt (persist before
/// broadcast), then broadcast; `confirm` follows attempts to finality and settles charges whose transfer is final
/// and matches token, payer, treasury and amount exactly.
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

    /// Sets the retry schedule.
    public func setRetrySeconds(_ schedule: [UInt64]) { if !schedule.isEmpty { retrySeconds = schedule } }

    /// When a charge that is short now is looked at again.
    func nextAttempt(_ charge: Charge, now: UInt64) async throws -> UInt64 {
        let waits = try await ledger.history(charge.id).filter { $0.to == .awaitingFunds }.count
        return now + retrySeconds[min(waits, retrySeconds.count - 1)]
    }
    /// Cap on `maxFeePerGas`, in wei.
    public var feeCap: UInt256 = UInt256(UInt64(500_000_000_000))
    /// The index to cross-check preflight against (optional): the chain's id in it and the store.
    var index: (store: EVMIndexStore, chain: Int64)?
    /// Preflights whose live reading disagreed with the index (the live value is used; the index catches up).
    public private(set) var indexMismatches = 0

    /// Cross-checks preflight against this index.
    public func crossCheck(with store: EVMIndexStore, chain: Int64) { index = (store, chain) }

    /// Blocks after which a sent, unmined attempt is replaced.
    public var replaceAfterBlocks: UInt64 = 12

    /// Sets how many blocks an attempt may stay unmined before it is replaced.
    public func setReplaceAfterBlocks(_ blocks: UInt64) { replaceAfterBlocks = blocks }

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
        guard let token = config.token(agreement.token) else {
            throw LedgerError(.invalidInput, "\(agreement.token) is not a token of \(config.name)")
        }
        let payer: EVMAddress
        do { payer = try EVMAddress(hex: agreement.wallet) } catch { throw LedgerError(.invalidInput, "wallet \(agreement.wallet): \(error.message)") }
        let amount = charge.tokenAmount.baseUnits
        let live = try await capacity.capacity(wallet: agreement.wallet, token: agreement.token)
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
        let shortfall = live.shortfall(for: amount)
        guard shortfall.isEmpty else {
            try await ledger.transition(charge.id, from: .due, to: .awaitingFunds, reason: shortfall.reason, nextAttemptAt: try await nextAttempt(charge, now: now), now: now)
            return .awaitingFunds
        }
        let data = ERC20.transferFrom(from: payer, to: treasury, amount: amount)
        let gas = try await estimateGas(token: token.address, data: data)
        let (priority, maxFee) = try await fees()
        let chainNonce = try await pendingNonce()
        let chainID = config.chainID
        let key = self.key
        let to = token.address
        guard let attempt = try await ledger.signEVMAttempt(
            charge: charge.id, chain: config.name, signer: spender.checksummed, chainNonce: chainNonce, now: now,
            sign: { nonce in
                let signed = EIP1559Transaction(chainID: chainID, nonce: nonce, maxPriorityFeePerGas: priority, maxFeePerGas: maxFee,
                                                gasLimit: gas, to: to, data: data).signed(with: key)
                return SignedPayload(transactionID: signed.hash.description, raw: signed.rawBytes,
                                     maxFee: maxFee.description, priorityFee: priority.description)
            })
        else {
            return try await ledger.charge(invoice: charge.invoice)?.state ?? .signed  // another executor took it
        }
        try await broadcast(attempt)
        return try await ledger.charge(invoice: charge.invoice)?.state ?? .signed
    }

    /// Hands an attempt's persisted bytes to the node. "already known" and "nonce too low" for our own transaction
    /// are fine (it is in the pool or mined); anything else leaves it `signed`, to be sent again by `recover`.
    public func broadcast(_ attempt: Attempt) async throws {
        let refusal = await sendRaw(attempt.raw)
        if let refusal {
            let lower = refusal.message.lowercased()
            let ours = try Hash32(hex: attempt.transactionID)
            if lower.contains("already known") || lower.contains("known transaction") {
                // Already in the pool: sent.
            } else if lower.contains("nonce too low"), try await node.knowsTransaction(ours) {
                // Ours, already mined.
            } else if lower.contains("insufficient funds") {
                logger.critical("the spender cannot pay for gas: fund it with the chain's native coin; the payment stays persisted and is sent again", metadata: [
                    "chain": "\(config.name)", "spender": "\(spender)", "tx.hash": "\(attempt.transactionID)",
                ])
                throw refusal.error
            } else if lower.contains("replacement transaction underpriced") || lower.contains("underpriced") {
                // A same-nonce transaction with higher fees is already pending: this one will never be accepted.
                try await ledger.setOutcome(attempt.id, .dead)
                logger.warning("replacement refused as underpriced; the pending one is followed", metadata: ["tx.hash": "\(attempt.transactionID)"])
                return
            } else {
                logger.error("broadcast refused; the attempt stays persisted and is retried", metadata: [
                    "chain": "\(config.name)", "tx.hash": "\(attempt.transactionID)", "error": "\(refusal.message)",
                ])
                throw refusal.error
            }
        }
        try await ledger.markSent(attempt, headBlock: try? await node.blockNumber())
    }

    /// `eth_sendRawTransaction`; nil when accepted, else the node's refusal (transport failures are thrown).
    private func sendRaw(_ raw: [UInt8]) async -> (message: String, error: RPCError)? {
        let result: Result<JSON, RPCError>
        do {
            result = .success(try await node.rpc.call("eth_sendRawTransaction", [.string(Hex.encode(raw, prefix: true))]))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success: return nil
        case .failure(let error):
            if case .server(_, let message, _) = error { return (message, error) }
            return (String(describing: error), error)
        }
    }

    /// After a restart: sends every persisted attempt that was signed but maybe never sent, before anything new.
    public func recover() async throws {
        for attempt in try await ledger.unresolvedAttempts(chain: config.name) where attempt.outcome == .signed {
            do {
                try await broadcast(attempt)
            } catch {  // one attempt the node refuses must not hold back the others
                logger.error("recovering a persisted attempt failed; retried on the next pass", metadata: [
                    "chain": "\(config.name)", "tx.hash": "\(attempt.transactionID)", "error": "\(error)",
                ])
            }
        }
    }

    /// Follows sent attempts, per charge (a charge may have a stuck attempt and its same-nonce replacement):
    /// - one of them mined on the canonical chain: the others are dead (the nonce is used); reverted →
    ///   `awaiting_funds` (recorded); succeeded → `included`, and `settled` once final and matching exactly;
    /// - one that was included is gone (reorg): back to `broadcast`, and the same bytes are sent again;
    /// - none mined and the nonce used by a transaction of someone else's: all dead, the charge is `due` again;
    /// - none mined after `replaceAfterBlocks`: replaced with the same payload at ≥ +12.5% fees (up to the cap),
    ///   persisted before it is sent.
    public func confirm(now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        let head = try await node.blockNumber()
        let finalized: UInt64
        switch config.finality {
        case .finalizedTag: finalized = try await node.header(.finalized)?.number ?? 0
        case .confirmations(let n): finalized = head >= n ? head - n : 0
        }
        let unresolved = try await ledger.unresolvedAttempts(chain: config.name).filter { $0.outcome != .signed }
        for (chargeID, attempts) in Dictionary(grouping: unresolved, by: \.charge).sorted(by: { $0.key < $1.key }) {
            do {
                try await follow(chargeID, attempts, head: head, finalized: finalized, now: now)
            } catch {
                logger.error("following a payment failed; retried on the next pass", metadata: [
                    "chain": "\(config.name)", "charge": "\(chargeID)", "error": "\(error)",
                ])
            }
        }
    }

    /// One charge's unresolved attempts (see `confirm`).
    private func follow(_ chargeID: Int64, _ attempts: [Attempt], head: UInt64, finalized: UInt64, now: UInt64) async throws {
        guard let charge = try await ledger.charge(id: chargeID) else { return }
        var mined: (attempt: Attempt, receipt: EVMReceipt)?
        for attempt in attempts {
            if let receipt = try await node.receipt(try Hash32(hex: attempt.transactionID)),
               let header = try await node.header(.number(receipt.blockNumber)), header.hash == receipt.blockHash {
                mined = (attempt, receipt)
                break
            }
        }
        guard let (attempt, receipt) = mined else {
            try await unmined(attempts, charge: charge, head: head, finalized: finalized, now: now)
            return
        }
        let others = attempts.filter { $0.id != attempt.id }.map { (attempt: $0.id, outcome: Attempt.Outcome.dead, block: UInt64?.none) }
        guard receipt.succeeded else {
            try await ledger.record(others + [(attempt.id, .reverted, receipt.blockNumber)], charge: charge.id,
                                    moves: [(.included, .broadcast), (.broadcast, .awaitingFunds)], reason: "reverted",
                                    nextAttemptAt: try await nextAttempt(charge, now: now), now: now)
            return
        }
        if attempt.outcome != .included || charge.state == .broadcast || !others.isEmpty {
            try await ledger.record(others + [(attempt.id, .included, receipt.blockNumber)], charge: charge.id,
                                    moves: [(.broadcast, .included)], now: now)
        }
        guard receipt.blockNumber <= finalized, let agreement = try await ledger.agreement(id: charge.agreement) else { return }
        if try matches(receipt, charge: charge, agreement: agreement) {
            try await ledger.transition(charge.id, from: .included, to: .settled, now: now)
        } else {
            logger.critical("final payment transaction does not carry the expected transfer; charge left included", metadata: [
                "tx.hash": "\(attempt.transactionID)", "invoice.id": "\(charge.invoice)",
            ])
        }
    }

    /// None of a charge's attempts is on the canonical chain now.
    private func unmined(_ attempts: [Attempt], charge: Charge, head: UInt64, finalized: UInt64, now: UInt64) async throws {
        if let gone = attempts.first(where: { $0.outcome == .included }) {
            logger.warning("payment transaction reorged out; sending the same bytes again", metadata: ["tx.hash": "\(gone.transactionID)"])
            try await ledger.record([(gone.id, .sent, nil)], charge: charge.id, moves: [(.included, .broadcast)], reason: "reorged out", now: now)
            try await broadcast(gone)
            return
        }
        guard let newest = attempts.max(by: { $0.sequence < $1.sequence }), let nonce = newest.nonce else { return }
        if try await transactionCount(at: finalized) > nonce, try await !anyKnown(attempts) {
            // The nonce is used in a FINAL block, none of ours has a receipt and the node knows none of them:
            // provably none of them can ever be mined.
            try await ledger.record(attempts.map { ($0.id, .dead, nil) }, charge: charge.id, moves: [(.included, .broadcast), (.broadcast, .due)],
                                    reason: "nonce used by another transaction", now: now)
            logger.warning("payment attempt's nonce was used by another transaction; the charge is due again", metadata: [
                "invoice.id": "\(charge.invoice)", "nonce": "\(nonce)",
            ])
            return
        }
        guard let sent = newest.sentBlock, head >= sent + replaceAfterBlocks else { return }
        try await replace(newest)
    }

    /// Re-signs a stuck attempt's payload with the same nonce and fees raised by at least 12.5% (up to the cap),
    /// persists it, and sends it.
    private func replace(_ stuck: Attempt) async throws {
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
            transactionID: signed.hash.description, raw: signed.rawBytes, maxFee: maxFee.description, priorityFee: transaction.maxPriorityFeePerGas.description))
        logger.warning("payment transaction not mined; replaced with higher fees", metadata: [
            "tx.hash": "\(stuck.transactionID)", "replacement": "\(replacement.transactionID)",
        ])
        try await broadcast(replacement)
    }

    /// True when the node knows any of the attempts' transactions (pending or mined).
    func anyKnown(_ attempts: [Attempt]) async throws -> Bool {
        for attempt in attempts where try await node.knowsTransaction(try Hash32(hex: attempt.transactionID)) { return true }
        return false
    }

    /// The spender's transaction count as of `block`: every nonce below it is used in a block at or below it.
    func transactionCount(at block: UInt64) async throws -> UInt64 {
        let result = try await node.rpc.call("eth_getTransactionCount", [.string(spender.checksummed), .string(BlockTag.number(block).description)])
        guard let text = result.stringValue, let nonce = UInt64(text.dropFirst(2), radix: 16) else {
            throw RPCError.malformedResponse("eth_getTransactionCount result")
        }
        return nonce
    }

    /// True when the receipt holds exactly one Transfer of the charge's token from the payer to the treasury of
    /// exactly the charge's amount.
    func matches(_ receipt: EVMReceipt, charge: Charge, agreement: Agreement) throws -> Bool {
        guard let token = config.token(agreement.token), let payer = try? EVMAddress(hex: agreement.wallet) else { return false }
        let transfers = receipt.logs.compactMap { log -> (EVMAddress, ERC20Event)? in
            guard let event = try? ERC20Event(topics: log.topics, data: log.data), case .transfer = event else { return nil }
            return (log.address, event)
        }
        return transfers.count == 1 && transfers[0].0 == token.address
            && transfers[0].1 == .transfer(from: payer, to: treasury, value: charge.tokenAmount.baseUnits)
    }

    // MARK: - Node queries

    func estimateGas(token: EVMAddress, data: [UInt8]) async throws -> UInt64 {
        EVMFees.gasLimit(estimate: try await node.estimateGas(from: spender, to: token, data: data))
    }

    /// EIP-1559 fees for the next transaction (see `EVMFees.suggest`), capped at `feeCap`.
    func fees() async throws -> (priority: UInt256, maxFee: UInt256) {
        try await EVMFees.suggest(node: node, cap: feeCap)
    }

    func pendingNonce() async throws -> UInt64 {
        try await node.pendingNonce(of: spender)
    }
}
