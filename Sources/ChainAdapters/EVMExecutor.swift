import Configuration
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
    /// Seconds before a charge short of funds is checked again.
    public var retryDelay: UInt64 = 600
    /// Cap on `maxFeePerGas`, in wei.
    public var feeCap: UInt256 = UInt256(UInt64(500_000_000_000))

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
        let shortfall = try await capacity.capacity(wallet: agreement.wallet, token: agreement.token).shortfall(for: amount)
        guard shortfall.isEmpty else {
            try await ledger.transition(charge.id, from: .due, to: .awaitingFunds, reason: shortfall.reason, nextAttemptAt: now + retryDelay, now: now)
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
            } else {
                logger.error("broadcast refused; the attempt stays persisted and is retried", metadata: [
                    "chain": "\(config.name)", "tx.hash": "\(attempt.transactionID)", "error": "\(refusal.message)",
                ])
                throw refusal.error
            }
        }
        try await ledger.markSent(attempt)
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
            try await broadcast(attempt)
        }
    }

    /// Follows sent attempts: included → `included`; final and matching the charge exactly → `settled`; reverted →
    /// `awaiting_funds` (recorded); gone from its block → back to `broadcast` and the same bytes are sent again.
    public func confirm(now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        let head = try await node.blockNumber()
        let finalized: UInt64
        switch config.finality {
        case .finalizedTag: finalized = try await node.header(.finalized)?.number ?? 0
        case .confirmations(let n): finalized = head >= n ? head - n : 0
        }
        for attempt in try await ledger.unresolvedAttempts(chain: config.name) where attempt.outcome != .signed {
            guard let charge = try await ledger.charge(id: attempt.charge) else { continue }
            let hash = try Hash32(hex: attempt.transactionID)
            guard let receipt = try await node.receipt(hash),
                  let header = try await node.header(.number(receipt.blockNumber)), header.hash == receipt.blockHash
            else {
                if attempt.outcome == .included {
                    logger.warning("payment transaction reorged out; sending the same bytes again", metadata: ["tx.hash": "\(hash)"])
                    try await ledger.setOutcome(attempt.id, .sent)
                    try await ledger.transition(charge.id, from: .included, to: .broadcast, reason: "reorged out", now: now)
                    try await broadcast(attempt)
                }
                continue
            }
            guard receipt.succeeded else {
                try await ledger.setOutcome(attempt.id, .reverted, block: receipt.blockNumber)
                try await ledger.transition(charge.id, from: .broadcast, to: .awaitingFunds, reason: "reverted",
                                            nextAttemptAt: now + retryDelay, now: now)
                continue
            }
            if attempt.outcome != .included {
                try await ledger.setOutcome(attempt.id, .included, block: receipt.blockNumber)
                try await ledger.transition(charge.id, from: .broadcast, to: .included, now: now)
            }
            guard receipt.blockNumber <= finalized, let agreement = try await ledger.agreement(id: charge.agreement) else { continue }
            if try matches(receipt, charge: charge, agreement: agreement) {
                try await ledger.transition(charge.id, from: .included, to: .settled, now: now)
            } else {
                logger.critical("final payment transaction does not carry the expected transfer; charge left included", metadata: [
                    "tx.hash": "\(hash)", "invoice.id": "\(charge.invoice)",
                ])
            }
        }
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
        let result = try await node.rpc.call("eth_estimateGas", [.object([
            ("from", .string(spender.checksummed)), ("to", .string(token.checksummed)), ("data", .string(Hex.encode(data, prefix: true))),
        ])])
        guard let text = result.stringValue, let estimate = UInt64(text.dropFirst(2), radix: 16) else {
            throw RPCError.malformedResponse("eth_estimateGas result")
        }
        return estimate + estimate / 5  // 20% margin
    }

    func fees() async throws -> (priority: UInt256, maxFee: UInt256) {
        let priority = try UInt256(hex: try await node.rpc.call("eth_maxPriorityFeePerGas").stringValue ?? "0x0")
        let price = try UInt256(hex: try await node.rpc.call("eth_gasPrice").stringValue ?? "0x0")
        let wanted = try (try price.checkedMultiplying(by: 2)).checkedAdding(priority)
        return (min(priority, feeCap), min(wanted, feeCap))
    }

    func pendingNonce() async throws -> UInt64 {
        let result = try await node.rpc.call("eth_getTransactionCount", [.string(spender.checksummed), "pending"])
        guard let text = result.stringValue, let nonce = UInt64(text.dropFirst(2), radix: 16) else {
            throw RPCError.malformedResponse("eth_getTransactionCount result")
        }
        return nonce
    }
}
