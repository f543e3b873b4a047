import Foundation
import SettleCore
import Signing
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct SolanaKeypairVector: Decodable, Sendable {
    let seed: String
    let json: String
    let base58: String
    let keypairHex: String
    let publicKey: String
}

/// Writes `contents` to a fresh file with `mode` and returns its path.
private func keyFile(_ contents: String, mode: mode_t) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settle-keys-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent("key").path
    #expect(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)))
    #expect(chmod(path, mode) == 0)
    return path
}

@Suite("Key loading: formats, file permissions, environment, redaction")
struct KeyLoaderTests {
    static let secpHex = "4646464646464646464646464646464646464646464646464646464646464646"

    @Test("Solana keypair formats (solders): JSON array, base58, 128 hex, seed hex")
    func solanaFormats() throws {
        let vectors = try Vectors.load("solana_keypairs", as: [SolanaKeypairVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            for text in [vector.json, vector.base58, vector.keypairHex, vector.seed, "  \(vector.json)\n"] {
                let key = try KeyLoader.parseEd25519(Array(text.utf8))
                #expect(key.publicKey.rawValue.hex == vector.publicKey)
            }
        }
    }

    @Test("secp256k1 hex with and without 0x and a trailing newline")
    func secpFormats() throws {
        for text in [Self.secpHex, "0x" + Self.secpHex, Self.secpHex + "\n"] {
            let key = try KeyLoader.parseSecp256k1(Array(text.utf8))
            #expect(key.publicKey.compressed.hex == "024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382")
        }
    }

    @Test("a key file readable by group or others is refused; 0600 and 0400 load", arguments: [
        (mode_t(0o600), true), (mode_t(0o400), true), (mode_t(0o640), false), (mode_t(0o644), false),
        (mode_t(0o604), false), (mode_t(0o660), false), (mode_t(0o602), false),
    ])
    func filePermissions(mode: mode_t, accepted: Bool) throws {
        let path = try keyFile(Self.secpHex + "\n", mode: mode)
        if accepted {
            _ = try KeyLoader.secp256k1(from: .file(path: path))
        } else {
            let error = #expect(throws: SigningError.self) { try KeyLoader.secp256k1(from: .file(path: path)) }
            #expect(error?.code == .insecureKeyFile)
            #expect(error?.message.contains("chmod 600") == true)
            #expect(error?.message.contains(Self.secpHex) == false)
        }
    }

    @Test("missing file, directory, oversized file and empty environment are clear errors")
    func unreadable() throws {
        var error = #expect(throws: SigningError.self) { try KeyLoader.secp256k1(from: .file(path: "/nonexistent/settle.key")) }
        #expect(error?.code == .unreadableKeyFile)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("settle-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o700)
        error = #expect(throws: SigningError.self) { try KeyLoader.secp256k1(from: .file(path: directory.path)) }
        #expect(error?.code == .unreadableKeyFile)
        let big = try keyFile(String(repeating: "a", count: 10_000), mode: 0o600)
        error = #expect(throws: SigningError.self) { try KeyLoader.ed25519(from: .file(path: big)) }
        #expect(error?.code == .unreadableKeyFile)
        error = #expect(throws: SigningError.self) { try KeyLoader.ed25519(from: .environment(name: "SETTLE_TEST_UNSET_\(UInt32.random(in: 0...UInt32.max))")) }
        #expect(error?.code == .missingEnvironmentVariable)
    }

    @Test("keys load from an environment variable")
    func environment() throws {
        let name = "SETTLE_TEST_KEY_\(UInt32.random(in: 0...UInt32.max))"
        TestEnvironment.set(name, "0x" + Self.secpHex)
        defer { TestEnvironment.unset(name) }
        let key = try KeyLoader.secp256k1(from: try KeyReference(parsing: "env:\(name)"))
        #expect(key.publicKey.compressed.hex == "024bc2a31265153f07e70e0bab08724e6b85e217f8cd628ceb62974247bb493382")
    }

    @Test("key references are file: or env:, never the key itself", arguments: [
        Self.secpHex, "file:", "env:", "env:BAD-NAME", "http://x", "",
    ])
    func badReference(text: String) {
        let error = #expect(throws: SigningError.self) { try KeyReference(parsing: text) }
        #expect(error?.code == .invalidKeyReference)
        #expect(error?.message.contains(Self.secpHex) == false)
    }

    @Test("malformed key text is refused without echoing it", arguments: [
        "zz" + String(Self.secpHex.dropFirst(2)), String(Self.secpHex.dropLast()), Self.secpHex + "00", "",
    ])
    func malformedSecp(text: String) {
        let error = #expect(throws: SigningError.self) { try KeyLoader.parseSecp256k1(Array(text.utf8)) }
        #expect(error.map { !$0.message.contains(text) || text.isEmpty } == true)
    }

    @Test("malformed keypair JSON is refused", arguments: [
        "[1,2,3]", "[256" + String(repeating: ",1", count: 63) + "]", "[" + String(repeating: "1,", count: 64) + "1]",
        "[1,2,", "[-1]", "[1 2]", "[01x]", "[]", "{\"a\":1}",
    ])
    func malformedJSON(text: String) {
        #expect(throws: SigningError.self) { try KeyLoader.parseEd25519(Array(text.utf8)) }
    }

    @Test("a key never prints, reflects, dumps or encodes its secret")
    func redaction() throws {
        let secp = try KeyLoader.parseSecp256k1(Array(Self.secpHex.utf8))
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
        let ed = try KeyLoader.parseEd25519(Array(seed.utf8))
        var dumped = ""
        dump(secp, to: &dumped)
        dump(ed, to: &dumped)
        let renderings = [
            "\(secp)", String(describing: secp), String(reflecting: secp), dumped,
            "\(ed)", String(describing: ed), String(reflecting: ed), "\([secp])", "\(Optional(ed) as Any)",
        ]
        for text in renderings {
            #expect(!text.lowercased().contains("4646464646"))
            #expect(!text.lowercased().contains("9d61b19d"))
        }
        #expect(!((secp as Any) is any Encodable))
        #expect(!((ed as Any) is any Encodable))
    }

    @Test("key parsers survive 100,000 random and mutated inputs each")
    func fuzz() throws {
        let vectors = try Vectors.load("solana_keypairs", as: [SolanaKeypairVector].self)
        let edSeeds = vectors.prefix(20).flatMap { [Array($0.json.utf8), Array($0.base58.utf8), Array($0.keypairHex.utf8)] }
        var accepted = 0
        for input in FuzzInputs(count: 100_000, seeds: edSeeds, maxLength: 400, seed: 1) {
            if (try? KeyLoader.parseEd25519(input)) != nil { accepted += 1 }
        }
        let secpSeeds = [Array(Self.secpHex.utf8), Array(("0x" + Self.secpHex).utf8)]
        for input in FuzzInputs(count: 100_000, seeds: secpSeeds, maxLength: 80, seed: 2) {
            if (try? KeyLoader.parseSecp256k1(input)) != nil { accepted += 1 }
        }
        // Some mutations stay valid (e.g. a flipped bit in hex digits), most do not; both paths ran.
        #expect(accepted > 0 && accepted < 200_000)
    }
}
