/// A lease on one piece of work that only one daemon may do at a time ("index base", "settle solana"): who holds it,
/// until when, and its epoch. The epoch grows every time the lease changes hands (or is taken again after it
/// lapsed), so it is a fencing token: every write that moves money or the index checks, in its own transaction, that
/// its lease's epoch is still the stored one (`LeaseStore.fence`). A daemon paused past its lease (a long GC, a
/// stopped VM) wakes with a stale epoch and cannot sign or commit.
public struct Lease: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var holder: String
    public var epoch: Int64
    /// Milliseconds since the Unix epoch.
    public var expiresAt: UInt64

    public init(name: String, holder: String, epoch: Int64, expiresAt: UInt64) {
        self.name = name
        self.holder = holder
        self.epoch = epoch
        self.expiresAt = expiresAt
    }

    public var description: String { "\(name)#\(epoch) held by \(holder) until \(expiresAt)" }
}

/// The lease decisions, without I/O: the stores read the row under a lock, ask here, and write what comes back.
public enum LeaseRule {
    /// `holder` asks for `name` at `now` for `ttl` ms. The stored lease afterwards, or nil when another holder's
    /// lease is still running. The holder's own running lease is extended (same epoch); a lapsed or absent one is
    /// taken with the next epoch.
    public static func acquire(current: Lease?, name: String, holder: String, now: UInt64, ttl: UInt64) -> Lease? {
        let expires = adding(now, ttl)
        guard let current else { return Lease(name: name, holder: holder, epoch: 1, expiresAt: expires) }
        if current.expiresAt > now {
            guard current.holder == holder else { return nil }
            return Lease(name: name, holder: holder, epoch: current.epoch, expiresAt: max(current.expiresAt, expires))
        }
        let (next, overflow) = current.epoch.addingReportingOverflow(1)
        guard !overflow else { return nil }  // 2^63 hand-overs: unreachable, refused rather than wrapped
        return Lease(name: name, holder: holder, epoch: next, expiresAt: expires)
    }

    /// The holder of `lease` extends it: only while it is still the stored lease and has not lapsed.
    public static func renew(current: Lease?, lease: Lease, now: UInt64, ttl: UInt64) -> Lease? {
        guard let current, current.holder == lease.holder, current.epoch == lease.epoch, current.expiresAt > now else { return nil }
        return Lease(name: current.name, holder: current.holder, epoch: current.epoch, expiresAt: max(current.expiresAt, adding(now, ttl)))
    }

    /// Whether a write under `lease` may commit: the stored lease is the same holder and epoch. (A lapsed lease that
    /// nobody took over is still current: nobody else can have acted under it.)
    public static func isCurrent(_ lease: Lease, stored: Lease?) -> Bool {
        guard let stored else { return false }
        return stored.holder == lease.holder && stored.epoch == lease.epoch
    }

    static func adding(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
