// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "StationSync",
    platforms: [.macOS(.v15)],
    products: [
        // For programs that embed a station: the engine with its SQLite store and the service
        // center's schema, and the HTTP client that syncs it (see README, "Embedding a station").
        .library(name: "StationSync", targets: ["StationCore", "StationSync", "StationStore", "StationSeeds"]),
        .library(name: "StationHTTP", targets: ["StationHTTP"]),
        .library(name: "StationCore", targets: ["StationCore"]),
        .library(name: "StationStore", targets: ["StationStore"]),
        .library(name: "StationMemory", targets: ["StationMemory"]),
        .executable(name: "station", targets: ["station"]),
        .executable(name: "hub", targets: ["hub"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Pure core: clocks, versions, the merge rule, conflicts, JSON values. No I/O.
        .target(name: "StationCore"),
        // The service center's default schema, compiled in (mirrors seeds/schema.json).
        .target(name: "StationSeeds", dependencies: ["StationCore"]),
        // A file's birth time (statx), for telling a copy or a restored file from the original.
        .target(name: "CStationFile"),
        // The sync engine: push/pull over a transport, the serving side, tokens, and the storage
        // ports it owns (Ports/), which every backend conforms to.
        .target(
            name: "StationSync",
            dependencies: [
                "StationCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // What the hub keeps beyond syncing (stations' activity, operator sessions, conflict
        // administration): its port, for every hub backend.
        .target(name: "StationHub", dependencies: ["StationCore", "StationSync"]),
        // Storage in memory, behind the same ports and rules as SQLite: for tests, simulations,
        // and the conformance suite every backend passes.
        .target(name: "StationMemory", dependencies: ["StationCore", "StationSync", "StationHub"]),
        // Storage: GRDB over the system libsqlite3, migrations, change feed, checkpoints; conforms
        // to the engine's and the hub's ports.
        .target(
            name: "StationStore",
            dependencies: [
                "StationCore", "StationSync", "StationHub", "CStationFile",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface, for the statements of the write path (RecordRows.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]),
        // libcurl, found with pkg-config (apt: libcurl4-openssl-dev), and fixed-signature wrappers
        // for its variadic setopt/getinfo.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        // gzip through the system zlib (apt: zlib1g-dev), for request and response bodies.
        .target(name: "CStationZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "StationGzip", dependencies: ["CStationZlib"]),
        // The HTTP client over libcurl and the sync transport that uses it.
        .target(
            name: "StationHTTP",
            dependencies: [
                "CCurlShim", "StationGzip", "StationCore", "StationSync",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The protocol served over HTTP (Hummingbird), by the hub and by `station serve`.
        .target(
            name: "StationServer",
            dependencies: [
                "StationCore", "StationSync", "StationHub", "StationGzip",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]),
        // What the `station` and `hub` tools share: options, output, error reporting, sync and serve.
        .target(
            name: "StationCommands",
            dependencies: [
                "StationCore", "StationStore", "StationSync", "StationHub", "StationHTTP", "StationServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        // The `station` command line tool.
        .executableTarget(
            name: "station",
            dependencies: [
                "StationCore", "StationStore", "StationSeeds", "StationSync", "StationHTTP", "StationServer", "StationCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The `hub` command line tool: the center's node, its tokens, its server.
        .executableTarget(
            name: "hub",
            dependencies: [
                "StationCore", "StationStore", "StationSeeds", "StationSync", "StationHub", "StationHTTP", "StationServer",
                "StationCommands",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Measures local write throughput against a plain GRDB insert of the same rows.
        .executableTarget(
            name: "station-bench",
            dependencies: [
                "StationCore", "StationStore", "StationSeeds", "StationSync",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        // The random tests' own oracle (a model of what was asked) and their seeded generator.
        .target(name: "StationTestSupport", dependencies: ["StationCore"], path: "Tests/TestSupport"),
        .testTarget(name: "StationCoreTests", dependencies: ["StationCore", "StationSeeds", "StationTestSupport"]),
        .testTarget(name: "StationStoreTests", dependencies: ["StationStore", "StationSync", "StationHub", "StationSeeds", "StationTestSupport"]),
        // The CLI and end-to-end tests run the real executables: depending on them builds them first,
        // so a test never runs against a stale binary.
        .testTarget(name: "StationCLITests", dependencies: ["StationCore", "StationCommands", "station"]),
        .testTarget(
            name: "StationSyncTests",
            dependencies: ["StationSync", "StationHub", "StationStore", "StationMemory", "StationSeeds", "StationTestSupport"]),
        .testTarget(
            name: "StationHTTPTests",
            dependencies: [
                "StationHTTP", "StationGzip", "StationServer", "StationSync", "StationStore", "StationTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(
            name: "StationServerTests",
            dependencies: [
                "StationServer", "StationSync", "StationHub", "StationStore", "StationSeeds", "StationGzip",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(name: "EndToEndTests", dependencies: ["StationCore", "station", "hub"]),
    ],
    swiftLanguageModes: [.v6]
)
