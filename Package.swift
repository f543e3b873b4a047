// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Settle",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "settled", targets: ["settled"]),
        .library(name: "SettleCore", targets: ["SettleCore"]),
        .library(name: "EVM", targets: ["EVM"]),
        .library(name: "Solana", targets: ["Solana"]),
        .library(name: "Signing", targets: ["Signing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // System libraries (Debian -dev packages), found through pkg-config. Shims only.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSecp256k1", pkgConfig: "libsecp256k1", providers: [.apt(["libsecp256k1-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Values shared by every module: UInt256, hex, amounts. No I/O.
        .target(name: "SettleCore", swiftSettings: swiftSettings),
        // Keys and signatures: secp256k1 (recoverable, low-s) and ed25519. Keys never leave this target.
        .target(
            name: "Signing",
            dependencies: ["SettleCore", "CSecp256k1", "CSodium"],
            swiftSettings: swiftSettings
        ),
        // libcurl-backed async HTTP client and JSON-RPC client (batches, retries, failover).
        .target(
            name: "Transport",
            dependencies: ["SettleCore", "CCurl", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        // SQLite: connections, prepared statements, migrations, the index and ledger stores.
        .target(
            name: "Store",
            dependencies: [
                "SettleCore", "CSQLite", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Leases with fencing epochs: one daemon at a time per chain's poller and executor (SQLite and PostgreSQL).
        .target(
            name: "Leases",
            dependencies: ["Store", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Chain and daemon configuration (chains/*.toml), validated with errors naming file, key and problem.
        .target(
            name: "SettleConfiguration",
            dependencies: ["SettleCore", "EVM", "Solana", "Signing", "Store", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: swiftSettings
        ),
        // EVM chain poller: typed JSON-RPC, reorg-safe log indexing into the index store (SQLite or PostgreSQL), replay.
        .target(
            name: "EVMIndexer",
            dependencies: [
                "SettleCore", "EVM", "Transport", "Store", "Leases", "SettleConfiguration",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Solana follower: typed JSON-RPC, transaction and SPL Token event decoding; its index in SQLite or PostgreSQL.
        .target(
            name: "SolanaIndexer",
            dependencies: [
                "SettleCore", "Solana", "Transport", "Store", "Leases", "SettleConfiguration", .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Charges ledger and (to come) scheduler, executor, confirmer, reconciler.
        .target(name: "Settlement", dependencies: ["SettleCore", "Store", "Leases"], swiftSettings: swiftSettings),
        // The chains as the settlement layer sees them: capacity readers (and, to come, executors) per family.
        .target(
            name: "ChainAdapters",
            dependencies: [
                "SettleCore", "Settlement", "SettleConfiguration", "EVM", "EVMIndexer", "Solana", "SolanaIndexer", "Signing", "Transport", "Leases",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Stripe and the merchant: webhook signatures (both ways), the Stripe client, the durable event inbox,
        // invoice ingestion into charges, the polling safety net, marking paid, and merchant webhook delivery.
        .target(
            name: "Billing",
            dependencies: ["SettleCore", "Signing", "Transport", "Store", "Settlement", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // HTTP in (Hummingbird): Stripe's webhooks, the /v1 query and admin API with bearer tokens, /healthz and
        // /metrics (Prometheus).
        .target(
            name: "API",
            dependencies: [
                "SettleCore", "Billing", "Settlement", "ChainAdapters", "SettleConfiguration", "EVM", "EVMIndexer", "Solana", "SolanaIndexer",
                "Signing", "Store", "Transport", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CoreMetrics", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // EVM codecs: keccak-256, RLP, ABI, addresses, transactions.
        .target(name: "EVM", dependencies: ["SettleCore", "Signing"], swiftSettings: swiftSettings),
        // Solana codecs: base58, public keys, PDAs, messages, transactions, SPL Token.
        .target(name: "Solana", dependencies: ["SettleCore", "Signing"], swiftSettings: swiftSettings),

        // The daemon's wiring: every part built from the configuration, for `settled` and the tests alike.
        .target(
            name: "SettleRuntime",
            dependencies: [
                "SettleCore", "Signing", "EVM", "Solana", "Transport", "Store", "Leases", "SettleConfiguration", "EVMIndexer", "SolanaIndexer",
                "Settlement", "ChainAdapters", "Billing", "API", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "settled",
            dependencies: [
                "SettleCore", "Signing", "EVM", "Solana", "Transport", "Store", "SettleConfiguration", "EVMIndexer", "SolanaIndexer", "Settlement", "ChainAdapters",
                "Billing", "API", "SettleRuntime", "Leases",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "settle-bench",
            dependencies: [
                "SettleCore", "Signing", "EVM", "Solana", "CSecp256k1", "CSodium", "SettleConfiguration", "Store", "Transport",
                "EVMIndexer", "SolanaIndexer", "Settlement", "ChainAdapters", "API", .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Benchmarks/SettleBenchmarks",
            swiftSettings: swiftSettings
        ),

        // Test helpers: locating generated reference vectors, seeded randomness, JSON access.
        .target(
            name: "TestSupport",
            dependencies: ["SettleCore", "Signing", "EVM", "Solana", "SolanaIndexer", "Transport", "Store", "Settlement",
                           .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "SettleCore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SettleConfigurationTests", dependencies: ["SettleConfiguration", "Store", "Signing", "EVM"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EVMIndexerTests",
            dependencies: [
                "EVMIndexer", "EVM", "SettleCore", "Store", "Leases", "SettleConfiguration", "Transport", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "StoreTests", dependencies: ["Store", "SettleCore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LeasesTests",
            dependencies: ["Leases", "Store", "TestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SolanaIndexerTests",
            dependencies: [
                "SolanaIndexer", "Solana", "SettleCore", "Signing", "Transport", "Store", "Leases", "SettleConfiguration", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BillingTests",
            dependencies: ["Billing", "SettleCore", "API", "Settlement", "SettleRuntime", "Leases", "ChainAdapters", "SettleConfiguration", "EVM", "EVMIndexer", "Solana", "SolanaIndexer",
                           "Signing", "Store", "Transport", "TestSupport", .product(name: "Logging", package: "swift-log"),
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SettlementTests",
            dependencies: ["Settlement", "Billing", "Leases", "SettleCore", "Store", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChainAdaptersTests",
            dependencies: ["ChainAdapters", "SettleCore", "Settlement", "SettleConfiguration", "EVM", "EVMIndexer", "Solana", "SolanaIndexer", "Signing",
                           "Transport", "Store", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SettleCoreTests", dependencies: ["SettleCore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SigningTests", dependencies: ["Signing", "SettleCore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "EVMTests", dependencies: ["EVM", "SettleCore", "Signing", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SolanaTests", dependencies: ["Solana", "Signing", "TestSupport"], swiftSettings: swiftSettings),
    ]
)
