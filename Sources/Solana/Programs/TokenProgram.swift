/// The two SPL token programs. Their instruction encodings and base account layout are the same.
public enum TokenProgram: Hashable, Sendable, CaseIterable {
    /// SPL Token, `TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA`.
    case token
    /// SPL Token-2022 (token extensions), `TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb`.
    case token2022

    /// The program's id.
    public var programID: SolanaPublicKey {
        switch self {
        case .token: return .tokenProgram
        case .token2022: return .token2022Program
        }
    }

    /// The program with this id, or nil when it is neither token program.
    public init?(programID: SolanaPublicKey) {
        switch programID {
        case .tokenProgram: self = .token
        case .token2022Program: self = .token2022
        default: return nil
        }
    }
}
