import Solana
import Testing
import TestSupport

@Suite("Program-derived and associated token addresses")
struct ProgramAddressTests {
    @Test("findProgramAddress matches solders (address and bump)")
    func find() throws {
        let cases = try Vectors.load("solana_pda_find", as: [PDAFindCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let (address, bump) = try SolanaPublicKey.findProgramAddress(
                seeds: c.seeds.map { [UInt8](hex: $0) }, programID: pubkey(c.program_id))
            #expect(address.description == c.address)
            #expect(Int(bump) == c.bump)
        }
    }

    @Test("createProgramAddress matches solders, errors included")
    func create() throws {
        let cases = try Vectors.load("solana_pda_create", as: [PDACreateCase].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let seeds = c.seeds.map { [UInt8](hex: $0) }
            do {
                let address = try SolanaPublicKey.createProgramAddress(seeds: seeds, programID: pubkey(c.program_id))
                #expect(address.description == c.address)
            } catch let error as SolanaError {
                switch c.error {
                case "maxSeedLength": #expect(error.code == .maxSeedLengthExceeded)
                case "invalidSeeds": #expect(error.code == .invalidSeeds)
                default: Issue.record("unexpected \(error) for \(c.seeds)")
                }
            }
        }
    }

    @Test("16 seeds leave no room for the bump")
    func tooManySeedsForFind() throws {
        #expect(throws: SolanaError.self) {
            try SolanaPublicKey.findProgramAddress(seeds: Array(repeating: [1], count: 16), programID: .zero)
        }
    }

    @Test("associated token addresses match solders for both token programs")
    func associatedTokenAddress() throws {
        let cases = try Vectors.load("solana_ata", as: [ATACase].self)
        #expect(cases.count >= 1000)
        var programs = Set<TokenProgram>()
        for c in cases {
            let program = try #require(TokenProgram(programID: pubkey(c.token_program)))
            programs.insert(program)
            let address = try SolanaPublicKey.associatedTokenAddress(
                wallet: pubkey(c.wallet), mint: pubkey(c.mint), tokenProgram: program)
            #expect(address.description == c.address)
        }
        #expect(programs == [.token, .token2022])
    }

    @Test("well-known program ids")
    func programIDs() {
        #expect(SolanaPublicKey.systemProgram.description == "11111111111111111111111111111111")
        #expect(TokenProgram.token.programID.description == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
        #expect(TokenProgram.token2022.programID.description == "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
        #expect(SolanaPublicKey.computeBudgetProgram.description == "ComputeBudget111111111111111111111111111111")
    }
}
