package com.smartid.sdk

/**
 * Frames for one capture: the Android camera screen, or a recording on the JVM. Called from the capture
 * thread only.
 */
interface FrameSource : AutoCloseable {
    /** The next frame, blocking until one is there; `null` when there are no more. */
    fun nextFrame(): CameraFrame?

    /** Told the guidance of each frame (the camera screen draws it). */
    fun onGuidance(guidance: Guidance) {}

    override fun close() {}
}
