import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `settled` binary built next to the tests (`swift build --build-tests` builds it), run as a user or an
/// operator would: to completion, or killed with SIGKILL at random moments to prove crash safety.
public enum SettledBinary {
    /// `.build/debug/settled`.
    public static var path: String { Peer.packageRoot.appendingPathComponent(".build/debug/settled").path }

    /// The path, or an error saying how to build it.
    public static func require() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw PeerError("\(path) is missing: build with `swift build --build-tests` first")
        }
        return path
    }

    /// Runs `settled arguments` to completion; exit status and combined output. Started with `posix_spawn`
    /// (`SpawnedProcess`, as the peers are: Foundation's `Process.run()` crashed with many descriptors open).
    public static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let log = try temporaryDirectory("settle-run").appendingPathComponent("output.log").path
        let process = try SpawnedProcess(executable: try require(), arguments: arguments, environment: TestEnvironment.current(), log: log)
        await process.exited()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        return (process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus, output)
    }

    /// What a kill loop did.
    public struct KillReport: Sendable {
        public var kills = 0
        public var runs = 0
        public var done = false
    }

    /// Runs `settled arguments` again and again. In the first `killingRuns` runs it is killed with SIGKILL after a
    /// random delay in `delay` milliseconds (when still running); after every run `afterEach` is told whether the
    /// run exited cleanly by itself and answers whether the work is done. With `log`, every run's output is
    /// appended to that file (for a failing test to show what the daemon said).
    public static func killRepeatedly(
        _ arguments: [String], killingRuns: Int, delay: ClosedRange<UInt64>, seed: UInt64, maxRuns: Int,
        log: URL? = nil, afterEach: (_ exitedCleanly: Bool) async throws -> Bool
    ) async throws -> KillReport {
        var rng = SeededGenerator(seed: seed)
        var report = KillReport()
        while report.runs < maxRuns {
            report.runs += 1
            let process = try SpawnedProcess(executable: try require(), arguments: arguments, environment: TestEnvironment.current(),
                                             log: log?.path ?? "/dev/null")
            if report.runs <= killingRuns {
                // Timed on a thread of its own: a sleep on the cooperative pool stretched past the whole run when other
                // suites held the pool's two threads (in CI a backfill meant to be killed 60 times was never killed).
                let milliseconds = delay.lowerBound + rng.next() % (delay.upperBound - delay.lowerBound + 1)
                let killed = await onThread { () -> Bool in
                    usleep(useconds_t(clamping: milliseconds * 1000))
                    guard process.isRunning else { return false }
                    kill(process.processIdentifier, SIGKILL)
                    return true
                }
                if killed { report.kills += 1 }
            }
            await process.exited()
            let clean = process.terminationReason == .exit && process.terminationStatus == 0
            if try await afterEach(clean) {
                report.done = true
                break
            }
        }
        return report
    }
}
