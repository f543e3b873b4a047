import Solana
import TestSupport

// Shapes of the JSON files `Tests/Vectors/solana_vectors.py` writes, and conversions into library values.

struct Base58Case: Decodable { let hex: String; let base58: String }
struct OnCurveCase: Decodable { let hex: String; let on_curve: Bool }
struct PDAFindCase: Decodable { let seeds: [String]; let program_id: String; let address: String; let bump: Int }
struct PDACreateCase: Decodable {
    let seeds: [String]; let program_id: String; let address: String?; let error: String?
}
struct ATACase: Decodable { let wallet: String; let mint: String; let token_program: String; let address: String }
struct CompactU16Case: Decodable { let value: Int; let hex: String }

struct MetaJSON: Decodable { let pubkey: String; let is_signer: Bool; let is_writable: Bool }
struct InstructionJSON: Decodable {
    let program_id: String; let accounts: [MetaJSON]; let data: String

    func instruction() throws -> SolanaInstruction {
        SolanaInstruction(
            programID: try pubkey(program_id),
            accounts: try accounts.map { AccountMeta(try pubkey($0.pubkey), isSigner: $0.is_signer, isWritable: $0.is_writable) },
            data: [UInt8](hex: data))
    }
}
struct TableJSON: Decodable {
    let key: String; let addresses: [String]
    func table() throws -> AddressLookupTableAccount {
        AddressLookupTableAccount(key: try pubkey(key), addresses: try addresses.map { try pubkey($0) })
    }
}
struct LegacyMessageCase: Decodable {
    let instructions: [InstructionJSON]; let payer: String?; let blockhash: String; let message: String
}
struct V0MessageCase: Decodable {
    let instructions: [InstructionJSON]; let payer: String; let lookup_tables: [TableJSON]; let blockhash: String
    let message: String?; let error: String?
}
struct TransactionCase: Decodable {
    let seeds: [String]; let instructions: [InstructionJSON]; let payer: String; let blockhash: String
    let version: String; let lookup_tables: [TableJSON]; let transaction: String
}
struct SPLCase: Decodable {
    let kind: String; let token_program: String; let source: String; let mint: String; let destination: String
    let delegate: String; let owner: String; let amount: String; let decimals: Int; let instruction: InstructionJSON
}
struct ComputeBudgetCase: Decodable { let kind: String; let value: String; let instruction: InstructionJSON }
struct TokenAccountCase: Decodable {
    let hex: String; let mint: String; let owner: String; let amount: String; let delegate: String?; let state: Int
    let is_native: String?; let delegated_amount: String; let close_authority: String?; let reserialized: String
}

/// A key from vector text.
func pubkey(_ text: String) throws -> SolanaPublicKey { try SolanaPublicKey(base58: text) }
