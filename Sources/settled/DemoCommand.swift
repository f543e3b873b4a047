import ArgumentParser
import EVM
import SettleCore
import SettleRuntime
import Signing
import Solana

/// Signs a pull payment on an EVM chain and on Solana with fresh keys, then decodes and verifies both.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Sign and verify a payment pull on Base (EIP-1559 transferFrom) and Solana (SPL TransferChecked).",
        discussion: """
            Uses fresh random keys and nothing from the network: it shows the transactions Settle's executor sends \
            when an invoice is due. Each signed transaction is decoded again from its raw bytes and checked: on EVM \
            the sender is recovered from the signature; on Solana the ed25519 signature is verified over the decoded \
            message and the instructions are read back.
            """)

    @Option(help: "Invoice amount in USD cents.")
    var cents: UInt64 = 2500

    func run() throws {
        let amount = UInt256(cents) * UInt256(10_000)  // USDC has 6 decimals: 1 cent = 10,000 base units
        print("Pulling a $\(cents / 100).\(String(format2: cents % 100)) USDC subscription payment on two chains.\n")
        try evm(amount: amount)
        print("")
        try solana(amount: amount.exactUInt64 ?? 0)
        print("\nBoth transactions verified. Nothing was sent: the daemon broadcasts them and follows them to finality.")
    }

    private func evm(amount: UInt256) throws {
        let spender = Secp256k1PrivateKey.generate()
        let spenderAddress = EVMAddress(publicKey: spender.publicKey)
        let payer = EVMAddress(publicKey: Secp256k1PrivateKey.generate().publicKey)
        let treasury = EVMAddress(publicKey: Secp256k1PrivateKey.generate().publicKey)
        let usdc = try EVMAddress(hex: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
        let transaction = EIP1559Transaction(
            chainID: 8453, nonce: 0, maxPriorityFeePerGas: 1_000_000, maxFeePerGas: 2_000_000_000, gasLimit: 80_000,
            to: usdc, data: ERC20.transferFrom(from: payer, to: treasury, amount: amount))
        let signed = transaction.signed(with: spender)
        print("EVM (Base, chain id 8453)")
        print("  spender (signs)    \(spenderAddress)")
        print("  call               USDC.transferFrom(\(payer), \(treasury), \(amount))")
        print("  raw transaction    \(signed.rawHex.prefix(66))… (\(signed.rawBytes.count) bytes)")
        print("  transaction hash   \(signed.hash)")
        let decoded = try SignedTransaction(raw: signed.rawBytes)
        let sender = try decoded.recoverSender()
        guard sender == spenderAddress, decoded.hash == signed.hash, decoded.signature.isLowS else {
            throw ValidationError("EVM verification failed: recovered \(sender)")
        }
        print("  verified           sender recovered from the signature is the spender; low-s; hash matches")
    }

    private func solana(amount: UInt64) throws {
        let delegate = Ed25519PrivateKey.generate()
        let delegateKey = SolanaPublicKey(delegate.publicKey)
        let wallet = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let treasury = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let mint = try SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: mint, tokenProgram: .token)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: mint, tokenProgram: .token)
        let blockhash = try Blockhash(base58: "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N")
        let message = try LegacyMessage(
            instructions: [
                ComputeBudgetInstruction.setComputeUnitLimit(40_000),
                ComputeBudgetInstruction.setComputeUnitPrice(microLamports: 5_000),
                TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: delegateKey,
                                                 amount: amount, decimals: 6),
            ],
            payer: delegateKey, recentBlockhash: blockhash)
        let transaction = try SolanaTransaction(message: .legacy(message), signers: [delegate])
        let wire = transaction.serialized()
        print("Solana (mainnet USDC mint)")
        print("  delegate (signs)   \(delegateKey)")
        print("  payer token acct   \(source)  (ATA of \(wallet))")
        print("  call               TransferChecked \(amount) base units, 6 decimals → \(destination)")
        print("  wire transaction   \(wire.count) bytes")
        if let id = transaction.id { print("  signature (tx id)  \(id)") }
        let decoded = try SolanaTransaction(wireBytes: wire)
        guard decoded.verifySignatures(), decoded == transaction else {
            throw ValidationError("Solana verification failed")
        }
        print("  verified           decoded from wire bytes; ed25519 signature valid for the delegate")
    }
}

extension String {
    fileprivate init(format2 value: UInt64) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}
