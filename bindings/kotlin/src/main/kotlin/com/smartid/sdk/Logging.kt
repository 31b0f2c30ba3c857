package com.smartid.sdk

/**
 * Where the SDK's log lines go: lifecycle, step changes, failure codes (a blocked environment is 6001). Never pixels,
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

    /**
     * The platform's own log: Logcat (tag `SmartId`) on Android, found by reflection so this works on a
     * plain JVM too, where lines go to `java.util.logging` (logger `smartid`).
     */
    @JvmStatic
    @JvmOverloads
    fun installDefault(level: LogLevel = LogLevel.INFO) {
        val logcat = try {
            Class.forName("android.util.Log")
                .getMethod("println", Int::class.javaPrimitiveType, String::class.java, String::class.java)
        } catch (_: ReflectiveOperationException) {
            null
        } catch (_: LinkageError) {
            null
        }
        if (logcat != null) {
            // android.util.Log priorities: VERBOSE 2, DEBUG 3, INFO 4, WARN 5, ERROR 6.
            install(level) { l, target, message ->
                val priority = when (l) {
                    LogLevel.ERROR -> 6
                    LogLevel.WARN -> 5
                    LogLevel.INFO -> 4
                    LogLevel.DEBUG -> 3
                    LogLevel.TRACE -> 2
                }
                logcat.invoke(null, priority, "SmartId", "$target: $message")
            }
        } else {
            val logger = java.util.logging.Logger.getLogger("smartid")
            install(level) { l, target, message ->
                val julLevel = when (l) {
                    LogLevel.ERROR -> java.util.logging.Level.SEVERE
                    LogLevel.WARN -> java.util.logging.Level.WARNING
                    LogLevel.INFO -> java.util.logging.Level.INFO
                    LogLevel.DEBUG -> java.util.logging.Level.FINE
                    LogLevel.TRACE -> java.util.logging.Level.FINEST
                }
                logger.log(julLevel, "$target: $message")
            }
        }
    }
}
