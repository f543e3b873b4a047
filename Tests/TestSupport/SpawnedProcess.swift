import Foundation

#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A child started with `posix_spawn` and reaped with `waitpid`, for the daemons tests kill and start again many times.
/// Foundation's `Process` crashed the test process twice in full runs (a bad pointer in `memmove` inside
/// `Process.run()`, both times while other children were ending): its launches and its watcher of ending children
/// share state. This bypasses both. The child gets exactly `environment`, standard input from /dev/null, standard
/// output and error appended to `log`, and none of the test process's other descriptors.
public final class SpawnedProcess: @unchecked Sendable {
    // @unchecked Sendable: the wait status is guarded by `lock`; the rest is set in init.
    public let processIdentifier: Int32
    private let lock = NSLock()
    private var waitStatus: Int32?

    public init(executable: String, arguments: [String], environment: [String: String], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = addCloseFrom(&actions, 3)
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let entries: [String] = environment.map { "\($0.key)=\($0.value)" }
        var envp: [UnsafeMutablePointer<CChar>?] = entries.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, &argv, &envp)
        guard result == 0 else { throw PeerError("posix_spawn \(executable): \(String(cString: strerror(result)))") }
        processIdentifier = pid
    }

    /// Reaps the child if it ended (never blocks).
    private func poll() -> Int32? {
        lock.withLock {
            if let waitStatus { return waitStatus }
            var status: Int32 = 0
            if waitpid(processIdentifier, &status, WNOHANG) == processIdentifier { waitStatus = status }
            return waitStatus
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// `.exit` or `.uncaughtSignal`, as Foundation's `Process` says it (valid once the child ended).
    public var terminationReason: Process.TerminationReason {
        guard let status = poll() else { return .exit }
        return status & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// The exit status, or the signal that ended it.
    public var terminationStatus: Int32 {
        guard let status = poll() else { return 0 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Polls until the child ended, blocking the calling thread: only right after SIGKILL (the end is immediate) or
    /// off Swift's cooperative pool. Async code awaits `exited()`.
    public func waitUntilExit() {
        while isRunning { usleep(5_000) }
    }

    /// Polls until the child ended without holding a thread: the test process's cooperative pool has two threads
    /// here, and a test blocking one for a child's whole run starves every in-process server of the other suites.
    public func exited() async {
        while isRunning { try? await Task.sleep(for: .milliseconds(5)) }
    }
}
