import Logging
import NIOCore
import PostgresNIO

/// A `SQLSession` on one PostgreSQL connection inside a transaction. Statements are written with `?` placeholders
/// (as for SQLite) and numbered here; values travel as typed binary parameters, never spliced into the text.
struct PostgresSession: SQLSession {
    let backend = SQLBackend.postgres
    let connection: PostgresConnection
    let logger: Logger

    func run(_ sql: String, _ values: [SQLValue]) async throws -> Int {
        let query = try Self.query(sql, values)
        do {
            let metadata = try await connection.query(query, logger: logger) { _ in }.get()
            return metadata.rows ?? 0
        } catch let error as PSQLError {
            throw Self.storeError(error, sql: sql)
        }
    }

    func rows(_ sql: String, _ values: [SQLValue]) async throws -> [SQLRow] {
        let query = try Self.query(sql, values)
        do {
            var out: [SQLRow] = []
            for try await row in try await connection.query(query, logger: logger) {
                out.append(SQLRow(try row.map(Self.value)))
            }
            return out
        } catch let error as PSQLError {
            throw Self.storeError(error, sql: sql)
        }
    }

    /// `sql` with its `?` placeholders numbered `$1, $2, …` (outside quoted text), and `values` as bindings.
    static func query(_ sql: String, _ values: [SQLValue]) throws(StoreError) -> PostgresQuery {
        var text = ""
        text.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                text.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                text.append(character)
            } else if character == "?" {
                number += 1
                text += "$\(number)"
            } else {
                text.append(character)
            }
        }
        guard number == values.count else {
            throw StoreError(.invalidQuery, "\(number) placeholders but \(values.count) values [\(sql.prefix(120))]")
        }
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .text(let string): bindings.append(string)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: bindings)
    }

    /// A cell as the value the stores read: integers of every width as `.integer`, booleans as 0/1.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8: return .integer(try cell.decode(Int64.self))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .text, .varchar, .name, .bpchar: return .text(try cell.decode(String.self))
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
        default:
            throw StoreError(.corruptValue, "column \(cell.columnName) has a type (\(cell.dataType)) the stores do not read")
        }
    }

    /// The server's refusal in the stores' terms: a broken unique or check rule is `.constraint`, a serialization
    /// failure or deadlock `.busy` (retryable), anything else `.database` with the server's message.
    static func storeError(_ error: PSQLError, sql: String) -> StoreError {
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        let statement = sql.count > 120 ? String(sql.prefix(120)) + "…" : sql
        let code: StoreError.Code = switch state {
        case let s where s.hasPrefix("23"): .constraint
        case "40001", "40P01", "55P03": .busy
        default: .database
        }
        return StoreError(code, "PostgreSQL \(state): \(message) [\(statement)]")
    }
}

extension PostgresPool: SQLStore {
    public var backend: SQLBackend { .postgres }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T {
        try await transaction { connection in try await body(PostgresSession(connection: connection, logger: self.logger)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T {
        try await transaction { connection in try await body(PostgresSession(connection: connection, logger: self.logger)) }
    }

    public func migrate(module: String, _ migrations: SQLMigrations) async throws {
        try await migrate(module: module, migrations.postgres)
    }

    public func schemaVersion(module: String) async throws -> Int {
        try await read { session in
            guard try await session.row("SELECT to_regclass('schema_migrations') IS NOT NULL", [])?.int64(0) == 1,
                  let row = try await session.row("SELECT version FROM schema_migrations WHERE module = ?", [.text(module)]) else { return 0 }
            return try row.int(0)
        }
    }
}
