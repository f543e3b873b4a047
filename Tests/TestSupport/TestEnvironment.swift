import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The test process's environment, changed and read under one lock. Tests run in parallel: a `setenv` on one thread
/// while `Process.run()` on another copies the environment for a child crashed the test process (a bad pointer in
/// Foundation's `Process.run`, seen under load). Every `setenv`/`unsetenv` and every child launch in the tests goes
/// through here.
public enum TestEnvironment {
    private static let lock = NSLock()

    public static func set(_ name: String, _ value: String) {
        lock.withLock { _ = setenv(name, value, 1) }
    }

    public static func unset(_ name: String) {
        lock.withLock { _ = unsetenv(name) }
    }

    /// The environment without the `SETTLE_` variables other tests may have set for their own daemons (the daemon's
    /// environment overrides win over its file): for a child that must see only its own configuration.
    public static func withoutSettleVariables() -> [String: String] {
        lock.withLock { ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SETTLE_") } }
    }

    /// This process's environment, copied under the lock.
    public static func current() -> [String: String] {
        lock.withLock { ProcessInfo.processInfo.environment }
    }

    /// `process.run()` with the environment held still. A child given no environment of its own gets a copy of
    /// this process's, taken here under the lock, so `run()` never walks `environ` itself.
    public static func run(_ process: Process) throws {
        try lock.withLock {
            if process.environment == nil { process.environment = ProcessInfo.processInfo.environment }
            try process.run()
        }
    }
}
