/// How a write connection commits (SQLite's `synchronous` with WAL).
public enum Durability: String, Sendable, Hashable {
    /// Every commit is on disk before it returns (fsync of the WAL at each commit): survives power loss.
    case full = "FULL"
    /// Commits may be lost on power loss (never corrupted): the last transactions before the loss can roll back.
    case normal = "NORMAL"
}
