// settle-bench: signing throughput of whole payment transactions against the bare C signature primitive,
// measured in the same run, plus keccak-256 throughput. Build and run in release:
//
//     swift run -c release settle-bench [--seconds 1.0] [--rounds 5]
//     swift run -c release settle-bench evm-backfill --url URL --tokens FILE   (see Benchmarks/evm-backfill/run.sh)
//     swift run -c release settle-bench solana-index --url URL                (see Benchmarks/solana-index/run.sh)
//     swift run -c release settle-bench executor --evm-url URL --solana-url URL  (see Benchmarks/executor/run.sh)
//     swift run -c release settle-bench reads [--events 100000] [--clients 50]   (see Benchmarks/reads/run.sh)
//     swift run -c release settle-bench history [--approvals 10000000] [--postgres URL] (see Benchmarks/history/run.sh)
//
// Each figure is the median of `rounds` alternating runs (bare, full, bare, full, …) so machine noise hits both.
import CSecp256k1
import CSodium
import EVM
import Foundation
import SettleCore
import Signing
import Solana

struct Options {
    var seconds = 1.0
    var rounds = 5

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            switch arguments[i] {
            case "--seconds" where i + 1 < arguments.count: seconds = Double(arguments[i + 1]) ?? seconds; i += 1
            case "--rounds" where i + 1 < arguments.count: rounds = Int(arguments[i + 1]) ?? rounds; i += 1
            case "-h", "--help":
                print("usage: settle-bench [--seconds S per measurement, default 1.0] [--rounds N, default 5]")
                exit(0)
            default:
                FileHandle.standardError.write(Data("unknown argument \(arguments[i]); see --help\n".utf8))
                exit(2)
            }
            i += 1
        }
    }
}

/// Runs `body(i)` in batches until `seconds` have passed; returns operations per second.
func rate(seconds: Double, _ body: (Int) -> UInt8) -> (perSecond: Double, sink: UInt8) {
    let clock = ContinuousClock()
    let start = clock.now
    var operations = 0
    var sink: UInt8 = 0
    let deadline = Duration.milliseconds(Int64(seconds * 1000))
    while clock.now - start < deadline {
        for _ in 0..<64 {
            sink ^= body(operations)
            operations += 1
        }
    }
    let elapsed = clock.now - start
    let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (Double(operations) / secondsElapsed, sink)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func format(_ value: Double) -> String { String(format: "%10.0f", value) }

/// The benchmarks that are subcommands, by name.
let subcommands: [String: @Sendable ([String]) async throws -> Void] = [
    "evm-backfill": { try await BackfillBenchmark.run(arguments: $0) },
    "executor": { try await ExecutorBenchmark.run(arguments: $0) },
    "solana-index": { try await SolanaIndexBenchmark.run(arguments: $0) },
    "reads": { try await ReadsBenchmark.run(arguments: $0) },
    "history": { try await HistoryBenchmark.run(arguments: $0) },
    "fixture-rate": { try await FixtureRate.run(arguments: $0) },
]
if CommandLine.arguments.count > 1, let subcommand = subcommands[CommandLine.arguments[1]] {
    // A bad argument or a failed run is a message and exit status 1, not a crash report.
    do {
        try await subcommand(Array(CommandLine.arguments.dropFirst(2)))
    } catch {
        FileHandle.standardError.write(Data("settle-bench \(CommandLine.arguments[1]): \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
let options = Options(CommandLine.arguments)
var sink: UInt8 = 0
print("settle-bench: \(options.rounds) rounds × \(options.seconds) s per measurement, medians reported\n")

// MARK: (a) EVM: EIP-1559 transferFrom built, RLP-encoded, hashed and signed vs bare secp256k1_ecdsa_sign_recoverable

let spender = Secp256k1PrivateKey.generate()
let payer = try EVMAddress(hex: "0x1111111111111111111111111111111111111111")
let treasury = try EVMAddress(hex: "0x2222222222222222222222222222222222222222")
let token = try EVMAddress(hex: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")

/// Bare libsecp256k1 signing with locals only (no globals in the loop), as a caller of the C API would write it.
func bareSecp256k1(seconds: Double) -> (perSecond: Double, sink: UInt8) {
    guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else { fatalError("secp256k1 context") }
    defer { secp256k1_context_destroy(context) }
    var seed = [UInt8](repeating: 0, count: 32)
    randombytes_buf(&seed, 32)
    _ = secp256k1_context_randomize(context, seed)
    var key = [UInt8](repeating: 0, count: 32)
    repeat { randombytes_buf(&key, 32) } while secp256k1_ec_seckey_verify(context, key) != 1
    var digest = [UInt8](repeating: 0x5a, count: 32)
    var signature = secp256k1_ecdsa_recoverable_signature()
    return rate(seconds: seconds) { i in
        digest[0] = UInt8(truncatingIfNeeded: i)
        digest[1] = UInt8(truncatingIfNeeded: i >> 8)
        _ = secp256k1_ecdsa_sign_recoverable(context, &signature, digest, key, nil, nil)
        return signature.data.0
    }
}

/// The whole EVM pull: build the EIP-1559 transferFrom, RLP-encode, hash, sign, raw bytes and tx hash.
func fullEVMTransaction(seconds: Double, key: Secp256k1PrivateKey, token: EVMAddress, payer: EVMAddress, treasury: EVMAddress) -> (perSecond: Double, sink: UInt8) {
    rate(seconds: seconds) { i in
        let transaction = EIP1559Transaction(
            chainID: 8453, nonce: UInt64(i), maxPriorityFeePerGas: 1_000_000, maxFeePerGas: 30_000_000_000,
            gasLimit: 80_000, to: token,
            data: ERC20.transferFrom(from: payer, to: treasury, amount: UInt256(UInt64(25_000_000 + i))))
        let signed = transaction.signed(with: key)
        return signed.rawBytes[signed.rawBytes.count - 1] ^ signed.hash.bytes32.withUnsafeBytes { $0[0] }
    }
}

var bareEVM: [Double] = []
var fullEVM: [Double] = []
for _ in 0..<options.rounds {
    let bare = bareSecp256k1(seconds: options.seconds)
    bareEVM.append(bare.perSecond)
    sink ^= bare.sink
    let full = fullEVMTransaction(seconds: options.seconds, key: spender, token: token, payer: payer, treasury: treasury)
    fullEVM.append(full.perSecond)
    sink ^= full.sink
}

// MARK: (b) Solana: TransferChecked (+ compute budget) built, compiled, serialized and signed vs bare crypto_sign_detached

let delegate = Ed25519PrivateKey.generate()
let delegateKey = SolanaPublicKey(delegate.publicKey)
let mint = try SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
let wallet = try SolanaPublicKey(base58: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM")
let treasuryWallet = try SolanaPublicKey(base58: "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T")
// Token accounts are known from the agreement when a charge runs; derive them once, outside the loop.
let source = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: mint, tokenProgram: .token)
let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasuryWallet, mint: mint, tokenProgram: .token)
let blockhash = try Blockhash(base58: "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N")

func solanaMessage(_ i: Int) throws -> VersionedMessage {
    let instructions = [
        ComputeBudgetInstruction.setComputeUnitLimit(40_000),
        ComputeBudgetInstruction.setComputeUnitPrice(microLamports: 1_000 + UInt64(i & 0xff)),
        TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: delegateKey,
                                         amount: 25_000_000 + UInt64(i), decimals: 6),
    ]
    return .legacy(try LegacyMessage(instructions: instructions, payer: delegateKey, recentBlockhash: blockhash))
}

let sampleLength = try solanaMessage(0).serialized().count

/// Bare libsodium ed25519 signing of a message the size of the TransferChecked message, locals only.
func bareEd25519(seconds: Double, length: Int) -> (perSecond: Double, sink: UInt8) {
    var secret = [UInt8](repeating: 0, count: 64)
    var publicBytes = [UInt8](repeating: 0, count: 32)
    crypto_sign_ed25519_keypair(&publicBytes, &secret)
    var message = [UInt8](repeating: 0x33, count: length)
    var signature = [UInt8](repeating: 0, count: 64)
    return rate(seconds: seconds) { i in
        message[0] = UInt8(truncatingIfNeeded: i)
        crypto_sign_ed25519_detached(&signature, nil, message, UInt64(message.count), secret)
        return signature[0]
    }
}

/// The whole Solana pull: three instructions, compiled message, serialized and signed wire transaction.
func fullSolanaTransaction(seconds: Double, signer: Ed25519PrivateKey) -> (perSecond: Double, sink: UInt8) {
    rate(seconds: seconds) { i in
        guard let message = try? solanaMessage(i),
              let wire = try? SolanaTransaction.signedWireBytes(message: message, signers: [signer])
        else { fatalError("building the Solana transaction failed") }
        return wire[wire.count - 1] ^ wire[1]
    }
}

var bareSolana: [Double] = []
var fullSolana: [Double] = []
for _ in 0..<options.rounds {
    let bare = bareEd25519(seconds: options.seconds, length: sampleLength)
    bareSolana.append(bare.perSecond)
    sink ^= bare.sink
    let full = fullSolanaTransaction(seconds: options.seconds, signer: delegate)
    fullSolana.append(full.perSecond)
    sink ^= full.sink
}

// MARK: (c) keccak-256 throughput

let megabyte = [UInt8](repeating: 0xa7, count: 1 << 20)
var keccakRates: [Double] = []
for _ in 0..<options.rounds {
    let result = rate(seconds: options.seconds / 2) { _ in
        megabyte.withUnsafeBytes { keccak256($0) }.withUnsafeBytes { $0[0] }
    }
    keccakRates.append(result.perSecond)  // MiB per second
    sink ^= result.sink
}
let small = [UInt8](repeating: 0x11, count: 64)
let smallRate = median((0..<options.rounds).map { _ in
    rate(seconds: options.seconds / 4) { i in
        var input = small
        input[0] = UInt8(truncatingIfNeeded: i)
        return input.withUnsafeBytes { keccak256($0) }.withUnsafeBytes { $0[0] }
    }.perSecond
})

// MARK: Report

let evmRatio = median(fullEVM) / median(bareEVM)
let solanaRatio = median(fullSolana) / median(bareSolana)
print("(a) EVM   bare secp256k1_ecdsa_sign_recoverable   \(format(median(bareEVM))) /s")
print("          EIP-1559 transferFrom build+RLP+hash+sign \(format(median(fullEVM))) /s   ratio \(String(format: "%.3f", evmRatio))  (goal ≥ 0.85: \(evmRatio >= 0.85 ? "met" : "NOT met"))")
print("(b) Solana bare crypto_sign_ed25519_detached (\(sampleLength) B) \(format(median(bareSolana))) /s")
print("          TransferChecked build+compile+serialize+sign \(format(median(fullSolana))) /s   ratio \(String(format: "%.3f", solanaRatio))  (goal ≥ 0.85: \(solanaRatio >= 0.85 ? "met" : "NOT met"))")
print("(c) keccak-256 over 1 MiB                        \(String(format: "%10.1f", median(keccakRates))) MiB/s")
print("    keccak-256 of 64 bytes                       \(format(smallRate)) hashes/s")
print("\n(checksum \(sink))")
