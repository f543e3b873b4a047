import SettleConfiguration
import Foundation
import Leases
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
    /// Cap on the compute-unit price, in micro-lamports.
    public var priceCap: UInt64 = 1_000_000
    /// Compute units asked for (a TransferChecked uses a few thousand).
    public var computeUnits: UInt32 = 40_000
    /// Finalized block heights past an attempt's expiry with no proof of absence before the charge goes `unknown`.
    public var unknownAfterBlocks: UInt64 = 300

    /// Sets the bound after which an unprovable attempt makes its charge `unknown`.
    public func setUnknownAfterBlocks(_ blocks: UInt64) { unknownAfterBlocks = blocks }
    /// Signatures of payers' token accounts already checked for foreign pulls (known to be ours, or no pull by us).
    private var checkedSignatures: Set<String> = []

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
        // The charge's pinned terms, never the agreement as it is now.
        let terms = charge.terms
        guard let token = config.token(terms.token) else { throw LedgerError(.invalidInput, "\(terms.token) is not a token of \(config.name)") }
        guard token.decimals == charge.tokenAmount.decimals else {
            throw LedgerError(.invalidInput, "\(config.file) gives \(token.symbol) \(token.decimals) decimals; the charge was priced with \(charge.tokenAmount.decimals)")
        }
        guard let amount = charge.tokenAmount.baseUnits.exactUInt64 else { throw LedgerError(.invalidInput, "amount does not fit an SPL u64") }
        let pinnedMint = try terms.asset.map { try SolanaPublicKey(base58: $0) } ?? token.mint
        let pinnedTreasury = try terms.treasury.map { try SolanaPublicKey(base58: $0) } ?? treasury
        guard pinnedMint == token.mint, pinnedTreasury == treasury else {
            throw LedgerError(.conflict, "the chain file changed under the charge of \(charge.invoice): it pinned mint \(pinnedMint) paid to \(pinnedTreasury), the file now says \(token.mint) and \(treasury); nothing is signed")
        }
        let owner = try SolanaPublicKey(base58: terms.wallet)
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: token.mint, tokenProgram: token.program)
        let signers = [feePayer, key].compactMap { $0 }
        let payer = SolanaPublicKey(signers[0].publicKey)
        // What the accounts and the mint allow (pure decision): a reason to wait costs no fee.
        let preflight = try await SolanaPreflight.read(node: node, source: source, destination: destination, mint: token.mint,
                                                       grossUpTransferFee: token.grossUpTransferFee)
        // With a transfer fee the merchant opted to gross up: pull enough that the treasury gets `amount`.
        var transfer = TokenInstruction.transferChecked(program: token.program, source: source, mint: token.mint, destination: destination,
                                                        owner: delegate, amount: amount, decimals: UInt8(token.decimals))
        var pull = charge.tokenAmount.baseUnits
        if case .proceed(_, _, let fee?) = preflight {
            pull = try GrossUp.pull(for: pull, basisPoints: fee.basisPoints, rounding: .ceiling, maximum: UInt256(fee.maximum))
            let feeAmount = try GrossUp.fee(on: pull, basisPoints: fee.basisPoints, rounding: .ceiling, maximum: UInt256(fee.maximum))
            guard let pullUnits = pull.exactUInt64, let feeUnits = feeAmount.exactUInt64 else { throw LedgerError(.invalidInput, "amount does not fit an SPL u64") }
            transfer = TokenInstruction.transferCheckedWithFee(source: source, mint: token.mint, destination: destination, owner: delegate,
                                                               amount: pullUnits, decimals: UInt8(token.decimals), fee: feeUnits)
        }
        let shortfall = try await capacity.capacity(wallet: terms.wallet, token: terms.token).shortfall(for: pull)
        guard shortfall.isEmpty else {
            try await effects.wait(charge, reason: shortfall.reason, now: now, schedule: retrySeconds)
            return .awaitingFunds
        }
        var prefix: [SolanaInstruction] = []
        switch preflight {
        case .stop(let reason, let detail):
            try await effects.wait(charge, reason: reason.rawValue, detail: detail, now: now, schedule: retrySeconds)
            return .awaitingFunds
        case .proceed(let createTreasuryAccount, let memo, _):
            if createTreasuryAccount {
                prefix.append(try AssociatedTokenInstruction.createIdempotent(payer: payer, wallet: treasury, mint: token.mint, program: token.program))
            }
            if memo { prefix.append(MemoInstruction.memo(charge.invoice)) }  // the invoice id: required by the treasury's account
        }
        let price = try await priorityPrice()
        // Read before the blockhash, less a margin for a load-balanced backend behind: the transaction cannot land
        // at or below it, so a node proving its absence must hold every slot since.
        let slotBefore = try await node.slot(.confirmed)
        let earliest = slotBefore - min(slotBefore, 150)
        let (blockhash, lastValid) = try await node.latestBlockhash()
        let instructions = [
            ComputeBudgetInstruction.setComputeUnitLimit(computeUnits),
            ComputeBudgetInstruction.setComputeUnitPrice(microLamports: price),
        ] + prefix + [transfer]
        if let foreign = try await foreignPull(from: source) {
            let alert = try await ledger.raiseAlert(chain: config.name, signer: delegate.description, kind: .signatureDivergence, detail: foreign, now: now)
            logger.critical("signing stopped on this chain: the delegate signed a transfer this ledger does not know; run `settled nonce inspect`", metadata: [
                "chain": "\(config.name)", "delegate": "\(delegate)", "detail": "\(foreign)",
            ])
            throw LedgerError(.conflict, alert.detail)
        }
        let signing = try await ledger.signSolanaAttempt(charge: charge.id, chain: config.name, signer: delegate.description,
                                                         slotBefore: earliest, fence: lease, now: now, sign: {
            let message = try LegacyMessage(instructions: instructions, payer: payer, recentBlockhash: blockhash)
            let transaction = try SolanaTransaction(message: .legacy(message), signers: signers)
            return (SignedPayload(transactionID: transaction.id?.description ?? "", raw: transaction.serialized(), priorityFee: String(price)),
                    blockhash.description, lastValid)
        })
        switch signing {
        case .notDue:
            return try await ledger.charge(id: charge.id)?.state ?? .signed
        case .halted(let alert):
            logger.critical("signing stopped on this chain until `settled nonce adopt`", metadata: ["chain": "\(config.name)", "detail": "\(alert.detail)"])
            throw LedgerError(.conflict, alert.detail)
        case .signed(let attempt):
            CrashPoint.reach(.afterPersist)
            try await send(attempt, now: now)
        }
        return try await ledger.charge(id: charge.id)?.state ?? .signed
    }

    /// Solana has no nonce to show that someone else signs with the delegate key (a second daemon on another
    /// database, or this database restored without its last attempts). The payer's token account shows it instead:
    /// a transfer out of it whose authority is our delegate, in a transaction the ledger has no attempt for.
    /// Returns a description of the first such transfer among the account's recent transactions, or nil.
    func foreignPull(from source: SolanaPublicKey) async throws -> String? {
        for info in try await node.signatures(for: source, limit: 25, .confirmed) where !info.failed {
            let id = info.signature.description
            if checkedSignatures.contains(id) { continue }
            if try await ledger.knowsAttempt(transactionID: id) { checkedSignatures.insert(id); continue }
            guard let transaction = try await node.transaction(info.signature, .confirmed) else { continue }  // not readable yet: next time
            checkedSignatures.insert(id)
            let pulls = TokenEvent.decode(transaction).filter { $0.kind == .transfer && $0.source == source && $0.authority == delegate }
            if let pull = pulls.first {
                return "transaction \(id) (slot \(info.slot)) moved \(pull.amount) base units out of \(source) to \(pull.counterparty?.description ?? "?") with our delegate's signature, and this ledger has no attempt for it"
            }
        }
        return nil
    }

    /// Sends the persisted bytes (again). Only an acceptance or "already processed" acknowledges them; no answer
    /// declares them dead (that takes expiry at `finalized` and absence from a node with the history).
    func send(_ attempt: Attempt, now: UInt64) async throws {
        let refusal = await send(attempt.raw)
        switch SendVerdict.classify(refusal: refusal?.message) {
        case .acknowledged:
            CrashPoint.reach(.afterSend)
            try await ledger.markSent(attempt, now: now)
            CrashPoint.reach(.afterMarkSent)
        case .nonceUsed, .underpriced, .insufficientFunds, .unacknowledged:
            logger.warning("sendTransaction not acknowledged; the attempt stays followed and is sent again while its blockhash is valid", metadata: [
                "chain": "\(config.name)", "tx.signature": "\(attempt.transactionID)", "error": "\(refusal?.message ?? "")",
            ])
        }
    }

    private func send(_ raw: [UInt8]) async -> (message: String, error: RPCError)? {
        do {
            _ = try await node.send(raw)
            return nil
        } catch {
            if case .server(_, let message, let data) = error { return (message + (data.map { " " + $0.text } ?? ""), error) }
            return (String(describing: error), error)
        }
    }

    /// After a start: every unresolved attempt is looked up (and re-sent while valid) before anything new.
    public func recover() async throws {
        try await confirm(now: UInt64(Date().timeIntervalSince1970))
    }

    /// Follows every unresolved attempt (`signed` ones included): statuses with history search, the finalized height
    /// read first, and — for an expired attempt no status shows — the oldest slot the node holds. Carries out what
    /// `ChargeLifecycle` decides.
    public func confirm(now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        let attempts = try await ledger.unresolvedAttempts(chain: config.name)
        guard !attempts.isEmpty else { return }
        // Height first: a status lookup made after it sees every landing up to it.
        let height = try await node.blockHeight(.finalized)
        let signatures = try attempts.map { try SolanaSignature(base58: $0.transactionID) }
        var statuses: [(slot: UInt64, failed: Bool, status: Commitment?)?] = []
        var offset = 0
        while offset < signatures.count {  // nodes take at most 256 signatures per call
            let chunk = Array(signatures[offset..<min(offset + 256, signatures.count)])
            statuses += try await node.statuses(chunk)
            offset += chunk.count
        }
        var firstAvailable: UInt64??
        var sightings: [Int64: Sighting] = [:]
        var received: [Int64: String] = [:]
        for (index, attempt) in attempts.enumerated() {
            if let status = statuses[index] {
                let final = status.status == .finalized
                var matches: Bool?  // nil: final but not readable yet at `finalized` (no conclusion)
                if final, !status.failed, let charge = try await ledger.charge(id: attempt.charge) {
                    switch try await arrival(signatures[index], charge: charge) {
                    case .exact: matches = true
                    case .unreadable: matches = nil
                    case .other(let what):
                        matches = false
                        received[attempt.id] = what
                    }
                }
                sightings[attempt.id] = .landed(block: status.slot, succeeded: !status.failed, final: final, matches: matches)
                continue
            }
            if let lastValid = attempt.lastValidHeight, height > lastValid, firstAvailable == nil {
                firstAvailable = .some(try? await node.minimumLedgerSlot())
            }
            sightings[attempt.id] = SightingRules.solana(finalizedHeight: height, lastValidHeight: attempt.lastValidHeight,
                                                         firstAvailableSlot: firstAvailable ?? nil, earliestSlot: attempt.headAtSigning)
        }
        for chargeID in Set(attempts.map(\.charge)).sorted() {
            do {
                guard let charge = try await ledger.charge(id: chargeID), ChargeLifecycle.followedStates.contains(charge.state) else { continue }
                var lifecycle = ChargeLifecycle(state: charge.state, attempts: try await ledger.attempts(charge: charge.id).map(ChargeLifecycle.Tracked.init),
                                                policy: .solana(unknownAfterBlocks: unknownAfterBlocks))
                let mine = attempts.filter { $0.charge == chargeID }.map(\.id)
                let evidence = LifecycleEvidence(head: height, sightings: sightings.filter { mine.contains($0.key) },
                                                 received: received.filter { mine.contains($0.key) })
                try await carryOut(lifecycle.event(.observed(evidence)), charge: charge, now: now)
            } catch {
                logger.error("following a payment failed; retried on the next pass", metadata: [
                    "chain": "\(config.name)", "charge": "\(chargeID)", "error": "\(error)",
                ])
            }
        }
    }

    /// Carries out the lifecycle's actions, in order.
    func carryOut(_ actions: [LifecycleAction], charge: Charge, now: UInt64) async throws {
        for action in actions {
            switch action {
            case .record(let change):
                try await effects.record(change, charge: charge, now: now, schedule: retrySeconds)
            case .send(let id):
                guard let attempt = try await ledger.attempts(charge: charge.id).first(where: { $0.id == id }) else { continue }
                try await send(attempt, now: now)
            case .replace:
                continue  // never decided for Solana (no policy to replace)
            case .alert(let alert):
                effects.report(alert, charge: charge)
            }
        }
    }

    /// What a final transaction delivered.
    enum Arrival: Hashable, Sendable {
        /// Exactly the charge's amount of its mint, from the payer's account, into the treasury's.
        case exact
        /// The node does not return the transaction at `finalized` yet: no conclusion.
        case unreadable
        /// Something else arrived (the charge's `mismatch` reason).
        case other(String)
    }

    /// Checks what arrived by the treasury account's pre/post token balances in the transaction's meta (what the
    /// runtime recorded, not what an instruction asked for: a Token-2022 transfer fee is withheld from the
    /// destination) and by the transfer instruction itself (from the payer's account, of the charge's mint).
    func arrival(_ signature: SolanaSignature, charge: Charge) async throws -> Arrival {
        guard let token = config.token(charge.terms.token), let owner = try? SolanaPublicKey(base58: charge.terms.wallet) else {
            return .other("the charge's token \(charge.terms.token) or wallet \(charge.terms.wallet) is not valid on \(config.name)")
        }
        guard let transaction = try await node.transaction(signature, .finalized) else { return .unreadable }
        // Matched against what the charge pinned, whatever the chain file says now.
        guard let mint = try? charge.terms.asset.map({ try SolanaPublicKey(base58: $0) }) ?? token.mint,
              let treasury = try? charge.terms.treasury.map({ try SolanaPublicKey(base58: $0) }) ?? treasury else {
            return .other("the charge's pinned mint or treasury is not a public key")
        }
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: mint, tokenProgram: token.program)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: mint, tokenProgram: token.program)
        let amount = charge.tokenAmount.baseUnits
        let transfers = TokenEvent.decode(transaction).filter { $0.kind == .transfer }
        // Grossed up for a transfer fee, the instruction moves more than the amount; what arrives is checked below.
        guard transfers.count == 1, transfers[0].source == source, transfers[0].counterparty == destination, transfers[0].mint ?? mint == mint,
              token.grossUpTransferFee ? UInt256(transfers[0].amount) >= amount : UInt256(transfers[0].amount) == amount else {
            return .other("transaction \(signature) does not carry exactly one transfer of \(amount) \(token.symbol) from the payer's account to the treasury's")
        }
        guard let index = transaction.accountKeys.firstIndex(of: destination) else {
            return .other("transaction \(signature) does not touch the treasury's token account")
        }
        let pre = transaction.preTokenBalances.first { $0.accountIndex == index && $0.mint == mint }?.amount ?? 0
        guard let post = transaction.postTokenBalances.first(where: { $0.accountIndex == index && $0.mint == mint })?.amount, post >= pre else {
            return .other("the treasury's token balance did not grow in \(signature)")
        }
        let received = UInt256(post - pre)
        guard token.grossUpTransferFee ? received >= amount && received - amount <= .one : received == amount else {
            return .other("the treasury received \(post - pre) of \(amount) base units of \(token.symbol) in \(signature)")
        }
        return .exact
    }

    /// The median of recent non-zero prioritization fees, capped (0 when the cluster is quiet).
    func priorityPrice() async throws -> UInt64 {
        Self.priorityPrice(fees: try await node.rpc.call("getRecentPrioritizationFees", []), cap: priceCap)
    }

    /// The median of the non-zero `prioritizationFee`s of a `getRecentPrioritizationFees` result, at most `cap` (0
    /// when there are none; entries that are not u64 numbers are skipped).
    static func priorityPrice(fees result: JSON, cap: UInt64) -> UInt64 {
        let fees = (result.arrayValue ?? []).compactMap { $0["prioritizationFee"]?.uint64Value }.filter { $0 > 0 }.sorted()
        guard !fees.isEmpty else { return 0 }
        return min(fees[fees.count / 2], cap)
    }
}
