package com.smartid.sdk

import java.util.logging.Level
import java.util.logging.Logger

/**
 * What the platform layer supplies when the app configured nothing: on Android, the SDK's own camera
 * screen and `AndroidPlatformSignals`, so the guide's one call works as written. The Android layer
 * (`com.smartid.sdk.android.AndroidDefaults`, in the AAR) is found by name: this facade also runs on a
 * plain JVM, where that class does not exist and both defaults are `null`. The AAR's consumer R8 rules
 * keep the class and its two methods.
 */
internal object PlatformDefaults {
    private const val ANDROID_DEFAULTS = "com.smartid.sdk.android.AndroidDefaults"

    private val defaults: Class<*>? by lazy {
        try {
            Class.forName(ANDROID_DEFAULTS)
        } catch (_: ClassNotFoundException) {
            null
        } catch (_: LinkageError) {
            null
        }
    }

    /** The platform's camera screen for [context], or null off Android (or without a context). */
    fun frameSource(context: Any?): FrameSource? = call("frameSource", context) as FrameSource?

    /** The platform's signals for [context], or null off Android (or without a context). */
    fun platformSignals(context: Any?): PlatformSignals? = call("platformSignals", context) as PlatformSignals?

    private fun call(method: String, context: Any?): Any? {
        val c = defaults ?: return null
        if (context == null) return null
        return try {
            c.getMethod(method, Any::class.java).invoke(null, context)
        } catch (e: java.lang.reflect.InvocationTargetException) {
            // The platform layer's own failure (e.g. 5008, camera permission) is the capture's outcome.
            throw e.targetException
        } catch (e: ReflectiveOperationException) {
            Logger.getLogger("smartid").log(Level.WARNING, "platform layer $ANDROID_DEFAULTS.$method unusable", e)
            null
        }
    }
}
