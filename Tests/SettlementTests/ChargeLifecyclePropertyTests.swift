import PropertyBased
import Settlement
import Testing

/// Random sequences of chain behaviour — mining, reorgs, finality, another signer using the nonce, lost
/// acknowledgements, underpriced refusals, nodes that forget receipts and transactions, node restarts that drop the
/// pool — driven through `ChargeLifecycle` with the executor's loop modelled around it. Ground truth is the model
/// chain, never the model ledger.
@Suite("Charge lifecycle: properties over random evidence, reorgs and restarts")
struct ChargeLifecyclePropertyTests {
    @Test("EVM: never two transfers, never two live nonces, never a new nonce before death is proven, settled only when final and matching")
    func evmSequences() async {
        await propertyCheck(count: 3000, input: Gen.int(in: 0...10_000).array(of: 1...80)) { steps in
            var world = EVMWorld()
            for step in steps {
                world.step(step)
                if let failure = world.violation { Issue.record("\(failure) after steps \(steps)"); return }
            }
            world.calm()
            if let failure = world.violation { Issue.record("\(failure) after steps \(steps) and a calm phase"); return }
            #expect(world.state == .settled, "an honest node and a working chain must settle the charge; it is \(world.state) after \(steps)")
        }
    }

    @Test("Solana: never two transfers, a new attempt only after expiry is proven, settled only when final")
    func solanaSequences() async {
        await propertyCheck(count: 3000, input: Gen.int(in: 0...10_000).array(of: 1...80)) { steps in
            var world = SolanaWorld()
            for step in steps {
                world.step(step)
                if let failure = world.violation { Issue.record("\(failure) after steps \(steps)"); return }
            }
            world.calm()
            if let failure = world.violation { Issue.record("\(failure) after steps \(steps) and a calm phase"); return }
            #expect(world.state == .settled, "an honest node must settle the charge; it is \(world.state) after \(steps)")
        }
    }
}

/// The executor's ledger for one charge, as the model keeps it.
private struct ModelLedger {
    var state: ChargeState = .signed
    var attempts: [ChargeLifecycle.Tracked] = []
    var violation: String?

    mutating func apply(_ change: LedgerChange) {
        for item in change.outcomes {
            guard let index = attempts.firstIndex(where: { $0.id == item.attempt }) else { violation = "unknown attempt"; return }
            attempts[index].outcome = item.outcome
            attempts[index].block = item.block
        }
        if let move = change.move, move.from == state {
            guard state.successors.contains(move.to) else { violation = "illegal move \(state) → \(move.to)"; return }
            state = move.to
        }
    }

    mutating func acknowledge(_ id: Int64, head: UInt64) {
        guard let index = attempts.firstIndex(where: { $0.id == id }) else { return }
        if attempts[index].sentBlock == nil { attempts[index].sentBlock = head }
    }
}

/// One signer's chain: canonical blocks of the signer's transactions (ours or another's), a finalized height, a pool.
private struct EVMWorld {
    struct Tx: Hashable { var id: Int64; var nonce: UInt64; var ours: Bool }
    var blocks: [[(tx: Tx, succeeded: Bool)]] = []
    var finalized = 0
    var pool: Set<Tx> = []
    var ledger = ModelLedger()
    var nextID: Int64 = 1
    var foreignID: Int64 = 1_000_000
    var pastCounter: UInt64 = 0
    var violation: String?
    let policy = ChargeLifecycle.Policy.evm(replaceAfterBlocks: 3, unknownAfterBlocks: 6)

    var state: ChargeState { ledger.state }

    init() { sign() }

    var chainCount: UInt64 { UInt64(blocks.reduce(0) { $0 + $1.count }) }
    func count(atBlock height: Int) -> UInt64 { UInt64(blocks.prefix(height).reduce(0) { $0 + $1.count }) }
    func landing(_ id: Int64) -> (block: Int, succeeded: Bool)? {
        for (index, block) in blocks.enumerated() { if let hit = block.first(where: { $0.tx.id == id }) { return (index + 1, hit.succeeded) } }
        return nil
    }
    func txAt(nonce: UInt64, within height: Int) -> Tx? {
        blocks.prefix(height).joined().first { $0.tx.nonce == nonce }?.tx
    }

    mutating func step(_ value: Int) {
        let arg = value / 10
        switch value % 10 {
        case 0, 1: mine(pick: arg, succeed: arg % 5 != 0)
        case 2: finalized = blocks.count
        case 3: reorg()
        case 4: pool.insert(Tx(id: foreignID, nonce: chainCount, ours: false)); foreignID += 1
        case 5, 6: pass(forget: false, ack: arg)
        case 7: pass(forget: true, ack: arg)
        case 8: blocks.append([])
        default: pool = pool.filter { !$0.ours }  // a node restart drops what it held of ours
        }
        check()
    }

    /// Honest node, every block mined with our transaction succeeding, final at once.
    mutating func calm() {
        pool = pool.filter(\.ours)
        for round in 0..<40 where ledger.state != .settled && violation == nil {
            pass(forget: false, ack: 0)
            mine(pick: 0, succeed: true, oursFirst: true)
            if round % 2 == 1 { finalized = blocks.count }
            check()
        }
    }

    mutating func mine(pick: Int, succeed: Bool, oursFirst: Bool = false) {
        let candidates = pool.filter { $0.nonce == chainCount }.sorted { ($0.ours && oursFirst ? 0 : 1, $0.id) < ($1.ours && oursFirst ? 0 : 1, $1.id) }
        guard !candidates.isEmpty else { blocks.append([]); return }
        let tx = candidates[oursFirst ? 0 : pick % candidates.count]
        pool.remove(tx)
        blocks.append([(tx, tx.ours ? succeed : true)])
    }

    mutating func reorg() {
        guard blocks.count > finalized else { return }
        for block in blocks[finalized...] { for item in block { pool.insert(item.tx) } }  // public bytes can be mined again
        blocks.removeLast(blocks.count - finalized)
    }

    mutating func pass(forget: Bool, ack: Int) {
        let live = ledger.attempts.filter(\.isLive)
        var evidence = LifecycleEvidence(head: UInt64(blocks.count))
        pastCounter += 1
        for (index, attempt) in live.enumerated() {
            let forgets = forget && (ack >> index) & 1 == 1
            if let hit = landing(attempt.id) {
                let final = hit.block <= finalized
                evidence.sightings[attempt.id] = forgets ? .unseen
                    : .landed(block: UInt64(hit.block), succeeded: hit.succeeded, final: final, matches: final && hit.succeeded ? true : nil)
            } else if let nonce = attempt.nonce {
                let used = txAt(nonce: nonce, within: finalized)
                let ours = Set(ledger.attempts.filter { $0.nonce == nonce }.map { "\($0.id)" })
                evidence.sightings[attempt.id] = SightingRules.evm(nonce: nonce, finalizedCount: count(atBlock: finalized),
                                                                   transactionAtNonce: forgets ? nil : used.map { "\($0.id)" }, ours: ours,
                                                                   blocksPast: pastCounter)
            }
        }
        var machine = ChargeLifecycle(state: ledger.state, attempts: ledger.attempts, policy: policy)
        carryOut(machine.event(.observed(evidence)), ack: ack, machine: &machine)
        if ledger.state == .awaitingFunds { ledger.state = .due }  // the retry comes round
        if ledger.state == .due { sign() }
    }

    mutating func carryOut(_ actions: [LifecycleAction], ack: Int, machine: inout ChargeLifecycle) {
        for action in actions {
            switch action {
            case .record(let change): ledger.apply(change)
            case .send(let id): send(id, ack: ack, machine: &machine)
            case .replace(let id):
                guard let old = ledger.attempts.first(where: { $0.id == id }) else { violation = "replace of an unknown attempt"; return }
                let replacement = ChargeLifecycle.Tracked(id: nextID, sequence: ledger.attempts.count + 1, nonce: old.nonce, outcome: .signed)
                nextID += 1
                ledger.attempts.append(replacement)
                machine = ChargeLifecycle(state: ledger.state, attempts: ledger.attempts, policy: policy)
                send(replacement.id, ack: ack, machine: &machine)
            case .alert: break
            }
        }
        if let violation = ledger.violation { self.violation = violation }
    }

    /// A broadcast: the bytes may reach the pool; the answer may be an acknowledgement, lost, or "underpriced".
    mutating func send(_ id: Int64, ack: Int, machine: inout ChargeLifecycle) {
        guard let attempt = ledger.attempts.first(where: { $0.id == id }), let nonce = attempt.nonce else { return }
        let reaches = ack % 7 != 3
        if reaches, landing(id) == nil { pool.insert(Tx(id: id, nonce: nonce, ours: true)) }
        switch ack % 5 {
        case 1: break  // answer lost
        case 2:
            for case .record(let change) in machine.event(.refusedUnderpriced(attempt: id)) { ledger.apply(change) }
        default:
            guard reaches else { return }
            for case .record(let change) in machine.event(.acknowledged(attempt: id, head: UInt64(blocks.count))) { ledger.apply(change) }
            ledger.acknowledge(id, head: UInt64(blocks.count))
        }
    }

    /// The executor signs a new nonce: every earlier attempt must be dead in truth.
    mutating func sign() {
        for attempt in ledger.attempts {
            guard let nonce = attempt.nonce else { continue }
            let usedByOther = txAt(nonce: nonce, within: finalized).map { $0.id != attempt.id } ?? false
            let finalRevert = landing(attempt.id).map { $0.block <= finalized && !$0.succeeded } ?? false
            if !(usedByOther || finalRevert) {
                violation = "signed a new nonce while attempt \(attempt.id) at nonce \(nonce) was not proven dead"
                return
            }
        }
        // The ledger's next nonce, never the chain's (a count above it would stop signing: `NonceGuard`).
        let nonce = ledger.attempts.compactMap(\.nonce).max().map { $0 + 1 } ?? 0
        ledger.attempts.append(ChargeLifecycle.Tracked(id: nextID, sequence: ledger.attempts.count + 1, nonce: nonce, outcome: .signed))
        nextID += 1
        ledger.state = .signed
    }

    mutating func check() {
        if violation != nil { return }
        if let v = ledger.violation { violation = v; return }
        let paid = blocks.joined().filter { $0.tx.ours && $0.succeeded }.count
        if paid > 1 { violation = "two of our transfers are on the canonical chain" }
        let nonces = Set(ledger.attempts.filter(\.isLive).compactMap(\.nonce))
        if nonces.count > 1 { violation = "live attempts at nonces \(nonces.sorted())" }
        if ledger.state == .settled {
            let final = ledger.attempts.contains { attempt in landing(attempt.id).map { $0.block <= finalized && $0.succeeded } ?? false }
            if !final { violation = "settled without a final successful transfer" }
        }
    }
}

/// Solana: attempts carry a blockhash valid up to a height; a status lookup may find nothing (a node without
/// history, or one that forgot); the same bytes can land once while the blockhash is valid.
private struct SolanaWorld {
    var height: UInt64 = 100
    var finalizedHeight: UInt64 = 100
    /// Landed attempts: id → (height it landed at, succeeded).
    var landed: [Int64: (height: UInt64, succeeded: Bool)] = [:]
    var lastValid: [Int64: UInt64] = [:]
    var pool: Set<Int64> = []
    var ledger = ModelLedger()
    var nextID: Int64 = 1
    var violation: String?
    let policy = ChargeLifecycle.Policy.solana(unknownAfterBlocks: 20)

    var state: ChargeState { ledger.state }

    init() { sign() }

    mutating func step(_ value: Int) {
        let arg = value / 10
        switch value % 10 {
        case 0, 1:  // a block: maybe one pooled attempt lands (only while its blockhash is valid)
            height += 1
            if let id = pool.sorted().first(where: { lastValid[$0].map { height <= $0 } ?? false }) {
                pool.remove(id)
                landed[id] = (height, arg % 5 != 0)
            }
        case 2: finalizedHeight = height
        case 3:  // a fork drops unfinalized landings; their bytes may land again while valid
            for (id, hit) in landed where hit.height > finalizedHeight { landed[id] = nil; pool.insert(id) }
            height = max(finalizedHeight, height - UInt64(arg % 3))
        case 4: height += UInt64(arg % 40)
        case 5, 6: pass(forget: false, arg: arg)
        case 7: pass(forget: true, arg: arg)
        case 8: pool.removeAll()
        default: height += 1
        }
        check()
    }

    mutating func calm() {
        for round in 0..<60 where ledger.state != .settled && violation == nil {
            pass(forget: false, arg: 0)
            height += 1
            if let id = pool.sorted().first(where: { lastValid[$0].map { height <= $0 } ?? false }) { pool.remove(id); landed[id] = (height, true) }
            if round % 2 == 1 { finalizedHeight = height }
            if round % 5 == 4 { height += 30; finalizedHeight = height }
            check()
        }
    }

    mutating func pass(forget: Bool, arg: Int) {
        var evidence = LifecycleEvidence(head: height)
        for (index, attempt) in ledger.attempts.filter(\.isLive).enumerated() {
            let forgets = forget && (arg >> index) & 1 == 1
            if let hit = landed[attempt.id], !forgets {
                let final = hit.height <= finalizedHeight
                evidence.sightings[attempt.id] = .landed(block: hit.height, succeeded: hit.succeeded, final: final,
                                                         matches: final && hit.succeeded ? true : nil)
            } else {
                // A forgetting node also lacks the history (else it would be lying, which one node can always do).
                evidence.sightings[attempt.id] = SightingRules.solana(finalizedHeight: finalizedHeight, lastValidHeight: lastValid[attempt.id],
                                                                      firstAvailableSlot: forgets ? UInt64.max : 0, earliestSlot: 0)
            }
        }
        var machine = ChargeLifecycle(state: ledger.state, attempts: ledger.attempts, policy: policy)
        for action in machine.event(.observed(evidence)) {
            switch action {
            case .record(let change): ledger.apply(change)
            case .send(let id):
                if landed[id] == nil, arg % 7 != 3 { pool.insert(id) }
                if arg % 5 != 1 {
                    for case .record(let change) in machine.event(.acknowledged(attempt: id, head: height)) { ledger.apply(change) }
                }
            case .replace: violation = "Solana attempts are never replaced"
            case .alert: break
            }
        }
        if let v = ledger.violation { violation = v }
        if ledger.state == .awaitingFunds { ledger.state = .due }
        if ledger.state == .due { sign() }
    }

    mutating func sign() {
        for attempt in ledger.attempts {
            let expiredFinal = lastValid[attempt.id].map { finalizedHeight > $0 } ?? false
            let finalFail = landed[attempt.id].map { $0.height <= finalizedHeight && !$0.succeeded } ?? false
            let landedNow = landed[attempt.id] != nil
            if !(finalFail || (expiredFinal && !landedNow)) {
                violation = "signed again while attempt \(attempt.id) could still land"
                return
            }
        }
        let id = nextID
        nextID += 1
        lastValid[id] = height + 150
        ledger.attempts.append(ChargeLifecycle.Tracked(id: id, sequence: ledger.attempts.count + 1, nonce: nil, outcome: .signed))
        ledger.state = .signed
    }

    mutating func check() {
        if violation != nil { return }
        if let v = ledger.violation { violation = v; return }
        if landed.values.filter(\.succeeded).count > 1 { violation = "two of our transfers landed" }
        if ledger.state == .settled, !ledger.attempts.contains(where: { landed[$0.id].map { $0.height <= finalizedHeight && $0.succeeded } ?? false }) {
            violation = "settled without a final successful transfer"
        }
    }
}
