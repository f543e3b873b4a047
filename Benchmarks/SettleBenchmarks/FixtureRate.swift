import Foundation
import SettleCore
import Transport

/// `settle-bench fixture-rate`: how fast the fixture server alone serves `eth_getLogs` (bodies fetched, not
/// decoded), so the backfill figures can be shown not to be the server's limit.
enum FixtureRate {
    static func run(arguments: [String]) async throws {
        guard arguments.count >= 2, arguments[0] == "--url" else {
            throw BenchError("usage: settle-bench fixture-rate --url URL [--range 100] [--parallel 2]")
        }
        let url = arguments[1]
        var range = 100
        var parallel = 2
        if let i = arguments.firstIndex(of: "--range"), i + 1 < arguments.count { range = Int(arguments[i + 1]) ?? range }
        if let i = arguments.firstIndex(of: "--parallel"), i + 1 < arguments.count { parallel = Int(arguments[i + 1]) ?? parallel }
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url, label: "fixture")], http: http, timeout: .seconds(120))
        let summary = try await rpc.call("fixture_summary")
        let blocks = Int(summary["blocks"]?.int64Value ?? 0)
        let logs = Int(summary["logs"]?.int64Value ?? 0)
        let started = ContinuousClock.now
        let step = range
        let bytes = try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            var total = 0
            for _ in 0..<parallel where next < blocks {
                let from = next
                next += step
                group.addTask { try await fetch(rpc, from: from, to: min(blocks, from + step) - 1) }
            }
            while let size = try await group.next() {
                total += size
                if next < blocks {
                    let from = next
                    next += step
                    group.addTask { try await fetch(rpc, from: from, to: min(blocks, from + step) - 1) }
                }
            }
            return total
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "fixture server alone (%d-block eth_getLogs, %d in flight, bodies not decoded): %.0f logs/s, %.0f MB/s",
                     range, parallel, Double(logs) / seconds, Double(bytes) / seconds / 1e6))
    }

    static func fetch(_ rpc: JSONRPCClient, from: Int, to: Int) async throws -> Int {
        try await rpc.call("eth_getLogs", [.object([("fromBlock", .string("0x" + String(from, radix: 16))),
                                                     ("toBlock", .string("0x" + String(to, radix: 16)))])]) { (body, _) throws(RPCError) in
            body.count
        }
    }
}
