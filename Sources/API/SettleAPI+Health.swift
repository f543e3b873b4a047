import Hummingbird
import Prometheus
import SettleCore
import Settlement

/// `/healthz` and `/metrics`.
extension SettleAPI {
    /// 200 `ok` when the database answers, every chain's poller succeeded recently and is within `maxHeadLag` of its
    /// head, no charge is `unknown` and no chain has signing stopped by an alert (`nonce_divergence`); 503 `degraded`
    /// otherwise (with the reason). No token needed: it shows positions and counts, not data.
    func healthz() async -> Response {
        var healthy = true
        var database: JSON = "ok"
        var unknown = 0
        var alerts: [JSON] = []
        do {
            unknown = try await ledger.chargeCount(in: .unknown)  // not `chargeCounts`: that reads every charge
            for alert in try await ledger.openAlerts() {
                alerts.append(["chain": .string(alert.chain), "kind": .string(alert.kind.rawValue), "signing": "stopped",
                               "raised_at": .number(String(alert.raisedAt)),
                               "fix": .string("settled nonce inspect --chain \(alert.chain), then settled nonce adopt --chain \(alert.chain)")])
            }
        } catch {
            // No token is needed here: the cause (paths, SQL) goes to the log only.
            healthy = false
            database = "unavailable"
            logger.error("healthz: the database does not answer", metadata: ["error": "\(error)"])
        }
        if unknown > 0 || !alerts.isEmpty { healthy = false }
        let current = now()
        var chains: [JSON] = []
        for (name, status) in health.snapshot() {
            var problem: String?
            if status.lastSuccess == nil {
                problem = status.lastError.map { "no successful pass yet: \($0)" } ?? "starting: no pass finished yet"
            } else if let lag = status.lag, lag > maxHeadLag {
                problem = "\(lag) behind the head (more than \(maxHeadLag))"
            } else if let error = status.lastError {
                problem = "last pass failed: \(error)"
            }
            if problem != nil { healthy = false }
            chains.append([
                "chain": .string(name), "family": .string(status.family), "status": problem == nil ? "ok" : "degraded",
                "head": status.head.map { .number(String($0)) } ?? .null, "indexed": status.indexed.map { .number(String($0)) } ?? .null,
                "lag": status.lag.map { .number(String($0)) } ?? .null,
                "seconds_since_success": status.lastSuccess.map { .number(String(current > $0 ? current - $0 : 0)) } ?? .null,
                "problem": problem.map { .string($0) } ?? .null,
            ])
        }
        return JSONBody.response(healthy ? .ok : .serviceUnavailable,
                                 ["status": healthy ? "ok" : "degraded", "database": database, "chains": .array(chains),
                                  "unknown_charges": .number(String(unknown)), "alerts": .array(alerts)])
    }

    /// Prometheus text format. Besides what the process records as it runs (RPC requests, errors and latency by
    /// method), the gauges read at scrape time: `settle_indexer_head_lag{chain}`, `settle_indexer_head{chain}`,
    /// `settle_indexer_indexed_block{chain}`, `settle_charges{state}` (`unknown` among them), `settle_outbox_backlog`
    /// and `settle_chain_alerts_open{chain,kind}` (1 while signing is stopped on the chain).
    func metricsText() async throws -> Response {
        for (name, status) in health.snapshot() {
            let labels = [("chain", name)]
            if let lag = status.lag { metrics.makeGauge(name: "settle_indexer_head_lag", labels: labels).set(Double(lag)) }
            if let head = status.head { metrics.makeGauge(name: "settle_indexer_head", labels: labels).set(Double(head)) }
            if let indexed = status.indexed { metrics.makeGauge(name: "settle_indexer_indexed_block", labels: labels).set(Double(indexed)) }
        }
        for (state, count) in try await ledger.chargeCounts() {
            metrics.makeGauge(name: "settle_charges", labels: [("state", state.rawValue)]).set(Double(count))
        }
        metrics.makeGauge(name: "settle_outbox_backlog").set(Double(try await outbox.backlog()))
        for (name, _) in health.snapshot() {
            let open = try await ledger.openAlerts(chain: name)
            for kind in [ChainAlert.Kind.nonceDivergence, .signatureDivergence] {
                metrics.makeGauge(name: "settle_chain_alerts_open", labels: [("chain", name), ("kind", kind.rawValue)])
                    .set(Double(open.filter { $0.kind == kind }.count))
            }
        }
        var text: [UInt8] = []
        metrics.emit(into: &text)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }
}
