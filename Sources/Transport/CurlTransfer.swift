import CCurl

/// One request in flight inside `CurlEngine`: the easy handle, the buffers libcurl writes into, and the
/// continuation that receives the result.
///
/// `@unchecked Sendable` is safe: after `HTTPClient` hands a transfer to the engine (under the engine's lock),
/// only the engine thread touches its mutable state; the continuation is resumed exactly once, by that thread.
final class CurlTransfer: @unchecked Sendable {
    let id: UInt64
    let request: HTTPRequest
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var requestBody: [UInt8]
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var bodyTooLarge = false

    init(id: UInt64, request: HTTPRequest, continuation: CheckedContinuation<HTTPResponse, any Error>) {
        self.id = id
        self.request = request
        self.continuation = continuation
        self.requestBody = request.body
    }

    /// Resumes the waiting task once; later calls do nothing.
    func finish(_ result: Result<HTTPResponse, TransportError>) {
        guard let continuation else { return }
        self.continuation = nil
        switch result {
        case .success(let response): continuation.resume(returning: response)
        case .failure(let error): continuation.resume(throwing: error)
        }
    }

    /// Appends one header line; a new status line (after `100 Continue` or a redirect) starts over.
    func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        var bytes = line[...]
        while let last = bytes.last, last == 0x0d || last == 0x0a { bytes.removeLast() }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers.removeAll()
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        let name = String(text[..<colon])
        var value = text[text.index(after: colon)...]
        while let first = value.first, first == " " || first == "\t" { value.removeFirst() }
        headers.append((name, String(value)))
    }
}

// libcurl callbacks: plain C functions that find their transfer through the userdata pointer.

let curlWriteCallback: settle_curl_write_callback = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    let bytes = size * count
    if transfer.body.count + bytes > transfer.request.maximumResponseBytes {
        transfer.bodyTooLarge = true
        if transfer.request.truncatesLargeResponse {
            let room = max(0, transfer.request.maximumResponseBytes - transfer.body.count)
            transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: room))
        }
        return 0  // makes libcurl abort with CURLE_WRITE_ERROR
    }
    transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: bytes))
    return bytes
}

let curlHeaderCallback: settle_curl_write_callback = { pointer, size, count, userdata in
    guard let pointer, let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: pointer, count: size * count))
    return size * count
}
