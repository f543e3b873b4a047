import Foundation
import Logging
import SettleCore

/// One JSON object per line on standard error: `time` (ISO 8601, UTC, milliseconds), `level`, `label`, `message`,
/// `source` (the module), and the metadata as string fields. For log shippers; `--log-format text` (the default)
/// prints swift-log's plain lines instead. Like every log line Settle writes, it never holds secrets or RPC URLs:
/// keys and tokens are never put in messages or metadata, and RPC endpoints appear by label (`base#0`).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var fields: [(key: String, value: JSON)] = [
            ("time", .string(Self.timestamp())), ("level", .string(event.level.rawValue)), ("label", .string(label)),
            ("message", .string(event.message.description)), ("source", .string(event.source)),
        ]
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { fields.append((key, .string(value.description))) }
        if let error = event.error { fields.append(("error", .string("\(error)"))) }
        var line = JSON.object(fields).serialized
        line.append(0x0a)
        // One write(2) per line: lines from concurrent tasks never interleave.
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = time_t(spec.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(spec.tv_nsec / 1_000_000))
    }
}
