import API
import Foundation
import SettleCore
import TestSupport

extension APIFixture {
    /// What `Tests/Peers/openapi_check.py` says of the exchanges this fixture recorded, against docs/openapi.yaml: its
    /// exit status and output. With `coverage`, the server's route list must equal the document's operations and
    /// every operation must have had a 2xx; without, only the recorded exchanges are checked.
    func documentCheck(coverage: Bool) async throws -> (passed: Bool, output: String) {
        let routes: [JSON] = (SettleAPI.routes + [("POST", "/webhooks/stripe")]).map { ["method": .string($0.method), "path": .string($0.path)] }
        let document: JSON = ["routes": .array(routes), "exchanges": .array(exchanges.entries.withLock { $0 })]
        let file = try temporaryDirectory("settle-openapi").appendingPathComponent("exchanges.json")
        try Data(document.serialized).write(to: file)
        let root = Peer.packageRoot
        let arguments = [root.appendingPathComponent("Tests/Peers/openapi_check.py").path] + (coverage ? [] : ["--no-coverage"])
            + [root.appendingPathComponent("docs/openapi.yaml").path, file.path]
        // On a thread of its own: the checker runs for seconds, and a blocked cooperative thread (two here) stalls
        // every in-process server of the other suites.
        let result: Result<(passed: Bool, output: String), any Error> = await onThread {
            let process = Process()
            process.executableURL = root.appendingPathComponent(".venv/bin/python")
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            do { try TestEnvironment.run(process) } catch { return .failure(error) }
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return .success((process.terminationStatus == 0, text))
        }
        return try result.get()
    }
}
