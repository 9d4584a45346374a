import Foundation
import Logging

/// One JSON object per line on stderr, for log shippers: time, level, label, message, metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .notice
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var record: [String: String] = [
            "time": ISO8601DateFormatter().string(from: Date()),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        if let error = event.error { record["error"] = "\(error)" }
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { record[key] = value.description }
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        FileHandle.standardError.write(data + Data([0x0A]))
    }
}
