import Foundation

/// libarchive converts path names through the current locale: in the "C" locale of a daemon or
/// a test process a non-ASCII table name does not convert, and libarchive 3.6 then crashes on
/// a NULL path. Header calls therefore run under C.UTF-8 on the calling thread only
/// (`uselocale`), leaving the process's locale alone.
enum UTF8Locale {
    nonisolated(unsafe) private static let locale: locale_t? = newlocale(Int32(LC_CTYPE_MASK), "C.UTF-8", nil)

    static func run<T>(_ body: () -> T) -> T {
        guard let locale else { return body() }
        let previous = uselocale(locale)
        defer { uselocale(previous) }
        return body()
    }
}
