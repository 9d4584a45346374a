import Foundation
import XCTest

/// The fixture database shared by the export tests that only read it (2,000 users plus the
/// edge cases), and helpers to run exports into temporary stores.
public enum ExportFixture {
    public static let users = 2000
    private static let loaded = SharedService(start: { try PostgresServer.shared().fixtureDatabase(users: users, label: "shared") },
                                              stop: { _ in })

    /// The shared fixture database's name, loaded once per test run.
    public static func database() throws -> String { try loaded.get() }

    public static func url() throws -> String {
        try PostgresServer.shared().url(database: database())
    }

    /// The profile `everything`: the four service tables (users without its secret columns),
    /// edge_values and empty_table.
    public static let everything = [
        ExportedTable("public.users", columns: ["id", "email", "email_verified", "created_at", "updated_at", "is_active"]),
        ExportedTable("public.user_profiles"),
        ExportedTable("public.user_watchlist"),
        ExportedTable("public.user_subscriptions"),
        ExportedTable("public.edge_values"),
        ExportedTable("public.empty_table"),
    ]

    /// A config file with the profile `everything`.
    public static func everythingConfig(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("everything.yaml")
        try ExportedTable.config(profile: "everything", tables: everything, at: path)
        return path
    }

    /// Files below `directory`, relative, sorted.
    public static func files(below directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? [])
            .filter { path in
                var isDirectory: ObjCBool = false
                FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory)
                return !isDirectory.boolValue
            }
            .sorted()
    }

    /// Fails unless `directory` holds no archive, no sidecar and no temporary file.
    public static func assertNothingLeft(in directory: String, file: StaticString = #filePath, line: UInt = #line) {
        let left = files(below: directory)
        XCTAssertEqual(left, [], "an interrupted export left files behind", file: file, line: line)
    }
}
