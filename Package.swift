// swift-tools-version: 6.2
import PackageDescription

/// The per-row code checks memory exclusivity at run time by default, which cost a quarter of
/// the export's CPU in profiles (swift_beginAccess); these modules opt out after review.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "pgseal",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pgseal", targets: ["pgseal"]),
        .library(name: "PGSealKit", targets: ["PGSealKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `swift package generate-documentation --target PGSealKit` (make docs).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // The auditors' HTML report (pgseal report --html).
        .package(url: "https://github.com/JohnSundell/Plot", from: "0.14.0"),
        // The metrics textfile: the exposition format's escaping done by its own library.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Thin module maps over the given C libraries.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // One module per concern.
        .target(name: "ByteStreams"),
        .target(name: "Seal", dependencies: ["COpenSSL", "ByteStreams"], swiftSettings: hotPath),
        .target(name: "CanonicalJSON", dependencies: ["Seal"], swiftSettings: hotPath),
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        .target(name: "Archive", dependencies: ["CArchive", "ByteStreams"]),
        .target(name: "ObjectStore", dependencies: ["Seal", "ByteStreams", "CCurl", .product(name: "Logging", package: "swift-log")]),
        .target(name: "Export", dependencies: [
            "Postgres", "CanonicalJSON", "Archive", "Seal", "ObjectStore", "ByteStreams",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: hotPath),
        .target(name: "Verify", dependencies: ["Archive", "CanonicalJSON", "Seal", "ObjectStore", "ByteStreams", "Postgres", "Export"], swiftSettings: hotPath),
        .target(name: "Operations", dependencies: [
            "ObjectStore", "Archive", "Verify", "Export", "Seal", "ByteStreams",
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The auditors' page: Operations' evidence as one self-contained HTML file.
        .target(name: "EvidenceHTML", dependencies: ["Operations", "Export", "Archive", "ByteStreams", .product(name: "Plot", package: "Plot")]),
        // The library: a chosen public face over the modules above, which the CLI is built on.
        .target(name: "PGSealKit", dependencies: [
            "Export", "Verify", "Operations", "ObjectStore", "Seal", "ByteStreams",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "pgseal-example-verify-newest", dependencies: ["PGSealKit"], path: "Examples/VerifyNewest"),
        .executableTarget(name: "pgseal", dependencies: [
            "PGSealKit", "EvidenceHTML", "Export", "Verify", "Operations", "Archive", "ObjectStore", "Seal", "ByteStreams",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Test support: real servers and real peer tools, started on loopback.
        .target(name: "TestSupport", dependencies: ["ByteStreams"], path: "Tests/TestSupport"),
        .testTarget(name: "CanonicalJSONTests", dependencies: ["CanonicalJSON", "Seal"]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "ByteStreams", "TestSupport"]),
        .testTarget(name: "SealTests", dependencies: ["Seal", "ByteStreams", "TestSupport"], exclude: ["age_passphrase.py", "CCTV"]),
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore", "ByteStreams"]),
        .testTarget(name: "OperationsTests", dependencies: ["Operations", "EvidenceHTML", "ObjectStore", "Archive", "Seal", "ByteStreams", "Verify", "TestSupport"]),
        .testTarget(name: "ExportUnitTests", dependencies: ["Export", "CanonicalJSON", "Seal", "ByteStreams", "Archive", "Postgres", "TestSupport"]),
        .testTarget(name: "VerifyUnitTests", dependencies: ["Verify", "CanonicalJSON", "Archive", "Seal", "ByteStreams", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "Postgres", "Seal", "Verify", "Archive", "CanonicalJSON", "ByteStreams", "ObjectStore"], exclude: ["Oracle", "FaultProxy", "Webhook", "Credentials", "FuzzRegressions", "HostileS3", "Attacker", "Blackhole"]),
    ]
)
