import Solana
import Testing
import TestSupport

@Suite("Program instructions")
struct ProgramInstructionTests {
    @Test("SPL Token instructions match solana-py for both token programs")
    func splToken() throws {
        let cases = try Vectors.load("solana_spl_token", as: [SPLCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let program = try #require(TokenProgram(programID: pubkey(c.token_program)))
            let amount = try #require(UInt64(c.amount))
            let decimals = UInt8(c.decimals)
            let (source, mint, destination, delegate, owner) =
                (try pubkey(c.source), try pubkey(c.mint), try pubkey(c.destination), try pubkey(c.delegate), try pubkey(c.owner))
            let built: SolanaInstruction
            switch c.kind {
            case "transfer":
                built = TokenInstruction.transfer(program: program, source: source, destination: destination, owner: owner, amount: amount)
            case "transfer_checked":
                built = TokenInstruction.transferChecked(
                    program: program, source: source, mint: mint, destination: destination, owner: owner,
                    amount: amount, decimals: decimals)
            case "approve":
                built = TokenInstruction.approve(program: program, source: source, delegate: delegate, owner: owner, amount: amount)
            case "approve_checked":
                built = TokenInstruction.approveChecked(
                    program: program, source: source, mint: mint, delegate: delegate, owner: owner,
                    amount: amount, decimals: decimals)
            case "revoke":
                built = TokenInstruction.revoke(program: program, source: source, owner: owner)
            default:
                Issue.record("unknown kind \(c.kind)")
                continue
            }
            #expect(built == (try c.instruction.instruction()), "\(c.kind)")
        }
    }

    @Test("Compute Budget instructions match solders")
    func computeBudget() throws {
        let cases = try Vectors.load("solana_compute_budget", as: [ComputeBudgetCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let built: SolanaInstruction
            if c.kind == "limit" {
                built = ComputeBudgetInstruction.setComputeUnitLimit(try #require(UInt32(c.value)))
            } else {
                built = ComputeBudgetInstruction.setComputeUnitPrice(microLamports: try #require(UInt64(c.value)))
            }
            #expect(built == (try c.instruction.instruction()))
        }
    }
}
