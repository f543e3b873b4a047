#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SettleCore

/// Loads private keys from a `KeyReference`, refusing files that others can read.
///
/// Accepted text formats (surrounding whitespace ignored):
/// - secp256k1: 64 hex digits, optional `0x` (the form `eth-account` and most wallets export).
/// - ed25519: a JSON array of 64 byte values (Solana CLI `id.json`: seed ‖ public key); 128 hex digits
///   (the same 64 bytes); 64 hex digits (the 32-byte seed); base58 of the 64 bytes (wallet "export private key").
///   A 64-byte form is checked: its public half must belong to its seed.
///
/// Errors name the file or variable and what to fix; they never contain any part of the key.
public enum KeyLoader {
    /// Largest key file read; anything larger is not a key.
    public static let maximumFileSize = 4096

    /// Loads a secp256k1 key.
    public static func secp256k1(from reference: KeyReference) throws(SigningError) -> Secp256k1PrivateKey {
        var text = try read(reference)
        defer { wipe(&text) }
        do {
            return try parseSecp256k1(text)
        } catch {
            throw SigningError(error.code, "\(reference): \(error.message)")
        }
    }

    /// Loads an ed25519 key.
    public static func ed25519(from reference: KeyReference) throws(SigningError) -> Ed25519PrivateKey {
        var text = try read(reference)
        defer { wipe(&text) }
        do {
            return try parseEd25519(text)
        } catch {
            throw SigningError(error.code, "\(reference): \(error.message)")
        }
    }

    /// Parses secp256k1 key text (see the type's documentation for formats).
    public static func parseSecp256k1(_ text: [UInt8]) throws(SigningError) -> Secp256k1PrivateKey {
        let trimmed = trim(text)
        guard var bytes = hexBytes(trimmed), bytes.count == 32 else {
            throw SigningError(.malformedKey, "a secp256k1 key is 64 hex digits (optionally 0x-prefixed)")
        }
        defer { wipe(&bytes) }
        return try Secp256k1PrivateKey(bytes: bytes)
    }

    /// Parses ed25519 key text (see the type's documentation for formats).
    public static func parseEd25519(_ text: [UInt8]) throws(SigningError) -> Ed25519PrivateKey {
        let trimmed = trim(text)
        guard let first = trimmed.first else {
            throw SigningError(.malformedKey, "the key is empty")
        }
        var bytes: [UInt8]
        if first == UInt8(ascii: "[") {
            bytes = try jsonByteArray(trimmed)
        } else if let hex = hexBytes(trimmed) {
            bytes = hex
        } else if let decoded = base58Bytes(trimmed) {
            bytes = decoded
        } else {
            throw SigningError(
                .malformedKey,
                "an ed25519 key is a JSON array of 64 numbers (Solana CLI keypair), 64 or 128 hex digits, or base58 of 64 bytes")
        }
        defer { wipe(&bytes) }
        switch bytes.count {
        case 32: return try Ed25519PrivateKey(seed: bytes)
        case 64: return try Ed25519PrivateKey(keypairBytes: bytes)
        default:
            throw SigningError(.malformedKey, "an ed25519 key is 32 (seed) or 64 (keypair) bytes, got \(bytes.count)")
        }
    }

    /// A secret that is text, not a key (an API key, a webhook signing secret), from a `file:` (same permission
    /// rules as keys) or `env:` reference, with surrounding whitespace trimmed.
    /// - Throws: `SigningError` when it is missing, empty or not readable; the error never contains the secret.
    public static func secretText(from reference: KeyReference) throws(SigningError) -> String {
        let text = String(decoding: trim(try read(reference)), as: UTF8.self)
        guard !text.isEmpty else { throw SigningError(.malformedKey, "\(reference) is empty") }
        return text
    }

    // MARK: - Reading

    private static func read(_ reference: KeyReference) throws(SigningError) -> [UInt8] {
        switch reference {
        case .environment(let name):
            guard let value = getenv(name), value.pointee != 0 else {
                throw SigningError(.missingEnvironmentVariable, "environment variable \(name) is not set or empty")
            }
            let length = strlen(value)
            guard length <= maximumFileSize else {
                throw SigningError(.malformedKey, "environment variable \(name) is too long to be a key")
            }
            return Array(UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: length))
        case .file(let path):
            return try readKeyFile(path)
        }
    }

    private static func readKeyFile(_ path: String) throws(SigningError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw SigningError(.unreadableKeyFile, "cannot open key file \(path): \(reason)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SigningError(.unreadableKeyFile, "cannot stat key file \(path)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SigningError(.unreadableKeyFile, "key file \(path) is not a regular file")
        }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            let mode = String(permissions, radix: 8)
            throw SigningError(
                .insecureKeyFile,
                "key file \(path) has mode 0\(mode), so group or others can access it; run `chmod 600 \(path)`")
        }
        guard info.st_size <= maximumFileSize else {
            throw SigningError(.unreadableKeyFile, "key file \(path) is \(info.st_size) bytes; a key file is at most \(maximumFileSize)")
        }
        var buffer = [UInt8](repeating: 0, count: maximumFileSize + 1)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.mutableBytePointer + total, raw.count - total)
            }
            if n < 0 {
                if errno == EINTR { continue }
                wipe(&buffer)
                throw SigningError(.unreadableKeyFile, "cannot read key file \(path)")
            }
            if n == 0 { break }
            total += n
        }
        guard total <= maximumFileSize else {
            wipe(&buffer)
            throw SigningError(.unreadableKeyFile, "key file \(path) is larger than \(maximumFileSize) bytes")
        }
        let contents = Array(buffer[0..<total])
        wipe(&buffer)
        return contents
    }

    // MARK: - Formats

    private static func trim(_ text: [UInt8]) -> ArraySlice<UInt8> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }
        guard let start = text.firstIndex(where: { !isSpace($0) }),
              let end = text.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return text[start...end]
    }

    private static func hexBytes(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var digits = text
        if digits.count >= 2, digits.first == UInt8(ascii: "0"),
           digits[digits.startIndex + 1] == UInt8(ascii: "x") || digits[digits.startIndex + 1] == UInt8(ascii: "X") {
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(digits.count / 2)
        var i = digits.startIndex
        while i < digits.endIndex {
            guard let hi = Hex.nibble(digits[i]), let lo = Hex.nibble(digits[i + 1]) else {
                wipe(&out)
                return nil
            }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// `[n, n, …]` with 0 ≤ n ≤ 255, whitespace allowed between tokens.
    private static func jsonByteArray(_ text: ArraySlice<UInt8>) throws(SigningError) -> [UInt8] {
        let malformed = SigningError(.malformedKey, "keypair JSON must be an array of integers 0-255")
        var out = [UInt8]()
        var i = text.startIndex
        func skipSpace() {
            while i < text.endIndex, text[i] == 0x20 || text[i] == 0x09 || text[i] == 0x0a || text[i] == 0x0d { i += 1 }
        }
        guard i < text.endIndex, text[i] == UInt8(ascii: "[") else { throw malformed }
        i += 1
        skipSpace()
        if i < text.endIndex, text[i] == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                skipSpace()
                var value = 0
                var digits = 0
                while i < text.endIndex, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
                    value = value * 10 + Int(text[i] - UInt8(ascii: "0"))
                    digits += 1
                    i += 1
                    guard digits <= 3, value <= 255 else { wipe(&out); throw malformed }
                }
                guard digits > 0 else { wipe(&out); throw malformed }
                out.append(UInt8(value))
                guard out.count <= 64 else { wipe(&out); throw SigningError(.malformedKey, "keypair JSON has more than 64 numbers") }
                skipSpace()
                guard i < text.endIndex else { wipe(&out); throw malformed }
                if text[i] == UInt8(ascii: ",") { i += 1; continue }
                if text[i] == UInt8(ascii: "]") { i += 1; break }
                wipe(&out)
                throw malformed
            }
        }
        skipSpace()
        guard i == text.endIndex else { wipe(&out); throw malformed }
        return out
    }

    /// Base58 (Bitcoin alphabet) of at most 64 bytes; nil when the text is not base58.
    private static func base58Bytes(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard !text.isEmpty, text.count <= 100 else { return nil }
        var value = [UInt8]()  // little-endian base-256 digits
        var zeros = 0
        var leading = true
        for c in text {
            guard let digit = base58Digit(c) else { wipe(&value); return nil }
            if leading && digit == 0 { zeros += 1; continue }
            leading = false
            var carry = Int(digit)
            for j in 0..<value.count {
                carry += Int(value[j]) * 58
                value[j] = UInt8(carry & 0xff)
                carry >>= 8
            }
            while carry > 0 { value.append(UInt8(carry & 0xff)); carry >>= 8 }
        }
        let out = [UInt8](repeating: 0, count: zeros) + value.reversed()
        wipe(&value)
        return out
    }

    private static func base58Digit(_ c: UInt8) -> UInt8? {
        let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
        guard let index = alphabet.firstIndex(of: c) else { return nil }
        return UInt8(index)
    }
}
