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
        // The follower's /metrics endpoint: HTTP/1.1 on an event loop of its own.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Thin module maps over the given C libraries.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),

        // One module per concern, lowest first; docs/DESIGN.md draws the graph.
        // Bytes in motion: sources, sinks, queues, spool files, checked arithmetic.
        .target(name: "ByteStreams"),
        // Text for people: untrusted text escaped for a terminal, numbers and dates formatted.
        .target(name: "Display"),
        // age (X25519, ChaCha20-Poly1305), SSHSIG (Ed25519), SHA-256, HMAC: over OpenSSL.
        .target(name: "Cryptography", dependencies: ["COpenSSL", "ByteStreams"], swiftSettings: hotPath),
        // libpq, wrapped: connections, COPY, cancellation, SQL quoting.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        // pgseal/2 rows: PostgreSQL's COPY text to canonical JSON Lines and back.
        .target(name: "CanonicalJSON", dependencies: ["ByteStreams", "Cryptography"], swiftSettings: hotPath),
        // The format's documents (seal, manifest, definitions, attestation), tar, names.
        .target(name: "ArchiveFormat", dependencies: ["CArchive", "ByteStreams", "Cryptography", "Display"]),
        // Stores: a directory or S3 (SigV4, multipart, credentials), opened from StoreSettings.
        .target(name: "ObjectStore", dependencies: ["ByteStreams", "Cryptography", "Display", "CCurl", .product(name: "Logging", package: "swift-log")]),
        // What is read from PostgreSQL's catalog: profiles, table plans, key ranges, types, snapshots.
        .target(name: "DatabaseCatalog", dependencies: ["ArchiveFormat", "ByteStreams", "CanonicalJSON", "Postgres"]),
        // Settings as values, from the config file < PGSEAL_ environment < flags.
        .target(name: "Settings", dependencies: [
            "ByteStreams", "DatabaseCatalog", "ObjectStore",
            .product(name: "Configuration", package: "swift-configuration"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // Following a database's changes: the streaming replication protocol and pgoutput, decoded.
        .target(name: "ChangeCapture", dependencies: ["ByteStreams", "CanonicalJSON"]),
        // The one gate every reader passes: seal, signed documents, rows, read-ahead, key order.
        .target(name: "ArchiveReading", dependencies: ["ArchiveFormat", "ByteStreams", "CanonicalJSON", "Cryptography", "Display", "ObjectStore"], swiftSettings: hotPath),
        // Archives back into databases and directories: restore, recover, diff, extract, scratch databases.
        .target(name: "Restore", dependencies: ["ArchiveFormat", "ArchiveReading", "ByteStreams", "CanonicalJSON", "ChangeCapture", "Cryptography", "DatabaseCatalog", "Display", "ObjectStore", "Postgres"], swiftSettings: hotPath),
        // Verification at levels seal, deep and restore.
        .target(name: "Verify", dependencies: ["ArchiveFormat", "ArchiveReading", "ByteStreams", "CanonicalJSON", "Cryptography", "DatabaseCatalog", "Display", "ObjectStore", "Postgres", "Restore"], swiftSettings: hotPath),
        // Writing archives: the export pipeline, partitioned exports, file archives.
        .target(name: "Export", dependencies: [
            "ArchiveFormat", "ByteStreams", "CanonicalJSON", "Cryptography", "DatabaseCatalog", "Display", "ObjectStore", "Postgres", "Settings",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPath),
        // The follower: a logical slot's changes sealed into change segments bound to base exports.
        .target(name: "Follow", dependencies: [
            "ArchiveFormat", "ArchiveReading", "ByteStreams", "CanonicalJSON", "ChangeCapture", "Cryptography", "DatabaseCatalog", "Export",
            "ObjectStore", "Postgres",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // The unattended jobs around archives: list, check, prune, replicate, chain, evidence.
        .target(name: "Operations", dependencies: [
            "ArchiveFormat", "ArchiveReading", "ByteStreams", "ChangeCapture", "Cryptography", "Display", "ObjectStore", "Verify",
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // The auditors' page: Operations' evidence as one self-contained HTML file.
        .target(name: "EvidenceHTML", dependencies: ["ArchiveFormat", "Display", "Operations", .product(name: "Plot", package: "Plot")]),
        // The library: a chosen public face over the modules above, which the CLI is built on.
        .target(name: "PGSealKit", dependencies: [
            "ArchiveReading", "ByteStreams", "Cryptography", "Export", "Follow", "ObjectStore", "Operations", "Restore", "Verify",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "pgseal-example-verify-newest", dependencies: ["PGSealKit"], path: "Examples/VerifyNewest"),
        .executableTarget(name: "pgseal-example-embedded-service", dependencies: ["PGSealKit"], path: "Examples/EmbeddedService"),
        .executableTarget(name: "pgseal", dependencies: [
            "PGSealKit", "EvidenceHTML", "ArchiveFormat", "ArchiveReading", "ByteStreams", "Cryptography", "DatabaseCatalog", "Display",
            "Export", "Follow", "ObjectStore", "Operations", "Postgres", "Restore", "Settings", "Verify",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Test support: real servers and real peer tools, started on loopback.
        .target(name: "TestSupport", dependencies: ["ByteStreams"], path: "Tests/TestSupport"),
        .testTarget(name: "CanonicalJSONTests", dependencies: ["CanonicalJSON", "Cryptography"]),
        .testTarget(name: "ArchiveTests", dependencies: ["ArchiveFormat", "ByteStreams", "TestSupport"]),
        .testTarget(name: "CryptographyTests", dependencies: ["Cryptography", "TestSupport"], exclude: ["age_passphrase.py", "CCTV"]),
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore"]),
        .testTarget(name: "ChangeCaptureTests", dependencies: ["ChangeCapture"]),
        .testTarget(name: "OperationsTests", dependencies: ["ArchiveFormat", "ArchiveReading", "ByteStreams", "Cryptography", "EvidenceHTML", "ObjectStore", "Operations", "TestSupport"]),
        .testTarget(name: "ExportUnitTests", dependencies: ["ArchiveFormat", "CanonicalJSON", "Cryptography", "DatabaseCatalog", "Display", "Export", "Postgres", "TestSupport"]),
        .testTarget(name: "VerifyUnitTests", dependencies: ["ArchiveFormat", "ArchiveReading", "ByteStreams", "CanonicalJSON", "Cryptography", "TestSupport", "Verify"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ArchiveFormat", "ArchiveReading", "ByteStreams", "CanonicalJSON", "ChangeCapture", "Cryptography", "DatabaseCatalog", "PGSealKit", "ObjectStore", "Postgres", "TestSupport", "Verify"], exclude: ["Oracle", "FaultProxy", "Webhook", "Credentials", "FuzzRegressions", "HostileS3", "Attacker", "Blackhole"]),
    ]
)
