#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Signing

/// Secrets given as `env:` references leave the process environment once the daemon has read them: nothing in
/// `/proc/PID/environ`, nothing inherited by a child process. Called by `serve` and `execute` after every key,
/// token and URL is loaded (nothing reads them again).
public enum SecretEnvironment {
    /// The variables `config` and the chain files name in `env:` references, and the `SETTLE_*` secret overrides.
    public static func names(_ config: DaemonConfig, chains: [AnyChainConfig]) -> Set<String> {
        var names: Set<String> = ["SETTLE_STRIPE_API_KEY", "SETTLE_STRIPE_WEBHOOK_SECRET", "SETTLE_MERCHANT_WEBHOOK_SECRET",
                                  "SETTLE_API_TOKEN_READ", "SETTLE_API_TOKEN_ADMIN"]
        var references: [KeyReference] = config.stripe.webhookSecrets + config.apiTokens.map(\.token)
        if let key = config.stripe.apiKey { references.append(key) }
        if let secret = config.merchant.webhookSecret { references.append(secret) }
        for reference in references { if case .environment(let name) = reference { names.insert(name) } }
        for chain in chains {
            switch chain {
            case .evm(let c): names.formUnion(c.secretEnvironment)
            case .solana(let c): names.formUnion(c.secretEnvironment)
            }
        }
        return names
    }

    /// Removes the variables (at start-up, before any thread that could read the environment concurrently). Linux
    /// shows a process's environment as it was at exec (`/proc/PID/environ` reads that memory), so the
    /// `NAME=value` bytes are also overwritten in place; `unsetenv` alone would leave them there.
    public static func scrub(_ names: Set<String>) {
        for name in names.sorted() {
            guard let value = getenv(name) else { continue }
            let valueLength = strlen(value)
            let nameLength = name.utf8.count
            // getenv points past "NAME=" in the same string; check before touching it.
            let entry = value - (nameLength + 1)
            let prefixMatches = name.withCString { memcmp(entry, $0, nameLength) == 0 } && entry[nameLength] == CChar(UInt8(ascii: "="))
            unsetenv(name)  // out of `environ` first (glibc never frees these strings), then the bytes themselves
            if prefixMatches { memset(entry, 0, nameLength + 1 + valueLength) } else { memset(value, 0, valueLength) }
        }
    }
}
