import CCurl
import Foundation
import Synchronization

/// Drives every transfer of one `HTTPClient` on a single thread through libcurl's multi interface: many requests
/// in flight without a thread per request, connections (and HTTP/2 streams) reused across requests.
///
/// `@unchecked Sendable` is safe: the multi handle and the easy handles are used only on the engine thread, with
/// one exception, `curl_multi_wakeup`, which libcurl documents as callable from any thread. Everything other
/// threads hand over goes through `shared`, a `Mutex`; other threads call `curl_multi_wakeup` only while holding
/// it and only while `running` is true, and the engine thread frees the multi handle only after it has read
/// `running == false` under the same lock, so a wakeup never touches a freed handle.
final class CurlEngine: @unchecked Sendable {
    private struct Shared {
        var submitted: [CurlTransfer] = []
        var cancelled: [UInt64] = []
        var running = true
        var nextID: UInt64 = 0
    }

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let shared = Mutex(Shared())
    private let multi: UnsafeMutableRawPointer
    private let finished = DispatchSemaphore(value: 0)

    init(maximumConnectionsPerHost: Int) {
        precondition(Self.globalInit, "curl_global_init failed")
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed") }
        self.multi = multi
        _ = settle_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, 2 /* CURLPIPE_MULTIPLEX */)
        _ = settle_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maximumConnectionsPerHost)
        let thread = Thread { [self] in
            self.loop()
            self.finished.signal()
        }
        thread.name = "settle-curl"
        thread.start()
    }

    /// Queues `request`; the result arrives through `continuation`. Returns the transfer id (for cancellation),
    /// or nil after shutdown.
    func submit(_ request: HTTPRequest, continuation: CheckedContinuation<HTTPResponse, any Error>) -> UInt64? {
        shared.withLock { state in
            guard state.running else { return nil }
            state.nextID += 1
            state.submitted.append(CurlTransfer(id: state.nextID, request: request, continuation: continuation))
            // Under the lock: the engine frees the multi handle only after it has seen `running == false`.
            curl_multi_wakeup(multi)
            return state.nextID
        }
    }

    /// Cancels a transfer; its waiter gets `.cancelled`.
    func cancel(_ id: UInt64) {
        shared.withLock { state in
            guard state.running else { return }
            state.cancelled.append(id)
            curl_multi_wakeup(multi)
        }
    }

    /// Fails every pending transfer with `.shutDown` and stops the thread; waits until it has.
    func shutdown() {
        let wasRunning = shared.withLock { state in
            defer { state.running = false }
            if state.running { curl_multi_wakeup(multi) }
            return state.running
        }
        guard wasRunning else { return }
        finished.wait()
    }

    // MARK: - Engine thread

    private func loop() {
        var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
        var idle: [UnsafeMutableRawPointer] = []
        while true {
            let (submitted, cancelled, running) = shared.withLock { state in
                defer {
                    state.submitted.removeAll()
                    state.cancelled.removeAll()
                }
                return (state.submitted, state.cancelled, state.running)
            }
            for transfer in submitted {
                let easy = idle.popLast() ?? curl_easy_init()
                guard let easy else {
                    transfer.finish(.failure(TransportError(.other, "curl_easy_init failed")))
                    continue
                }
                if let error = configure(easy, for: transfer) {
                    release(easy, transfer: transfer, idle: &idle)
                    transfer.finish(.failure(error))
                    continue
                }
                active[easy] = transfer
                curl_multi_add_handle(multi, easy)
            }
            for id in cancelled {
                guard let (easy, transfer) = active.first(where: { $0.value.id == id }) else { continue }
                active[easy] = nil
                curl_multi_remove_handle(multi, easy)
                release(easy, transfer: transfer, idle: &idle)
                transfer.finish(.failure(TransportError(.cancelled, "request cancelled")))
            }
            if !running {
                for (easy, transfer) in active {
                    curl_multi_remove_handle(multi, easy)
                    release(easy, transfer: transfer, idle: &idle)
                    transfer.finish(.failure(TransportError(.shutDown, "HTTP client shut down")))
                }
                for easy in idle { curl_easy_cleanup(easy) }
                curl_multi_cleanup(multi)
                return
            }

            var stillRunning: Int32 = 0
            curl_multi_perform(multi, &stillRunning)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = active.removeValue(forKey: easy)
                else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, easy)
                let result = outcome(of: easy, code: code, transfer: transfer)
                release(easy, transfer: transfer, idle: &idle)
                transfer.finish(result)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: CurlTransfer) -> TransportError? {
        let request = transfer.request
        guard request.url.hasPrefix("http://") || request.url.hasPrefix("https://") else {
            return TransportError(.invalidRequest, "URL scheme must be http or https")
        }
        var ok = settle_curl_easy_setopt_string(easy, CURLOPT_URL, request.url) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        ok = ok && settle_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK
        ok = ok && settle_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, milliseconds(request.timeout)) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout)) == CURLE_OK
        let userdata = Unmanaged.passUnretained(transfer).toOpaque()
        ok = ok && settle_curl_easy_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, userdata) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback) == CURLE_OK
        ok = ok && settle_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, userdata) == CURLE_OK
        switch request.method {
        case .get:
            ok = ok && settle_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1) == CURLE_OK
        case .post, .put, .delete:
            if request.method != .post {
                ok = ok && settle_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.rawValue) == CURLE_OK
            }
            ok = ok && settle_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(transfer.requestBody.count)) == CURLE_OK
            // COPYPOSTFIELDS: libcurl keeps its own copy, so the Swift array's storage need not stay pinned.
            ok = ok && transfer.requestBody.withUnsafeMutableBytes { raw in
                settle_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, raw.baseAddress ?? UnsafeMutableRawPointer(mutating: ""))
            } == CURLE_OK
        }
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for (name, value) in request.headers {
            guard !name.utf8.contains(where: { $0 == UInt8(ascii: ":") || $0 < 0x20 }),
                  !value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 })
            else {
                curl_slist_free_all(list)
                return TransportError(.invalidRequest, "header \(name) has characters not allowed in a header")
            }
            list = curl_slist_append(list, "\(name): \(value)")
        }
        transfer.headerList = list
        ok = ok && settle_curl_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list)) == CURLE_OK
        return ok ? nil : TransportError(.invalidRequest, "libcurl refused an option for this request")
    }

    private func outcome(of easy: UnsafeMutableRawPointer, code: CURLcode, transfer: CurlTransfer) -> Result<HTTPResponse, TransportError> {
        switch code {
        case CURLE_OK:
            var status = 0
            _ = settle_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: transfer.headers, body: transfer.body))
        case CURLE_WRITE_ERROR where transfer.bodyTooLarge && transfer.request.truncatesLargeResponse:
            var status = 0
            _ = settle_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var response = HTTPResponse(status: status, headers: transfer.headers, body: transfer.body)
            response.truncated = true
            return .success(response)
        case CURLE_WRITE_ERROR where transfer.bodyTooLarge:
            return .failure(TransportError(
                .responseTooLarge, "response body exceeds \(transfer.request.maximumResponseBytes) bytes"))
        case CURLE_OPERATION_TIMEDOUT:
            return .failure(TransportError(.timedOut, "no complete response within \(transfer.request.timeout)"))
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SSL_CONNECT_ERROR:
            return .failure(TransportError(.connectFailed, describe(code)))
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
             CURLE_BAD_CONTENT_ENCODING:
            return .failure(TransportError(.connectionLost, describe(code)))
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .failure(TransportError(.invalidRequest, describe(code)))
        default:
            return .failure(TransportError(.other, describe(code)))
        }
    }

    private func release(_ easy: UnsafeMutableRawPointer, transfer: CurlTransfer, idle: inout [UnsafeMutableRawPointer]) {
        if let list = transfer.headerList {
            curl_slist_free_all(list)
            transfer.headerList = nil
        }
        curl_easy_reset(easy)
        if idle.count < 64 { idle.append(easy) } else { curl_easy_cleanup(easy) }
    }

    private func describe(_ code: CURLcode) -> String {
        // curl_easy_strerror names the failure class only; it never includes the URL.
        String(cString: curl_easy_strerror(code))
    }

    private func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
