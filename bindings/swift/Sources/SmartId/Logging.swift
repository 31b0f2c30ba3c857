import SmartIdFFI

/// Where the SDK's log lines go: lifecycle, step changes, failure codes, RASP decisions. Never pixels,
/// templates, scores of a person, coordinates or keys. Install once, e.g. with `os_log` on iOS.
public enum SIDLog {
    /// Sends SDK log lines at `level` and above to `sink(level, target, message)`, replacing any
    /// earlier sink. The sink is called from any thread (often the capture thread).
    public static func install(level: LogLevel, sink: @escaping @Sendable (LogLevel, String, String) -> Void) throws {
        do {
            try setLogSink(sink: LogSinkAdapter(sink), maxLevel: level)
        } catch {
            throw SIDError.from(error)
        }
    }
}

/// A Swift closure as the generated `LogSink` protocol.
final class LogSinkAdapter: LogSink, @unchecked Sendable {
    private let sink: @Sendable (LogLevel, String, String) -> Void

    init(_ sink: @escaping @Sendable (LogLevel, String, String) -> Void) { self.sink = sink }

    func log(level: LogLevel, target: String, message: String) throws {
        sink(level, target, message)
    }
}
