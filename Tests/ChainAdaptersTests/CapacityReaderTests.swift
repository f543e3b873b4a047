import ChainAdapters
import SettleConfiguration
import EVM
import EVMIndexer
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import TestSupport
import Testing

@Suite("Preflight: live balance and allowance, and what is short", .serialized)
struct CapacityReaderTests {
    @Test("EVM: balanceOf and allowance(wallet, spender) by eth_call on the devnet")
    func evm() async throws {
        let devnet = try await Devnet.start()
        let accounts = try await devnet.accounts()
        let (customer, spender) = (accounts[1], accounts[7])
        let token = try await devnet.deployToken(owner: accounts[0].address)
        try await devnet.mint(token: token, to: customer.address, amount: 1_000)
        try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: 100)
        let config = try ChainConfig.parse(devnet.chainConfig(tokens: [("USDC", token, 6)], spenders: [spender.address]), file: "devnet.toml")
        let reader = EVMCapacityReader(config: config, node: EVMNode(rpc: devnet.rpc), spender: spender.address)
        let capacity = try await reader.capacity(wallet: customer.address.checksummed, token: "USDC")
        #expect(capacity == PaymentCapacity(balance: 1_000, allowance: 100))
        #expect(capacity.shortfall(for: 50).isEmpty)
        #expect(capacity.shortfall(for: 200) == .lowAllowance)
        #expect(capacity.shortfall(for: 2_000) == [.lowBalance, .lowAllowance])
        try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: 5_000)
        #expect(try await reader.capacity(wallet: customer.address.checksummed, token: "USDC").shortfall(for: 2_000) == .lowBalance)
        await #expect(throws: LedgerError.self) { try await reader.capacity(wallet: "0x12", token: "USDC") }
        await #expect(throws: LedgerError.self) { try await reader.capacity(wallet: customer.address.checksummed, token: "DOGE") }
    }

    @Test("Solana: the wallet's token account, delegated amount only when the delegate is ours")
    func solana() async throws {
        let net = try await SolanaTestnet.start()
        let keys = try await net.keypairs(3)
        let (payer, ours, theirs) = (keys[0], SolanaPublicKey(keys[1].publicKey), SolanaPublicKey(keys[2].publicKey))
        let payerKey = SolanaPublicKey(payer.publicKey)
        let mint = try await net.createMint()
        let account = try await net.createATA(owner: payerKey, mint: mint)
        try await net.mint(mint, to: account, amount: 500)
        let config = try SolanaChainConfig.parse("""
            family = "solana"
            rpc_urls = ["\(net.peer.url("/"))"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(mint)"
            decimals = 6
            """, file: "litesvm.toml")
        let reader = SolanaCapacityReader(config: config, node: net.node, delegate: ours)
        #expect(try await reader.capacity(wallet: payerKey.description, token: "USDC") == PaymentCapacity(balance: 500, allowance: 0))
        try await net.send([TokenInstruction.approve(source: account, delegate: theirs, owner: payerKey, amount: 400)], signers: [payer])
        #expect(try await reader.capacity(wallet: payerKey.description, token: "USDC").allowance == 0)  // not our delegate
        try await net.send([TokenInstruction.approve(source: account, delegate: ours, owner: payerKey, amount: 300)], signers: [payer])
        let capacity = try await reader.capacity(wallet: payerKey.description, token: "USDC")
        #expect(capacity == PaymentCapacity(balance: 500, allowance: 300))
        #expect(capacity.shortfall(for: 400) == .lowAllowance)
        // A wallet with no token account holds nothing.
        #expect(try await reader.capacity(wallet: theirs.description, token: "USDC") == PaymentCapacity(balance: 0, allowance: 0))
    }
}
