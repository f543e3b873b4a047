#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Named places on the money path where a test makes the process kill itself (`SIGKILL`, as a power cut or an OOM
/// kill would), to prove that a restart from any of them charges nothing twice and loses nothing.
///
/// Armed only by the environment, read once: `SETTLE_CRASH_AT=after_send` (one point, or several separated by
/// commas) kills the process the first time it reaches that point; `SETTLE_CRASH_SKIP=N` lets N passes through
/// first. Before dying it writes one line to standard error, `settled: crash point after_send`, so a test can count
/// kills per point. Unset (always, in production), `reach` costs one atomic load.
public enum CrashPoint: String, Sendable, CaseIterable {
    /// The signed attempt is committed; nothing was sent.
    case afterPersist = "after_persist"
    /// A node accepted the bytes; the ledger does not know yet.
    case afterSend = "after_send"
    /// The ledger recorded the acceptance.
    case afterMarkSent = "after_mark_sent"
    /// The ledger recorded what the chain showed (included, settled, dead, reverted, reorged).
    case afterRecord = "after_record"
    /// Stripe shows the invoice paid; the ledger still says `settled`.
    case afterReport = "after_report"

    private static let armed: (points: Set<CrashPoint>, skip: Int)? = {
        guard let raw = getenv("SETTLE_CRASH_AT").map({ String(cString: $0) }), !raw.isEmpty else { return nil }
        let points = Set(raw.split(separator: ",").compactMap { CrashPoint(rawValue: $0.trimmingCharacters()) })
        let skip = getenv("SETTLE_CRASH_SKIP").flatMap { Int(String(cString: $0)) } ?? 0
        return points.isEmpty ? nil : (points, max(0, skip))
    }()
    private static let hits = Atomic<Int>(0)

    /// Kills the process here when the environment armed this point (see the type's documentation).
    public static func reach(_ point: CrashPoint) {
        guard let armed, armed.points.contains(point) else { return }
        let seen = hits.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue
        guard seen >= armed.skip else { return }
        let line = Array("settled: crash point \(point.rawValue)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        kill(getpid(), SIGKILL)
    }
}

private extension Substring {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
