#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock that makes one process the owner of a database: the one that signs and sends. A second
/// `settled serve` (or `execute`) on the same database is refused at start instead of racing the first one. The
/// lock is `flock` on `<database>.lock`, held until the process exits (the kernel releases it on any exit, kill -9
/// included, so a crash never leaves a stale lock).
public final class DatabaseLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Int32

    /// Takes the lock for the database at `databasePath`, or throws `StoreError.locked` naming the holder's pid.
    public init(databasePath: String) throws(StoreError) {
        path = databasePath + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.cannotOpen, "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let holder = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self).trimmingNewlines : "another process"
            throw StoreError(.locked, "the database \(databasePath) is in use by process \(holder): one daemon owns a database (stop the other, or give this one its own database and signing key)")
        }
        descriptor = fd
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

private extension String {
    var trimmingNewlines: String { String(filter { $0 != "\n" }) }
}
