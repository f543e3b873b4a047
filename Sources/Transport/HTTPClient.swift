/// An async HTTP client on libcurl: one engine thread drives every request through the multi interface, with
/// keep-alive connection reuse, HTTP/2 multiplexing where the server offers it, compressed responses
/// (gzip, br, zstd), per-request timeouts, and cancellation that follows the calling task.
///
/// Call `shutdown()` when done; requests in flight then fail with `.shutDown`.
public final class HTTPClient: Sendable {
    private let engine: CurlEngine

    /// - Parameter maximumConnectionsPerHost: cap on parallel connections to one host (HTTP/2 multiplexes beyond it).
    public init(maximumConnectionsPerHost: Int = 16) {
        engine = CurlEngine(maximumConnectionsPerHost: maximumConnectionsPerHost)
    }

    /// Performs `request` and returns the whole response, whatever its status.
    /// - Throws: `TransportError` for network failures, timeouts, oversized bodies, cancellation and shutdown.
    public func execute(_ request: HTTPRequest) async throws(TransportError) -> HTTPResponse {
        if Task.isCancelled { throw TransportError(.cancelled, "request cancelled") }
        let box = TransferID()
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    guard let id = engine.submit(request, continuation: continuation) else {
                        continuation.resume(throwing: TransportError(.shutDown, "HTTP client shut down"))
                        return
                    }
                    if box.set(id) { engine.cancel(id) }
                }
            } onCancel: {
                if let id = box.cancel() { engine.cancel(id) }
            }
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError(.other, "unexpected error: \(error)")
        }
    }

    /// Stops the engine thread. Pending requests fail with `.shutDown`.
    public func shutdown() {
        engine.shutdown()
    }
}
