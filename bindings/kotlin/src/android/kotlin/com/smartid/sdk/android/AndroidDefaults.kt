package com.smartid.sdk.android

import android.content.Context
import com.smartid.sdk.FrameSource
import com.smartid.sdk.PlatformSignals

/**
 * The Android layer's defaults, so the guide's call (`SmartId.getInstance().captureBiometric(context)
 * ... .start()`) works with nothing configured: the SDK's camera screen as the frame source and
 * [AndroidPlatformSignals] as the RASP signals.
 *
 * The platform-neutral facade (`com.smartid.sdk.PlatformDefaults`) finds this class by name and calls
 * these two methods by reflection (`getMethod(name, Object.class)`), because the facade also runs on a
 * plain JVM where no Android class exists: keep the names and signatures (the AAR's consumer R8 rules
 * keep them too).
 */
object AndroidDefaults {
    /**
     * Starts the SDK's capture screen for one capture and returns its frames; null when [context] is
     * not an Android `Context`. Called on the capture thread.
     *
     * @throws com.smartid.sdk.SmartIdException 4001 when another capture is running.
     */
    @JvmStatic
    fun frameSource(context: Any?): FrameSource? = (context as? Context)?.let { CameraFrameSource(it) }

    /** [AndroidPlatformSignals] for the application of [context]; null when it is not a `Context`. */
    @JvmStatic
    fun platformSignals(context: Any?): PlatformSignals? =
        (context as? Context)?.let { AndroidPlatformSignals(it.applicationContext ?: it) }
}
