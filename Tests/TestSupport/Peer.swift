import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A test peer: a Python program from `Tests/Peers/` run with the project's `.venv`, listening on 127.0.0.1.
///
/// The program prints `PORT n` as its first line. It is stopped with SIGKILL and reaped (SIGTERM can leave a
/// Swift Testing run hanging, see PITFALLS), and it exits by itself if this process dies.
public final class Peer: @unchecked Sendable {
    // @unchecked Sendable: `process` is set in init and only read afterwards; Process is thread-safe for
    // `processIdentifier` and `waitUntilExit`.
    private let process: Process
    /// The port it listens on.
    public let port: Int

    /// The package root (Tests/TestSupport/Peer.swift → ../../).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Starts `Tests/Peers/<script>` with `arguments` and waits for its port.
    public init(script: String, arguments: [String] = []) throws {
        let root = Self.packageRoot
        let python = root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw PeerError("no Python environment at \(python.path): run ./scripts/test.sh (or scripts/setup.sh)")
        }
        let process = Process()
        process.executableURL = python
        process.arguments = ["-u", root.appendingPathComponent("Tests/Peers/\(script)").path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try TestEnvironment.run(process)
        self.process = process
        // Read the first line: "PORT n".
        var line = [UInt8]()
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.readData(ofLength: 1)
            if chunk.isEmpty { break }
            if chunk[0] == 0x0a { break }
            line.append(chunk[0])
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw PeerError("peer \(script) did not announce a port (got '\(text)')")
        }
        self.port = port
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

/// A peer that failed to start.
public struct PeerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
