import Synchronization

/// Where each chain's poller stands, written by the pollers after every pass and read by `/healthz` and
/// `/metrics`. Thread-safe.
public final class HealthRegistry: Sendable {
    /// One chain's last known position.
    public struct ChainStatus: Sendable, Equatable {
        public var family: String
        /// The node's head (block or slot) at the last pass.
        public var head: UInt64?
        /// The last block (or slot) the index covers.
        public var indexed: UInt64?
        /// Unix time of the last pass that succeeded.
        public var lastSuccess: UInt64?
        /// The last pass's error, cleared by a success. Never holds URLs or secrets (RPC errors name endpoints by label).
        public var lastError: String?

        /// Blocks (or slots) the index is behind the head.
        public var lag: UInt64? {
            guard let head, let indexed else { return nil }
            return head > indexed ? head - indexed : 0
        }
    }

    private let chains: Mutex<[String: ChainStatus]>

    /// - Parameter chains: every chain that will report, with its family (they start unknown).
    public init(chains: [(name: String, family: String)]) {
        self.chains = Mutex(Dictionary(chains.map { ($0.name, ChainStatus(family: $0.family)) }, uniquingKeysWith: { first, _ in first }))
    }

    /// Records a pass that succeeded.
    public func succeeded(_ chain: String, head: UInt64, indexed: UInt64, now: UInt64) {
        chains.withLock { chains in
            var status = chains[chain] ?? ChainStatus(family: "?")
            status.head = head
            status.indexed = indexed
            status.lastSuccess = now
            status.lastError = nil
            chains[chain] = status
        }
    }

    /// Records a pass that failed (the position stays what it was).
    public func failed(_ chain: String, error: String) {
        chains.withLock { chains in
            var status = chains[chain] ?? ChainStatus(family: "?")
            status.lastError = error
            chains[chain] = status
        }
    }

    /// Every chain's status, by name.
    public func snapshot() -> [(name: String, status: ChainStatus)] {
        chains.withLock { chains in chains.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }
}
