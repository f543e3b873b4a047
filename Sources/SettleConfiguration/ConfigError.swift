/// A configuration problem, naming the file, the key and what is wrong, so it can be fixed without guessing.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file the problem is in.
    public var file: String
    /// The key path, e.g. `tokens[1].address`; empty for whole-file problems.
    public var key: String
    /// What is wrong and, where it helps, what to do.
    public var problem: String

    public init(file: String, key: String, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        key.isEmpty ? "\(file): \(problem)" : "\(file): \(key): \(problem)"
    }
}
