import ChainAdapters
import EVM
@testable import EVMIndexer
import SettleCore
import Signing
import Solana
@testable import SolanaIndexer
import Testing

/// What an approval transaction proves (the wallet a checkout records), decided from the chain's record alone: tables
/// of receipts and transactions, including the ones a page could send to pass off someone else's wallet or a revoke.
@Suite("Approval proofs: the wallet comes from the chain's record of the approval")
struct ApprovalProofTests {
    static let token = try! EVMAddress(bytes: [UInt8](repeating: 0x70, count: 20))  // swiftlint:disable:this force_try
    static let otherToken = try! EVMAddress(bytes: [UInt8](repeating: 0x71, count: 20))  // swiftlint:disable:this force_try
    static let spender = try! EVMAddress(bytes: [UInt8](repeating: 0x5e, count: 20))  // swiftlint:disable:this force_try
    static let stranger = try! EVMAddress(bytes: [UInt8](repeating: 0x99, count: 20))  // swiftlint:disable:this force_try
    static let owner = try! EVMAddress(bytes: [UInt8](repeating: 0x0a, count: 20))  // swiftlint:disable:this force_try

    static func approval(_ value: UInt256, token: EVMAddress = token, owner: EVMAddress = owner, spender: EVMAddress = spender, index: UInt64) -> EVMLog {
        let (topics, data) = ERC20Event.approval(owner: owner, spender: spender, value: value).log
        return EVMLog(address: token, topics: topics, data: data, blockNumber: 9, blockHash: .zero, transactionHash: .zero, logIndex: index, removed: false)
    }

    static func receipt(_ logs: [EVMLog], succeeded: Bool = true) -> EVMReceipt {
        EVMReceipt(transactionHash: .zero, blockHash: .zero, blockNumber: 9, succeeded: succeeded, gasUsed: 50_000, effectiveGasPrice: 1,
                   from: owner, to: token, logs: logs)
    }

    struct EVMCase: CustomTestStringConvertible, Sendable {
        let name: String
        let receipt: EVMReceipt?
        let expected: ApprovalVerdict
        var testDescription: String { name }
    }

    static let proven = ApprovalVerdict.proven(ApprovalProof(wallet: owner.checksummed, token: "USDC", amount: 5_000, position: 9))

    static let evmCases: [EVMCase] = {
        let malformed = EVMLog(address: token, topics: [ERC20.approvalTopic], data: [1], blockNumber: 9, blockHash: .zero, transactionHash: .zero, logIndex: 0, removed: false)
        return [
            EVMCase(name: "no receipt yet: pending", receipt: nil, expected: .pending),
            EVMCase(name: "the approval", receipt: receipt([approval(5_000, index: 3)]), expected: proven),
            EVMCase(name: "reverted", receipt: receipt([approval(5_000, index: 3)], succeeded: false),
                    expected: .refused("the transaction reverted: nothing was approved")),
            EVMCase(name: "another token's contract logged it", receipt: receipt([approval(5_000, token: otherToken, index: 3)]),
                    expected: .refused("the transaction holds no approval of USDC to \(spender.checksummed)")),
            EVMCase(name: "approved to someone else", receipt: receipt([approval(5_000, spender: stranger, index: 3)]),
                    expected: .refused("the transaction holds no approval of USDC to \(spender.checksummed)")),
            EVMCase(name: "less than the first payment", receipt: receipt([approval(999, index: 3)]),
                    expected: .refused("the approval of 999 base units is less than the first payment (1000)")),
            EVMCase(name: "zero first, then the amount (USDT-style, in one transaction)",
                    receipt: receipt([approval(0, index: 1), approval(5_000, index: 2)]), expected: proven),
            EVMCase(name: "the amount, then zero: a revoke", receipt: receipt([approval(5_000, index: 1), approval(0, index: 2)]),
                    expected: .refused("the transaction set the allowance to 0 (a revoke), not an approval")),
            EVMCase(name: "a malformed Approval log of the token is no evidence", receipt: receipt([malformed]),
                    expected: .refused("the transaction holds no approval of USDC to \(spender.checksummed)")),
            EVMCase(name: "a stranger's approval beside the owner's does not change the wallet",
                    receipt: receipt([approval(5_000, index: 2), approval(7_000, owner: stranger, spender: stranger, index: 3)]), expected: proven),
        ]
    }()

    @Test("EVM: receipt → verdict", arguments: evmCases)
    func evm(_ row: EVMCase) {
        #expect(EVMApprovalRule.verdict(receipt: row.receipt, token: "usdc", tokenAddress: Self.token, spender: Self.spender, minimum: 1_000) == row.expected)
    }

    @Test("EVM: a revoke is proven only by a final approval of zero")
    func evmRevoke() {
        let zero = Self.receipt([Self.approval(5_000, index: 1), Self.approval(0, index: 2)])
        #expect(EVMApprovalRule.verdict(receipt: zero, token: "USDC", tokenAddress: Self.token, spender: Self.spender, minimum: 1, revoke: true)
            == .proven(ApprovalProof(wallet: Self.owner.checksummed, token: "USDC", amount: 0, position: 9)))
        #expect(EVMApprovalRule.verdict(receipt: Self.receipt([Self.approval(5_000, index: 1)]), token: "USDC", tokenAddress: Self.token,
                                        spender: Self.spender, minimum: 1, revoke: true) == .refused("the transaction approved 5000 base units: it is not a revoke"))
    }

    // MARK: - Solana

    struct SolanaWorld {
        let owner = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let stranger = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let delegate = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let mint = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        var account: SolanaPublicKey { try! SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: mint, tokenProgram: .token) }  // swiftlint:disable:this force_try

        func approve(_ amount: UInt64, source: SolanaPublicKey? = nil, delegate: SolanaPublicKey? = nil, owner: SolanaPublicKey? = nil, at index: Int) -> ResolvedInstruction {
            ResolvedInstruction(programID: .tokenProgram, accounts: [source ?? account, delegate ?? self.delegate, owner ?? self.owner],
                                data: [4] + withUnsafeBytes(of: amount.littleEndian, Array.init), outerIndex: index, innerIndex: nil)
        }

        func revoke(at index: Int) -> ResolvedInstruction {
            ResolvedInstruction(programID: .tokenProgram, accounts: [account, owner], data: [5], outerIndex: index, innerIndex: nil)
        }

        func transaction(_ instructions: [ResolvedInstruction], failed: Bool = false) -> FetchedSolanaTransaction {
            FetchedSolanaTransaction(signature: SolanaSignature(rawValue: try! Bytes64([UInt8](repeating: 1, count: 64))),  // swiftlint:disable:this force_try
                                     slot: 42, blockTime: nil, failed: failed, accountKeys: [owner, account, delegate, mint],
                                     instructions: instructions, preTokenBalances: [], postTokenBalances: [], fee: 5_000)
        }

        func verdict(_ transaction: FetchedSolanaTransaction?) -> ApprovalVerdict {
            SolanaApprovalRule.verdict(transaction: transaction, token: "usdc", mint: mint, program: .token, delegate: delegate, minimum: 1_000)
        }
    }

    @Test("Solana: transaction → verdict (the owner's associated account, our delegate, enough, not failed, not revoked after)")
    func solana() {
        let w = SolanaWorld()
        let proven = ApprovalVerdict.proven(ApprovalProof(wallet: w.owner.description, token: "USDC", amount: 5_000, position: 42))
        #expect(w.verdict(nil) == .pending)
        #expect(w.verdict(w.transaction([w.approve(5_000, at: 0)])) == proven)
        #expect(w.verdict(w.transaction([w.approve(5_000, at: 0)], failed: true)) == .refused("the transaction failed: nothing was approved"))
        #expect(w.verdict(w.transaction([w.approve(999, at: 0)])) == .refused("the approval of 999 base units is less than the first payment (1000)"))
        #expect(w.verdict(w.transaction([w.approve(5_000, at: 0), w.revoke(at: 1)])) == .refused("the transaction revoked the delegation, not an approval"))
        #expect(w.verdict(w.transaction([w.revoke(at: 0), w.approve(5_000, at: 1)])) == proven)
        let none = ApprovalVerdict.refused("the transaction holds no approval of USDC to \(w.delegate) on the wallet's USDC account")
        #expect(w.verdict(w.transaction([w.approve(5_000, delegate: w.stranger, at: 0)])) == none)
        // A token account that is not the signer's associated account of this mint (someone else's, or another mint's).
        let elsewhere = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        #expect(w.verdict(w.transaction([w.approve(5_000, source: elsewhere, at: 0)])) == none)
        #expect(w.verdict(w.transaction([w.approve(5_000, owner: w.stranger, at: 0)])) == none)
        // Stopping payments: a revoke last is proven (amount 0); an approval is not a revoke.
        #expect(SolanaApprovalRule.verdict(transaction: w.transaction([w.approve(5_000, at: 0), w.revoke(at: 1)]), token: "usdc", mint: w.mint,
                                           program: .token, delegate: w.delegate, minimum: 1, revoke: true)
            == .proven(ApprovalProof(wallet: w.owner.description, token: "USDC", amount: 0, position: 42)))
        #expect(SolanaApprovalRule.verdict(transaction: w.transaction([w.approve(5_000, at: 0)]), token: "usdc", mint: w.mint, program: .token,
                                           delegate: w.delegate, minimum: 1, revoke: true) == .refused("the transaction delegated 5000 base units: it is not a revoke"))
    }
}

/// How a wallet moves its allowance: one approval, unless the token refuses it over a standing allowance.
@Suite("Approval plan: approve(0) first only when the token refuses the direct approval over a standing allowance")
struct ApprovalPlanTests {
    @Test("the table", arguments: [
        // family, current, target, direct refused, plan
        ("evm", 0, 325, false, ApprovalPlan?.some(.direct)),
        ("evm", 10, 325, false, .direct),         // a token that takes a change of allowance: one transaction
        ("evm", 10, 325, true, .zeroFirst),        // USDT: approve(0), then (asked again) the approval
        ("evm", 325, 325, true, .zeroFirst),       // USDT refuses even the same amount again
        ("evm", 0, 325, true, nil),                // refused with nothing standing: another reason, said as it is
        ("evm", 10, 0, true, nil),                 // a revoke refused: never "zero first"
        ("solana", 10, 325, true, nil),            // SPL Approve replaces the delegation: no such rule
        ("solana", 10, 325, false, .direct),
    ])
    func table(_ family: String, _ current: UInt64, _ target: UInt64, _ refused: Bool, _ plan: ApprovalPlan?) {
        #expect(ApprovalPlan.decide(family: family, current: UInt256(current), target: UInt256(target), directRefused: refused) == plan)
    }
}
