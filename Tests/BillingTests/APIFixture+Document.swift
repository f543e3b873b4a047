import API
import Foundation
import SettleCore
import TestSupport

extension APIFixture {
    /// What `Tests/Peers/openapi_check.py` says of the exchanges this fixture recorded, against docs/openapi.yaml: its
    /// exit status and output. With `coverage`, the server's route list must equal the document's operations and
    /// every operation must have had a 2xx; without, only the recorded exchanges are checked.
    func documentCheck(coverage: Bool) throws -> (passed: Bool, output: String) {
        let routes: [JSON] = (SettleAPI.routes + [("POST", "/webhooks/stripe")]).map { ["method": .string($0.method), "path": .string($0.path)] }
        let document: JSON = ["routes": .array(routes), "exchanges": .array(exchanges.entries.withLock { $0 })]
        let file = try temporaryDirectory("settle-openapi").appendingPathComponent("exchanges.json")
        try Data(document.serialized).write(to: file)
        let root = Peer.packageRoot
        let process = Process()
        process.executableURL = root.appendingPathComponent(".venv/bin/python")
        process.arguments = [root.appendingPathComponent("Tests/Peers/openapi_check.py").path] + (coverage ? [] : ["--no-coverage"])
            + [root.appendingPathComponent("docs/openapi.yaml").path, file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try TestEnvironment.run(process)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, text)
    }
}
