import SettleConfiguration
import Foundation
import Logging
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Transport

/// Pulls due charges on Solana: preflight, then `TransferChecked` from the payer's token account to the treasury's,
/// signed by the delegate (the fee payer), with a compute-unit price from recent prioritization fees (capped). The
/// signed transaction, its blockhash and last valid block height are persisted before the first send; it is re-sent
/// until it lands or the blockhash expires, and only after expiry AND absence at `finalized` may a new attempt be
/// signed.
public actor SolanaExecutor: ChargeExecutor {
    public nonisolated let config: SolanaChainConfig
    public nonisolated let node: SolanaNode
    public nonisolated let ledger: Ledger
    let key: Ed25519PrivateKey
    /// Pays the transaction fee when set; otherwise the delegate pays.
    let feePayer: Ed25519PrivateKey?
    let treasury: SolanaPublicKey
    let capacity: SolanaCapacityReader
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
    /// Cap on the compute-unit price, in micro-lamports.
    public var priceCap: UInt64 = 1_000_000
    /// Compute units asked for (a TransferChecked uses a few thousand).
    public var computeUnits: UInt32 = 40_000

    public nonisolated var delegate: SolanaPublicKey { SolanaPublicKey(key.publicKey) }

    public init(config: SolanaChainConfig, node: SolanaNode, ledger: Ledger, key: Ed25519PrivateKey, treasury: SolanaPublicKey,
                feePayer: Ed25519PrivateKey? = nil, logger: Logger) {
        self.config = config
        self.node = node
        self.ledger = ledger
        self.key = key
        self.feePayer = feePayer
        self.treasury = treasury
        self.capacity = SolanaCapacityReader(config: config, node: node, delegate: SolanaPublicKey(key.publicKey))
        self.logger = logger
    }

    /// Runs one due charge as far as it can go now; returns its state afterwards.
    @discardableResult
    public func execute(_ charge: Charge, agreement: Agreement, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> ChargeState {
        guard charge.state == .due else { return charge.state }
        guard let token = config.token(agreement.token) else { throw LedgerError(.invalidInput, "\(agreement.token) is not a token of \(config.name)") }
        guard let amount = charge.tokenAmount.baseUnits.exactUInt64 else { throw LedgerError(.invalidInput, "amount does not fit an SPL u64") }
        let shortfall = try await capacity.capacity(wallet: agreement.wallet, token: agreement.token).shortfall(for: charge.tokenAmount.baseUnits)
        guard shortfall.isEmpty else {
            try await ledger.transition(charge.id, from: .due, to: .awaitingFunds, reason: shortfall.reason, nextAttemptAt: try await nextAttempt(charge, now: now), now: now)
            return .awaitingFunds
        }
        let owner = try SolanaPublicKey(base58: agreement.wallet)
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: token.mint, tokenProgram: token.program)
        let price = try await priorityPrice()
        let (blockhash, lastValid) = try await node.latestBlockhash()
        let instructions = [
            ComputeBudgetInstruction.setComputeUnitLimit(computeUnits),
            ComputeBudgetInstruction.setComputeUnitPrice(microLamports: price),
            TokenInstruction.transferChecked(program: token.program, source: source, mint: token.mint, destination: destination,
                                             owner: delegate, amount: amount, decimals: UInt8(token.decimals)),
        ]
        let signers = [feePayer, key].compactMap { $0 }
        let payer = SolanaPublicKey(signers[0].publicKey)
        guard let attempt = try await ledger.signSolanaAttempt(charge: charge.id, chain: config.name, signer: delegate.description, now: now, sign: {
            let message = try LegacyMessage(instructions: instructions, payer: payer, recentBlockhash: blockhash)
            let transaction = try SolanaTransaction(message: .legacy(message), signers: signers)
            return (SignedPayload(transactionID: transaction.id?.description ?? "", raw: transaction.serialized(), priorityFee: String(price)),
                    blockhash.description, lastValid)
        }) else {
            return try await ledger.charge(id: charge.id)?.state ?? .signed
        }
        try await broadcast(attempt)
        return try await ledger.charge(id: charge.id)?.state ?? .signed
    }

    /// Sends the persisted bytes (again). An already-processed transaction counts as sent.
    public func broadcast(_ attempt: Attempt) async throws {
        let refusal = await send(attempt.raw)
        if let refusal, !refusal.message.contains("AlreadyProcessed"), !refusal.message.lowercased().contains("already been processed") {
            logger.error("sendTransaction refused; the attempt stays persisted", metadata: [
                "chain": "\(config.name)", "tx.signature": "\(attempt.transactionID)", "error": "\(refusal.message)",
            ])
            throw refusal.error
        }
        try await ledger.markSent(attempt)
    }

    private func send(_ raw: [UInt8]) async -> (message: String, error: RPCError)? {
        let result: Result<SolanaSignature, RPCError>
        do { result = .success(try await node.send(raw)) } catch { result = .failure(error) }
        switch result {
        case .success: return nil
        case .failure(let error):
            if case .server(_, let message, let data) = error { return (message + (data.map { " " + $0.text } ?? ""), error) }
            return (String(describing: error), error)
        }
    }

    /// After a restart: every persisted attempt not known to have been sent is looked up before anything new:
    /// known to the cluster → sent (it got out before the crash); unknown and its blockhash expired at finalized →
    /// dead, the charge is due again (it can never land); unknown and still valid → sent now. One attempt's failure
    /// does not stop the others.
    public func recover() async throws {
        for attempt in try await ledger.unresolvedAttempts(chain: config.name) where attempt.outcome == .signed {
            do {
                let signature = try SolanaSignature(base58: attempt.transactionID)
                // Height first: once the finalized height is past the blockhash's last valid height, a status lookup
                // made after it sees every landing there can ever be.
                let height = try await node.blockHeight(.finalized)
                if try await node.statuses([signature]).first ?? nil != nil {
                    try await ledger.markSent(attempt)
                    continue
                }
                if let lastValid = attempt.lastValidHeight, height > lastValid {
                    try await ledger.record([(attempt.id, .dead, nil)], charge: attempt.charge, moves: [(.signed, .due)],
                                            reason: "blockhash expired before it was sent")
                    continue
                }
                try await broadcast(attempt)
            } catch {
                logger.error("recovering a persisted attempt failed; retried on the next pass", metadata: [
                    "chain": "\(config.name)", "tx.signature": "\(attempt.transactionID)", "error": "\(error)",
                ])
            }
        }
    }

    /// Follows sent attempts: landed → `included`, then `settled` at `finalized` when the transfer matches exactly;
    /// failed → `awaiting_funds`; not landed: re-sent while its blockhash is valid, declared dead (charge back to
    /// `due`) only when the blockhash expired AND the signature is absent at `finalized`.
    public func confirm(now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        let attempts = try await ledger.unresolvedAttempts(chain: config.name).filter { $0.outcome != .signed }
        guard !attempts.isEmpty else { return }
        let signatures = try attempts.map { try SolanaSignature(base58: $0.transactionID) }
        // Read before the statuses, so "expired and absent" never races a landing between the two reads.
        let height = try await node.blockHeight(.finalized)
        var statuses: [(slot: UInt64, failed: Bool, status: Commitment?)?] = []
        var offset = 0
        while offset < signatures.count {  // nodes take at most 256 signatures per call
            let chunk = Array(signatures[offset..<min(offset + 256, signatures.count)])
            statuses += try await node.statuses(chunk)
            offset += chunk.count
        }
        for (index, (attempt, status)) in zip(attempts, statuses).enumerated() {
            do {
                try await follow(attempt, status: status, signature: signatures[index], height: height, now: now)
            } catch {
                logger.error("following a payment failed; retried on the next pass", metadata: [
                    "chain": "\(config.name)", "tx.signature": "\(attempt.transactionID)", "error": "\(error)",
                ])
            }
        }
    }

    /// One sent attempt (see `confirm`).
    private func follow(_ attempt: Attempt, status: (slot: UInt64, failed: Bool, status: Commitment?)?, signature: SolanaSignature,
                        height: UInt64, now: UInt64) async throws {
        guard let charge = try await ledger.charge(id: attempt.charge) else { return }
        guard let status else {
            if let lastValid = attempt.lastValidHeight, height > lastValid {
                try await ledger.record([(attempt.id, .dead, nil)], charge: charge.id, moves: [(.included, .broadcast), (.broadcast, .due)],
                                        reason: "blockhash expired", now: now)
                logger.warning("payment transaction expired without landing; a new attempt may be signed", metadata: [
                    "tx.signature": "\(attempt.transactionID)", "invoice.id": "\(charge.invoice)",
                ])
            } else {
                try await broadcast(attempt)  // still valid: send the same bytes again
            }
            return
        }
        if status.failed {
            try await ledger.record([(attempt.id, .reverted, status.slot)], charge: charge.id, moves: [(.broadcast, .awaitingFunds)],
                                    reason: "failed", nextAttemptAt: try await nextAttempt(charge, now: now), now: now)
            return
        }
        if attempt.outcome != .included || charge.state == .broadcast {
            try await ledger.record([(attempt.id, .included, status.slot)], charge: charge.id, moves: [(.broadcast, .included)], now: now)
        }
        guard status.status == .finalized, let agreement = try await ledger.agreement(id: charge.agreement) else { return }
        if try await matches(signature, charge: charge, agreement: agreement) {
            try await ledger.transition(charge.id, from: .included, to: .settled, now: now)
        } else {
            logger.critical("final payment transaction does not carry the expected transfer; charge left included", metadata: [
                "tx.signature": "\(attempt.transactionID)", "invoice.id": "\(charge.invoice)",
            ])
        }
    }

    /// True when the finalized transaction holds exactly one token transfer: the charge's amount of its mint from the
    /// payer's account to the treasury's.
    func matches(_ signature: SolanaSignature, charge: Charge, agreement: Agreement) async throws -> Bool {
        guard let token = config.token(agreement.token), let owner = try? SolanaPublicKey(base58: agreement.wallet),
              let transaction = try await node.transaction(signature, .finalized)
        else { return false }
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: token.mint, tokenProgram: token.program)
        let transfers = TokenEvent.decode(transaction).filter { $0.kind == .transfer }
        return transfers.count == 1 && transfers[0].source == source && transfers[0].counterparty == destination
            && transfers[0].mint == token.mint && UInt256(transfers[0].amount) == charge.tokenAmount.baseUnits
    }

    /// The median of recent non-zero prioritization fees, capped (0 when the cluster is quiet).
    func priorityPrice() async throws -> UInt64 {
        let result = try await node.rpc.call("getRecentPrioritizationFees", [])
        let fees = (result.arrayValue ?? []).compactMap { $0["prioritizationFee"]?.uint64Value }.filter { $0 > 0 }.sorted()
        guard !fees.isEmpty else { return 0 }
        return min(fees[fees.count / 2], priceCap)
    }
}
