import Foundation
import SmartIdFFI
#if canImport(os)
import os
#endif

/// Where the SDK's log lines go: lifecycle, step changes, failure codes (a blocked environment is 6001). Never pixels,
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

    /// The platform's own log: `os_log` (subsystem `com.smartid.sdk`) on Apple platforms, standard
    /// error elsewhere.
    public static func installDefault(level: LogLevel = .info) throws {
        #if canImport(os)
        let log = OSLog(subsystem: "com.smartid.sdk", category: "sdk")
        try install(level: level) { level, target, message in
            let type: OSLogType
            switch level {
            case .error: type = .error
            case .warn: type = .default
            case .info: type = .info
            case .debug, .trace: type = .debug
            }
            os_log("%{public}@: %{public}@", log: log, type: type, target, message)
        }
        #else
        try install(level: level) { level, target, message in
            FileHandle.standardError.write(Data("[\(level)] \(target): \(message)\n".utf8))
        }
        #endif
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
