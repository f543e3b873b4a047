import EVMIndexer
import Leases
import Logging
import SettleConfiguration
import Settlement
import Billing
import Foundation
import Signing
import SolanaIndexer
import Store
import Transport

/// A configuration that cannot run: the message names the file and key, and what to do.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the daemon takes from its configuration and a test may set otherwise: retry policies (a test's peers answer at
/// once, so retrying for seconds only slows it) and the HTTP client (a test shares its peers' client).
public struct RuntimeOptions: Sendable {
    /// Retries of Stripe requests; nil: the client's default.
    public var stripeRetry: RetryPolicy?
    /// Retries of a chain node's JSON-RPC calls; nil: the client's default.
    public var rpcRetry: RetryPolicy?
    /// The HTTP client everything uses; nil: a new one.
    public var http: HTTPClient?

    public init(stripeRetry: RetryPolicy? = nil, rpcRetry: RetryPolicy? = nil, http: HTTPClient? = nil) {
        self.stripeRetry = stripeRetry
        self.rpcRetry = rpcRetry
        self.http = http
    }
}

/// The database by location, the stores that differ per backend, and the schema of every module: one place for
/// `settled serve`, every other command, `doctor`, `--version` and the tests.
public enum SettleDatabase {
    /// Opens a SQLite file (created if missing) or a PostgreSQL pool, reading the password from its reference.
    /// - Parameter idleInTransactionTimeout: for PostgreSQL, how long the server lets a session idle inside a
    ///   transaction (`settled serve` passes its lease time, see `PostgresPool.init`).
    public static func open(_ location: DatabaseLocation, password: KeyReference?, logger: Logger, idleInTransactionTimeout: Duration? = nil,
                            passwordSource: String = "database.password") throws -> any SQLStore {
        switch location {
        case .sqlite(let path):
            return try Database(path: path)
        case .postgres(let place):
            var secret: String?
            if let password {
                do { secret = try KeyLoader.secretText(from: password) } catch { throw RuntimeError("\(passwordSource): \(error.message)") }
            }
            return PostgresPool(place, password: secret, logger: logger, idleInTransactionTimeout: idleInTransactionTimeout)
        }
    }

    /// Opens the database a command names with `--database` (a SQLite path or a `postgres://` URL), the password
    /// from `--database-password` or `SETTLE_DATABASE_PASSWORD`.
    public static func open(argument text: String, password: String?, logger: Logger) throws -> any SQLStore {
        let location: DatabaseLocation
        do { location = try DaemonConfig.location(text, file: "command line", key: "--database") } catch { throw RuntimeError(error.description) }
        var reference: KeyReference?
        if let password {
            do { reference = try KeyReference(parsing: password) } catch { throw RuntimeError("--database-password: \(error.message)") }
        }
        return try open(location, password: reference, logger: logger, passwordSource: "--database-password")
    }

    /// Ends a PostgreSQL pool's connections (nothing for SQLite).
    public static func close(_ database: any SQLStore) {
        (database as? PostgresPool)?.close()
    }

    /// The leases of this database (their table made if missing).
    public static func leases(_ database: any SQLStore) async throws -> any LeaseStore {
        switch database {
        case let sqlite as Database: try await SQLiteLeaseStore(database: sqlite)
        case let pool as PostgresPool: try await PostgresLeaseStore(database: pool)
        default: throw RuntimeError("no lease store for a \(database.backend) database")
        }
    }

    /// The EVM index on this database (not migrated).
    public static func evmIndex(_ database: any SQLStore) throws -> any EVMIndexStore {
        switch database {
        case let sqlite as Database: SQLiteEVMIndexStore(database: sqlite)
        case let pool as PostgresPool: PostgresEVMIndexStore(database: pool)
        default: throw RuntimeError("no EVM index store for a \(database.backend) database")
        }
    }

    /// The Solana index on this database (not migrated).
    public static func solanaIndex(_ database: any SQLStore) throws -> any SolanaIndexStore {
        switch database {
        case let sqlite as Database: SQLiteSolanaIndexStore(database: sqlite)
        case let pool as PostgresPool: PostgresSolanaIndexStore(database: pool)
        default: throw RuntimeError("no Solana index store for a \(database.backend) database")
        }
    }

    /// Every module's schema (name and the version this build migrates to) on `backend`, in migration order.
    public static func schemas(_ backend: SQLBackend) -> [(module: String, version: Int)] {
        let indexes = backend == .sqlite ? [SQLiteEVMIndexStore.schema, SQLiteSolanaIndexStore.schema] : [PostgresEVMIndexStore.schema, PostgresSolanaIndexStore.schema]
        return [Ledger.schema(backend), Outbox.schema(backend), BillingStore.schema(backend)] + indexes
    }
}

/// The lease a one-off command (`settled index`, `replay`, `execute`) works under on PostgreSQL, where daemons may
/// be running on the same database: taken at the start (refused while a daemon holds it), renewed every third of its
/// time while the command runs, released at the end. Every write the command fences carries it, so a command that
/// stalls past its lease cannot write behind a daemon that took over. On SQLite there is none: one process has the
/// file (`DatabaseLock`).
public final class CommandLease: Sendable {
    public let lease: Lease
    private let keeper: LeaseKeeper
    private let renewal: Task<Void, Never>

    private init(lease: Lease, keeper: LeaseKeeper, renewal: Task<Void, Never>) {
        self.lease = lease
        self.keeper = keeper
        self.renewal = renewal
    }

    /// The lease `name` ("index base", "settle base") on `database`, or nil on SQLite.
    /// - Throws: `RuntimeError` while another process holds it.
    public static func take(_ name: String, on database: any SQLStore, seconds: UInt64 = 15) async throws -> CommandLease? {
        guard database.backend == .postgres else { return nil }
        let leases = try await SettleDatabase.leases(database)
        let keeper = LeaseKeeper(store: leases, name: name, holder: LeaseKeeper.processHolder(), ttl: seconds * 1_000, clock: LeaseKeeper.wallClock)
        guard let lease = try await keeper.hold() else {
            throw RuntimeError("another settled holds the lease '\(name)' on this database (a daemon doing this work): stop it, or let it do the work")
        }
        let renewal = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int64(seconds) * 1_000 / 3))
                _ = try? await keeper.hold()
            }
        }
        return CommandLease(lease: lease, keeper: keeper, renewal: renewal)
    }

    /// Stops renewing and hands the lease back. The renewal is awaited first: a renewal in flight when it was only
    /// cancelled took the lease again after the release (a loaded CI run then refused the next command: "another
    /// settled holds the lease").
    public func release() async {
        renewal.cancel()
        await renewal.value
        await keeper.release()
    }
}
