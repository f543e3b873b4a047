import Foundation
import SettleCore

/// Real answers of the test peers, captured once (`FixtureCapture` in BillingTests) and committed under
/// `Tests/Fixtures/<family>/<name>.json`: the seeds of the decoder fuzz tests.
public enum Fixtures {
    /// `Tests/Fixtures`.
    public static var directory: URL { Peer.packageRoot.appendingPathComponent("Tests/Fixtures") }

    /// The bytes of one fixture, as they came over the wire.
    public static func bytes(_ family: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(family).appendingPathComponent(name + ".json")))
    }

    /// One fixture, parsed.
    public static func json(_ family: String, _ name: String) throws -> JSON {
        try JSON(parsing: try bytes(family, name))
    }

    /// Every fixture of `family` whose name starts with `prefix`, parsed, by name. A missing one is an error (a fuzz test
    /// with no seeds would prove little).
    public static func all(_ family: String, prefix: String = "") throws -> [String: JSON] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(family).path)
            .filter { $0.hasSuffix(".json") && $0.hasPrefix(prefix) }.map { String($0.dropLast(5)) }
        guard !names.isEmpty else { throw PeerError("no fixture \(family)/\(prefix)*.json: run FixtureCapture") }
        var out: [String: JSON] = [:]
        for name in names { out[name] = try json(family, name) }
        return out
    }
}
