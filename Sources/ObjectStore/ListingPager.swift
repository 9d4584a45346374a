import Display

/// Follows a listing's pages (ListObjectsV2, ListMultipartUploads) within bounds that a broken or
/// hostile endpoint cannot talk pgseal past: a page of at most 10,000 entries (S3 sends 1,000),
/// 2,000,000 entries and 2,500 pages in all, and a marker never seen before on every page — a
/// server that answers "truncated" with the same continuation token forever is an error, not a
/// loop that grows until the process is killed.
struct ListingPager {
    static let maxPageEntries = 10_000
    static let maxEntries = 2_000_000
    static let maxPages = 2_500

    let operation: String
    /// The element each entry is (`Contents`, `Upload`).
    let record: String
    let client: S3Client
    /// The full prefix asked for: every listed key must begin with it.
    let prefix: String

    /// Each page's entries to `body`, in the server's order. `markers` pairs each request
    /// parameter with the answer's element that gives its next value.
    func forEachPage(query: [(String, String)], markers: [(parameter: String, element: String)],
                     _ body: ([[String: String]]) throws -> Void) throws {
        var current = [String](repeating: "", count: markers.count)
        var seen = Set<[String]>()
        var entries = 0
        for _ in 0..<Self.maxPages {
            let pageQuery = query + [("prefix", prefix)] + zip(markers, current).compactMap { marker, value in value.isEmpty ? nil : (marker.parameter, value) }
            let response = try client.request(operation, method: "GET", key: "", query: pageQuery)
            let answer: XMLAnswer
            do { answer = try XMLAnswer.parse(response.body, record: record, maxRecords: Self.maxPageEntries) } catch {
                throw malformed("\(error)")
            }
            entries += answer.records.count
            guard entries <= Self.maxEntries else { throw malformed("more than \(Self.maxEntries) entries: list a narrower prefix") }
            try body(answer.records)
            guard answer.fields["IsTruncated"] == "true" else { return }
            let next = markers.map { answer.fields[$0.element] ?? "" }
            guard next.contains(where: { !$0.isEmpty }) else { throw malformed("a truncated page names no next marker, so the rest cannot be listed") }
            guard seen.insert(next).inserted else {
                throw malformed("a page repeats the marker \(Terminal.escaped(next.joined(separator: " "))) of an earlier page: the listing would never end")
            }
            current = next
        }
        throw malformed("more than \(Self.maxPages) pages")
    }

    /// A listed key relative to the store's prefix; one outside it was not asked for.
    func relative(_ key: String) throws -> String {
        guard key.hasPrefix(prefix), key.hasPrefix(client.location.prefix) else {
            throw malformed("it lists \(Terminal.escaped(key)), outside the prefix asked for")
        }
        return String(key.dropFirst(client.location.prefix.count))
    }

    func malformed(_ reason: String) -> AWSError {
        AWSError(operation: operation, status: 200, code: "MalformedListing", message: reason)
    }
}
