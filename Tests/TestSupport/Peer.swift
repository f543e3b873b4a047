import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A test peer: a Python program from `Tests/Peers/` run with the project's `.venv`, listening on 127.0.0.1.
///
/// The program prints `PORT n` as its first line. It is stopped with SIGKILL and reaped (SIGTERM can leave a
/// Swift Testing run hanging, see PITFALLS), and it exits by itself if this process dies.
public final class Peer: @unchecked Sendable {
    // @unchecked Sendable: `process` is set in init and only read afterwards; SpawnedProcess guards its wait status.
    private let process: SpawnedProcess
    /// The port it listens on.
    public let port: Int
    /// Where its standard output and error go.
    public let log: String

    /// The package root (Tests/TestSupport/Peer.swift → ../../).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Starts `Tests/Peers/<script>` with `arguments` and waits (up to two minutes) for its port.
    ///
    /// Started with `posix_spawn` (`SpawnedProcess`), not Foundation's `Process`: with many descriptors open (a fresh-clone
    /// run had more than 1,300 when it happened) `Process.run()` crashed the test process in `memmove`, once while
    /// starting a peer; `SpawnedProcess` closes the child's descriptors with one `closefrom` action.
    public init(script: String, arguments: [String] = []) throws {
        let root = Self.packageRoot
        let python = root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw PeerError("no Python environment at \(python.path): run ./scripts/test.sh (or scripts/setup.sh)")
        }
        let log = try temporaryDirectory("settle-peer").appendingPathComponent("\(script).log").path
        let process = try SpawnedProcess(executable: python.path, arguments: ["-u", root.appendingPathComponent("Tests/Peers/\(script)").path] + arguments,
                                         environment: TestEnvironment.current(), log: log)
        self.process = process
        self.log = log
        // The line it prints first on standard output: "PORT n" (Python's warnings on standard error may come before).
        let deadline = Date().addingTimeInterval(120)
        var found: Int?
        var text = ""
        while found == nil {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // complete lines only
            if let line = lines.first(where: { $0.hasPrefix("PORT ") }) {
                guard let port = Int(line.dropFirst(5)) else { break }
                found = port
            } else if !process.isRunning || Date() > deadline {
                break
            } else {
                usleep(10_000)
            }
        }
        guard let found else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw PeerError("peer \(script) did not announce a port (its output: '\(text.suffix(2_000))')")
        }
        self.port = found
    }

    /// Starts a peer as `init` does, waiting for its port on a thread of its own: a Python peer takes seconds to
    /// start on a loaded machine, and waiting on one of the cooperative pool's two threads stalls every in-process
    /// server of the other suites meanwhile. Async code starts peers with this.
    public static func start(script: String, arguments: [String] = []) async throws -> Peer {
        try await onThread { try Peer(script: script, arguments: arguments) }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    public func url(_ path: String = "") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Kills and reaps the peer.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Runs `body` on a new thread of its own and returns its result (or its error). For anything that blocks — a peer's
/// start, a wait for a child process, a timing that must not stretch — in async test code: Swift's cooperative pool
/// has one thread per core (two here), and a blocked pool thread stalls every suite's in-process servers and sleeps.
public func onThread<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: Result(catching: body)) }
        thread.start()
    }
    return try result.get()
}

/// A peer that failed to start.
public struct PeerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
