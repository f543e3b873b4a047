import SettleCore
import Synchronization
import TestSupport
import Testing
import Transport

@Suite("JSON-RPC client: batches, errors, retries, failover")
struct JSONRPCClientTests {
    let http = HTTPClient()
    /// Records requested delays instead of sleeping.
    final class Sleeps: Sendable {
        let delays = Mutex<[Duration]>([])
        var sleeper: JSONRPCClient.Sleeper { { d in self.delays.withLock { $0.append(d) } } }
    }

    func client(_ urls: [String], attempts: Int = 6, sleeps: Sleeps = Sleeps()) -> JSONRPCClient {
        JSONRPCClient(
            endpoints: urls.enumerated().map { RPCEndpoint(url: $1, label: "test#\($0)") }, http: http,
            retry: RetryPolicy(maximumAttempts: attempts), timeout: .seconds(5), sleep: sleeps.sleeper)
    }

    @Test("a call returns its result; a server error is typed with code, message and data")
    func call() async throws {
        let server = try await httpFixture.value
        let rpc = client([server.url("/rpc")])
        #expect(try await rpc.call("echo", ["a", 1]) == ["a", 1])
        let error = await #expect(throws: RPCError.self) { try await rpc.call("error") }
        #expect(error == .server(code: -32000, message: "boom", data: ["why": "asked"]))
    }

    @Test("a batch returns results in call order, errors per call")
    func batch() async throws {
        let server = try await httpFixture.value
        let rpc = client([server.url("/rpc")])
        let results = try await rpc.batch([
            .init("add", ["0x1", "0x2"]), .init("error", []), .init("echo", ["x"]), .init("nope", []),
        ])
        #expect(try results[0].get() == "0x3")
        #expect(throws: RPCError.self) { try results[1].get() }
        #expect(try results[2].get() == ["x"])
        #expect(throws: RPCError.self) { try results[3].get() }
    }

    @Test("503 then healthy: retried with backoff on the same single endpoint")
    func retries() async throws {
        let server = try await httpFixture.value
        let sleeps = Sleeps()
        let key = "r\(UInt32.random(in: 0...UInt32.max))"
        let rpc = client([server.url("/rpc/flaky/\(key)/3")], sleeps: sleeps)
        #expect(try await rpc.call("echo", [1]) == [1])
        #expect(sleeps.delays.withLock { $0.count } == 3)
    }

    @Test("a dead endpoint fails over to the next and stays there")
    func failover() async throws {
        let server = try await httpFixture.value
        let key = "f\(UInt32.random(in: 0...UInt32.max))"
        let rpc = client(["http://127.0.0.1:1/dead", server.url("/rpc/count/\(key)")])
        #expect(try await rpc.call("echo", [1]) == [1])
        #expect(rpc.currentEndpoint == "test#1")
        #expect(try await rpc.call("echo", [2]) == [2])
        let count = try await http.execute(HTTPRequest(url: server.url("/count/\(key)")))
        #expect(String(decoding: count.body, as: UTF8.self) == "2")
    }

    @Test("invalid JSON and exhausted retries are typed errors")
    func malformed() async throws {
        let server = try await httpFixture.value
        let garbage = client([server.url("/rpc/garbage")], attempts: 2)
        let error = await #expect(throws: RPCError.self) { try await garbage.call("echo") }
        if case .malformedResponse = error {} else { Issue.record("expected malformedResponse, got \(String(describing: error))") }
        let key = "x\(UInt32.random(in: 0...UInt32.max))"
        let failing = client([server.url("/rpc/flaky/\(key)/100")], attempts: 3)
        let transport = await #expect(throws: RPCError.self) { try await failing.call("echo") }
        #expect(transport == .transport(TransportError(.httpStatus, "test#0 answered HTTP 503", status: 503)))
    }

    @Test("a hostile Retry-After (1e20, inf, nan, -1) from a real endpoint is capped or ignored, never a trap",
          arguments: ["1e20", "inf", "nan", "-1", "99999999999999999999999"])
    func hostileRetryAfter(_ header: String) async throws {
        let server = try await httpFixture.value
        let proxy = try await Peer.start(script: "fault_proxy.py", arguments: ["--upstream", server.url("/rpc")])
        _ = try await http.execute(HTTPRequest(url: proxy.url("/_fault"), method: .post,
                                               body: Array(#"{"mode": "status", "status": 429, "retry_after": "\#(header)", "count": 1}"#.utf8)))
        let sleeps = Sleeps()
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: proxy.url("/"), label: "proxy")], http: http,
                                retry: RetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(100), maximumDelay: .seconds(2)),
                                timeout: .seconds(5), sleep: sleeps.sleeper)
        #expect(try await rpc.call("echo", [7]) == [7])
        let waited = sleeps.delays.withLock { $0 }
        #expect(waited.count == 1 && waited[0] <= .seconds(2), "\(waited)")
    }

    @Test("a node answering an endless body: responseTooLarge at the client's limit (64 MiB by default)")
    func endlessNode() async throws {
        let server = try await httpFixture.value
        let client = JSONRPCClient(endpoints: [RPCEndpoint(url: server.url("/endless"), label: "endless")], http: HTTPClient(),
                                   retry: RetryPolicy(maximumAttempts: 1), maximumResponseBytes: 2 << 20)
        let error = await #expect(throws: RPCError.self) { _ = try await client.call("eth_blockNumber") }
        guard case .transport(let transport) = error else { Issue.record("not a transport error: \(String(describing: error))"); return }
        #expect(transport.code == .responseTooLarge)
        #expect(transport.message.contains("exceeds \(2 << 20) bytes"))
        #expect(JSONRPCClient.defaultMaximumResponseBytes == 64 << 20)
    }

    @Test("Retry-After is honoured, capped; full jitter stays within the ceiling")
    func retryPolicy() {
        let policy = RetryPolicy(maximumAttempts: 5, baseDelay: .milliseconds(100), maximumDelay: .seconds(2))
        #expect(policy.delay(beforeAttempt: 1, retryAfter: nil, random: 1) == .zero)
        #expect(policy.delay(beforeAttempt: 2, retryAfter: 1.5, random: 0) == .milliseconds(1500))
        #expect(policy.delay(beforeAttempt: 2, retryAfter: 60, random: 0) == .seconds(2))
        #expect(policy.delay(beforeAttempt: 4, retryAfter: nil, random: 1) == .milliseconds(400))
        #expect(policy.delay(beforeAttempt: 30, retryAfter: nil, random: 1) == .seconds(2))
        #expect(policy.delay(beforeAttempt: 3, retryAfter: nil, random: 0.5) == .milliseconds(100))
    }
}
