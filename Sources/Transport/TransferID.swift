import Synchronization

/// Hands a transfer id from submission to a cancellation handler that may run first, on another thread.
final class TransferID: Sendable {
    private enum State { case pending, submitted(UInt64), cancelled }
    private let state = Mutex(State.pending)

    /// Records the id; returns true when cancellation already happened (the caller must cancel now).
    func set(_ id: UInt64) -> Bool {
        state.withLock { state in
            if case .cancelled = state { return true }
            state = .submitted(id)
            return false
        }
    }

    /// Marks cancelled; returns the id to cancel when submission already happened.
    func cancel() -> UInt64? {
        state.withLock { state in
            if case .submitted(let id) = state { return id }
            state = .cancelled
            return nil
        }
    }
}
