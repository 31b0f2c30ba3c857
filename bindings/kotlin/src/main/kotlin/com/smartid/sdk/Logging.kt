package com.smartid.sdk

/**
 * Where the SDK's log lines go: lifecycle, step changes, failure codes, RASP decisions. Never pixels,
 * templates, scores of a person, coordinates or keys. Install once, e.g. with Logcat on Android.
 */
object SmartIdLog {
    /** Sends SDK log lines at [level] and above to [sink] (tag, message). */
    @JvmStatic
    fun install(level: LogLevel, sink: (LogLevel, String, String) -> Unit) {
        com.smartid.ffi.setLogSink(
            object : com.smartid.ffi.LogSink {
                override fun log(level: LogLevel, target: String, message: String) = sink(level, target, message)
            },
            level,
        )
    }
}
