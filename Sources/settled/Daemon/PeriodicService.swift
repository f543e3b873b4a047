import Logging
import ServiceLifecycle
import Synchronization

/// Wakes a sleeping `PeriodicService` early (an operator's retry should not wait for the next tick).
final class Waker: Sendable {
    private let pending = Atomic<Bool>(false)

    func wake() { pending.store(true, ordering: .releasing) }

    /// Returns after `duration`, or sooner when woken (a wake while running is kept for the next wait).
    func wait(_ duration: Duration) async {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline && !Task.isCancelled {
            if pending.exchange(false, ordering: .acquiringAndReleasing) { return }
            try? await Task.sleep(for: min(.milliseconds(50), deadline - ContinuousClock.now))
        }
    }
}

/// One long-running part of `settled serve` as a ServiceLifecycle service: a pass every `interval`.
///
/// On graceful shutdown (SIGTERM, SIGINT) a service that `drains` lets the pass in flight finish — the settlement
/// executor, Stripe reports and merchant webhooks: a transfer being persisted, broadcast and recorded completes, so
/// nothing is half-written — then stops before the next one. A service that does not drain (the chain pollers) has
/// its pass cancelled at the next await, which is safe because each index commit is one SQLite transaction with
/// its cursor. A failing pass is logged and retried on the next tick; the service keeps running.
struct PeriodicService: Service, CustomStringConvertible {
    let name: String
    let interval: Duration
    let drains: Bool
    var waker: Waker?
    let logger: Logger
    let pass: @Sendable () async throws -> Void

    var description: String { name }

    func run() async throws {
        logger.debug("service started", metadata: ["service": "\(name)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if drains {
                    try await pass()
                } else {
                    try await cancelWhenGracefulShutdown(pass)
                }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled {
                    logger.debug("pass stopped by shutdown", metadata: ["service": "\(name)", "error": "\(error)"])
                } else {
                    logger.warning("pass failed; retried next tick", metadata: ["service": "\(name)", "error": "\(error)"])
                }
            }
            if Task.isShuttingDownGracefully { break }
            let waker = waker
            let interval = interval
            try? await cancelWhenGracefulShutdown {
                if let waker { await waker.wait(interval) } else { try await Task.sleep(for: interval) }
            }
        }
        logger.info("service stopped", metadata: ["service": "\(name)"])
    }
}
