import Billing
import Foundation
import SettleCore
import TestSupport
import Testing
import Transport

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP server under hostile connections, through the real `settled serve`: thousands of idle and trickling
/// (slowloris) connections must not keep Stripe's webhook out, and every phase of a request has a deadline.
///
/// The daemon runs under `prlimit --nofile=1024:1024`, a host with a small descriptor limit: an attacker's connections
/// then exhaust what the process may open unless the server caps and sheds them.
@Suite("settled serve: server limits (the binary)", .serialized)
struct ServerLimitsTests {
    static let webhookSecret = "whsec_limits_test"

    @Test("thousands of idle and trickling connections: a signed Stripe webhook from a fresh client is answered within 2 s")
    func webhookUnderConnectionFlood() async throws {
        let world = try LimitsWorld(serverKeys: "")
        defer { world.stop() }
        try await world.waitListening()

        // 3,000 idle connections (connected, never a byte), 500 trickling a request head one byte at a time.
        let idle = RawConnections(port: world.port, count: 3_000)
        let trickling = RawConnections(port: world.port, count: 500)
        defer { idle.closeAll(); trickling.closeAll() }
        let head = Array("POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
        for i in 0..<20 {  // ~2 s of trickling before and while the webhook is sent
            trickling.sendEach([head[min(i, head.count - 1)]])
            try await Task.sleep(for: .milliseconds(100))
            if i == 10 {
                let (status, seconds) = await world.timedWebhook(id: "evt_flood_1")
                #expect(status == 200, "the webhook was answered \(status)")
                #expect(seconds < 2, "the webhook took \(seconds) s")
            }
        }
        // And the daemon is still well: a second webhook, a health check.
        let (status, seconds) = await world.timedWebhook(id: "evt_flood_2")
        #expect(status == 200 && seconds < 2, "second webhook: \(status) after \(seconds) s")
        #expect(world.isRunning)
    }

    @Test("a trickled head, a trickled body and an idle connection are each closed at their deadline")
    func readDeadlines() async throws {
        let world = try LimitsWorld(serverKeys: """
            header_timeout_seconds = 2
            body_timeout_seconds = 3
            idle_timeout_seconds = 4
            """)
        defer { world.stop() }
        try await world.waitListening()

        // Measured on a thread of its own: the test process's cooperative pool (two threads here) can be held up by
        // other suites for long stretches, which would stretch any timing taken in async code.
        let port = world.port
        let closedAt: [String: Double] = await onThread {
            let idle = RawConnections(port: port, count: 1)
            let head = RawConnections(port: port, count: 1)
            let body = RawConnections(port: port, count: 1)
            defer { idle.closeAll(); head.closeAll(); body.closeAll() }
            usleep(200_000)
            body.sendEach(Array("POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".utf8))
            let started = ContinuousClock.now
            var closedAt: [String: Double] = [:]
            let probe = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
            var i = 0
            while ContinuousClock.now - started < .seconds(8), closedAt.count < 3 {
                head.sendEach([i < probe.count ? probe[i] : UInt8(ascii: "a")])
                body.sendEach([UInt8(ascii: "{")])
                i += 1
                usleep(100_000)
                let elapsed = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
                for (name, connections) in [("idle", idle), ("head", head), ("body", body)] where closedAt[name] == nil {
                    if connections.closedByPeer(0) { closedAt[name] = elapsed }
                }
            }
            return closedAt
        }
        // Each closed after its own deadline (not before; with a second of slack for the timer and the poll).
        let headClosed = try #require(closedAt["head"], "a head trickled for 8 s was never cut off")
        let bodyClosed = try #require(closedAt["body"], "a body trickled for 8 s was never cut off")
        let idleClosed = try #require(closedAt["idle"], "an idle connection stayed open 8 s")
        #expect(headClosed >= 1.5 && headClosed < 3.5, "head closed at \(headClosed) s")
        #expect(bodyClosed >= 2.5 && bodyClosed < 4.5, "body closed at \(bodyClosed) s")
        #expect(idleClosed >= 3.5 && idleClosed < 5.5, "idle closed at \(idleClosed) s")
        // A request sent promptly on a fresh connection is unaffected.
        let (status, _) = try await world.postSignedWebhook(id: "evt_deadlines")
        #expect(status == 200, "\(world.log())")
    }

    @Test("connection cap: the oldest idle connections are shed for new ones; the cap and the body limits are configurable")
    func connectionCapAndBodyLimits() async throws {
        let world = try LimitsWorld(serverKeys: """
            max_connections = 50
            max_body_bytes = 1024
            webhook_max_body_bytes = 4096
            """)
        defer { world.stop() }
        try await world.waitListening()
        let first = RawConnections(port: world.port, count: 50)
        defer { first.closeAll() }
        try await Task.sleep(for: .milliseconds(300))
        let second = RawConnections(port: world.port, count: 30)
        defer { second.closeAll() }
        try await Task.sleep(for: .milliseconds(500))
        // The 30 oldest of the first batch were closed to make room; the newest stay open.
        let shed = (0..<50).filter { first.closedByPeer($0) }.count
        let kept = (0..<30).filter { !second.closedByPeer($0) }.count
        #expect(shed >= 29 && shed <= 31, "shed \(shed) of the first 50")
        #expect(kept == 30, "kept \(kept) of the newest 30")

        // Bodies over the route's limit: 413, nothing stored.
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 5_000)
        let (webhookStatus, _) = try await world.postSignedWebhook(id: "evt_too_big", padding: big)
        #expect(webhookStatus == 413)
        let (small, _) = try await world.postSignedWebhook(id: "evt_small_enough")
        #expect(small == 200)
        let http = HTTPClient()
        defer { http.shutdown() }
        let agreement = try await http.execute(HTTPRequest(
            url: "http://127.0.0.1:\(world.port)/v1/agreements", method: .post,
            headers: [("Authorization", "Bearer \(world.adminToken)"), ("Content-Type", "application/json")],
            body: Array(#"{"customer": "cus_x", "pad": ""#.utf8) + big + Array(#""}"#.utf8)))
        #expect(agreement.status == 413)

        // A body far past every route's limit, sent to a route that reads none: the connection is cut, not drained.
        let endless = RawConnections(port: world.port, count: 1)
        defer { endless.closeAll() }
        try await Task.sleep(for: .milliseconds(100))
        endless.sendEach(Array("GET /v1/chains HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n".utf8))
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 16 << 10)
        var cut = false
        for _ in 0..<200 where !cut {  // up to 3.2 MB
            endless.sendEach(chunk)
            try await Task.sleep(for: .milliseconds(5))
            cut = endless.closedByPeer(0) || endless.sendFailed(0)
        }
        #expect(cut, "a 100 MB body to a GET route was read on and on")
    }
}

extension ServerLimitsTests {
    @Test("at the cap with every connection in a request, a new client gets 503 busy with Retry-After, then room again")
    func busyRefusal() async throws {
        let world = try LimitsWorld(serverKeys: "max_connections = 5\nbody_timeout_seconds = 600")
        defer { world.stop() }
        try await world.waitListening()
        try await Task.sleep(for: .milliseconds(200))  // the health check's connection is gone or idle
        let busy = RawConnections(port: world.port, count: 5)
        defer { busy.closeAll() }
        try await Task.sleep(for: .milliseconds(200))
        busy.sendEach(Array("POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{".utf8))
        try await Task.sleep(for: .milliseconds(300))
        let http = HTTPClient()
        defer { http.shutdown() }
        let refused = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(world.port)/healthz", timeout: .seconds(5)))
        #expect(refused.status == 503)
        #expect(refused.headers.contains { $0.name.lowercased() == "retry-after" && $0.value == "1" })
        #expect(String(decoding: refused.body, as: UTF8.self).contains("busy"))
        busy.closeAll()
        try await Task.sleep(for: .milliseconds(300))
        let again = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(world.port)/healthz", timeout: .seconds(5)))
        #expect(again.status != 503)
    }
}

/// A `settled serve` with no chains and no Stripe peer (only its webhook route and the API matter here), under a
/// 1,024-descriptor limit.
struct LimitsWorld {
    let port: Int
    let directory: URL
    let process: Process
    let adminToken = "token-limits-admin"

    init(serverKeys: String) throws {
        let settled = try SettledBinary.require()
        let port = try freePort()
        self.port = port
        let directory = try temporaryDirectory("settle-limits")
        self.directory = directory
        func secretFile(_ name: String, _ value: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try value.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            return "file:\(path)"
        }
        let config = directory.appendingPathComponent("settle.toml")
        try """
            database = "\(directory.appendingPathComponent("settle.sqlite").path)"
            chains_directory = "\(directory.path)"
            chains = []
            [stripe]
            api_key = "\(try secretFile("stripe.key", "sk_test_limits"))"
            webhook_secrets = ["\(try secretFile("webhook.secret", ServerLimitsTests.webhookSecret))"]
            base_url = "http://127.0.0.1:9"
            [server]
            listen = "127.0.0.1:\(port)"
            \(serverKeys)
            [[api.tokens]]
            name = "admin"
            token = "\(try secretFile("admin.token", "token-limits-admin"))"
            scope = "admin"
            [log]
            format = "json"
            """.write(to: config, atomically: true, encoding: .utf8)
        let log = directory.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        self.process = process
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=1024:1024", settled, "serve", "--config", config.path]
        process.environment = TestEnvironment.withoutSettleVariables()
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = handle
        try TestEnvironment.run(process)
    }

    var isRunning: Bool { process.isRunning }

    /// Waits (on a thread of its own, with a blocking client: the cooperative pool can be starved by other suites
    /// for over a minute) until the daemon answers `/healthz`.
    func waitListening() async throws {
        let port = port
        let process = process
        let ready: Bool = await onThread {
            let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
            let deadline = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < deadline, process.isRunning {
                if BlockingHTTP.statusLine(port: port, request: request, timeout: 5).status > 0 { return true }
                usleep(100_000)
            }
            return false
        }
        guard ready else { throw PeerError("settled did not answer /healthz within 180 s: \(log())") }
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("serve.log"), encoding: .utf8))?.suffix(4000).description ?? ""
    }

    static func signedEvent(id: String, padding: [UInt8] = []) -> (payload: [UInt8], signature: String) {
        let now = UInt64(Date().timeIntervalSince1970)
        let pad = padding.isEmpty ? "" : #", "padding": ""# + String(decoding: padding, as: UTF8.self) + #"""#
        let payload = Array(#"{"id": "\#(id)", "object": "event", "type": "invoice.created", "created": \#(now), "data": {"object": {"id": "in_\#(id)", "object": "invoice"}}\#(pad)}"#.utf8)
        return (payload, WebhookSignature.header(payload: payload, secret: ServerLimitsTests.webhookSecret, timestamp: now))
    }

    /// A signed event sent by a fresh client on a thread of its own (blocking socket), timed there from the connect
    /// to the status line: how long the server took, untouched by the test process's busy cooperative pool.
    func timedWebhook(id: String) async -> (status: Int, seconds: Double) {
        let (payload, signature) = Self.signedEvent(id: id)
        let request = Array("POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nStripe-Signature: \(signature)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n".utf8) + payload
        let port = port
        return await onThread { BlockingHTTP.statusLine(port: port, request: request, timeout: 10) }
    }

    /// A signed `invoice.created` event posted by a fresh client; the status and the seconds it took.
    func postSignedWebhook(id: String, padding: [UInt8] = []) async throws -> (status: Int, seconds: Double) {
        let (payload, signature) = Self.signedEvent(id: id, padding: padding)
        let http = HTTPClient()
        defer { http.shutdown() }
        let started = ContinuousClock.now
        let response = try await http.execute(HTTPRequest(
            url: "http://127.0.0.1:\(port)/webhooks/stripe", method: .post,
            headers: [("Content-Type", "application/json"), ("Stripe-Signature", signature)], body: payload,
            timeout: .seconds(10), connectTimeout: .seconds(10)))
        return (response.status, Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000)
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// One HTTP/1.1 request on a blocking socket: the status code and the seconds from connect to the status line
/// (0 and the time so far when the connection fails or the timeout passes).
enum BlockingHTTP {
    static func statusLine(port: Int, request: [UInt8], timeout: Int) -> (status: Int, seconds: Double) {
        let started = ContinuousClock.now
        func seconds() -> Double { Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000 }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return (0, 0) }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return (0, seconds()) }
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return (0, seconds()) }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while !received.contains(0x0a) {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return (0, seconds()) }
            received += buffer[0..<n]
        }
        let line = String(decoding: received.prefix { $0 != 0x0d && $0 != 0x0a }, as: UTF8.self)  // HTTP/1.1 200 OK
        let parts = line.split(separator: " ")
        return (parts.count >= 2 ? Int(parts[1]) ?? 0 : 0, seconds())
    }
}

/// Raw TCP connections to 127.0.0.1, opened without waiting (non-blocking connect), for floods and trickles.
final class RawConnections: @unchecked Sendable {
    // @unchecked Sendable: used from one test task at a time.
    private(set) var descriptors: [Int32] = []

    init(port: Int, count: Int) {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            descriptors.append(fd)
        }
    }

    /// Sends `bytes` on every connection (errors ignored: a closed or still-connecting socket just drops them).
    func sendEach(_ bytes: [UInt8]) {
        for fd in descriptors { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    }

    /// Whether the server closed connection `index` (end of stream or reset).
    func closedByPeer(_ index: Int) -> Bool {
        var descriptor = pollfd(fd: descriptors[index], events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        let n = recv(descriptors[index], &byte, 1, Int32(MSG_PEEK))
        if n == 0 { return true }
        if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        return false  // a response is waiting: open
    }

    /// Whether sending on connection `index` now fails (the peer reset it).
    func sendFailed(_ index: Int) -> Bool {
        var byte: UInt8 = 0x78
        return send(descriptors[index], &byte, 1, Int32(MSG_NOSIGNAL)) < 0 && errno != EAGAIN && errno != EWOULDBLOCK
    }

    func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors = []
    }
}
