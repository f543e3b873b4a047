import Store
import Testing

@Suite("PostgreSQL locations (database URLs)")
struct PostgresLocationTests {
    @Test("a URL is read as written; TLS is required unless sslmode=disable")
    func valid() throws {
        #expect(try PostgresLocation(url: "postgres://settle@db.internal/settle")
                == PostgresLocation(host: "db.internal", port: 5432, user: "settle", database: "settle", requireTLS: true, maximumConnections: 10))
        #expect(try PostgresLocation(url: "postgresql://app@127.0.0.1:6543/billing?sslmode=disable&pool=4")
                == PostgresLocation(host: "127.0.0.1", port: 6543, user: "app", database: "billing", requireTLS: false, maximumConnections: 4))
        #expect(try PostgresLocation(url: "postgres://u@[::1]:5433/d").host == "::1")
        #expect(try PostgresLocation(url: "postgres://u@[::1]:5433/d").description == "postgres://u@[::1]:5433/d?sslmode=require")
    }

    @Test("mistakes are refused with what is wrong; a password in the URL is refused", arguments: [
        ("mysql://u@h/d", "postgres://"), ("postgres://h/d", "no user"), ("postgres://u:secret@h/d", "password"),
        ("postgres://u@h", "no database"), ("postgres://u@h/", "no database"), ("postgres://u@h:0/d", "port"),
        ("postgres://u@h:99999/d", "port"), ("postgres://u@h:x/d", "port"), ("postgres://u@:5432/d", "no host"),
        ("postgres://u@h/d?sslmode=allow", "sslmode"), ("postgres://u@h/d?pool=0", "pool"), ("postgres://u@h/d?user=x", "unknown option"),
    ])
    func invalid(url: String, problem: String) {
        let error = #expect(throws: StoreError.self) { try PostgresLocation(url: url) }
        #expect(error?.code == .invalidLocation)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "") lacks \(problem)")
        #expect(error?.message.contains("secret") == false)
    }
}
