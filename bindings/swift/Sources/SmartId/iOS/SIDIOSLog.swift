#if os(iOS)
import os

/// The iOS layer's own log lines, through `os.Logger` (subsystem `com.smartid.sdk`, as
/// `SIDLog.installDefault`): what failed, with error domains and codes only, never images, keys or key
/// ids. They go to the unified log, not to a sink installed with `SIDLog.install`, which receives the
/// native library's lines.
enum SIDIOSLog {
    static let camera = Logger(subsystem: "com.smartid.sdk", category: "camera")
    static let attestation = Logger(subsystem: "com.smartid.sdk", category: "attestation")
}
#endif
