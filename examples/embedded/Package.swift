// swift-tools-version:6.1
// A program that embeds a station: README "Embedding a station". `tools/lib/embed-test.sh`
// builds it against this checkout and runs it against a live hub.
import PackageDescription

let package = Package(
    name: "Desk",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "StationSync", path: "../..")],
    targets: [
        .executableTarget(
            name: "Desk",
            dependencies: [
                .product(name: "StationSync", package: "StationSync"),
                .product(name: "StationHTTP", package: "StationSync"),
            ])
    ]
)
