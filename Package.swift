// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "StationSync",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "StationCore", targets: ["StationCore"]),
        .library(name: "StationStore", targets: ["StationStore"]),
        .executable(name: "station", targets: ["station"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Pure core: clocks, versions, the merge rule, conflicts, JSON values. No I/O.
        .target(name: "StationCore"),
        // The service center's default schema, compiled in (mirrors seeds/schema.json).
        .target(name: "StationSeeds", dependencies: ["StationCore"]),
        // Storage: GRDB over the system libsqlite3, migrations, change feed, checkpoints.
        .target(
            name: "StationStore",
            dependencies: [
                "StationCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The `station` command line tool.
        .executableTarget(
            name: "station",
            dependencies: [
                "StationCore", "StationStore", "StationSeeds",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Measures local write throughput against a plain GRDB insert of the same rows.
        .executableTarget(
            name: "station-bench",
            dependencies: [
                "StationCore", "StationStore", "StationSeeds",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(name: "StationCoreTests", dependencies: ["StationCore", "StationSeeds"]),
        .testTarget(name: "StationStoreTests", dependencies: ["StationStore", "StationSeeds"]),
        .testTarget(name: "StationCLITests", dependencies: ["StationCore"]),
    ],
    swiftLanguageModes: [.v6]
)
