package com.smartid.sdk

/**
 * Frames for one capture: the Android camera screen, or a recording on the JVM. Called from the capture
 * thread only, except [cancel].
 */
interface FrameSource : AutoCloseable {
    /** The next frame, blocking until one is there; `null` when there are no more. */
    fun nextFrame(): CameraFrame?

    /**
     * True for a live camera (the SDK's camera screen): the core then checks the frame timestamps
     * against its own monotonic clock, and a recording replayed faster than real time fails with
     * 5010. Recordings keep the default, false.
     */
    val isLiveCamera: Boolean get() = false

    /** Told the guidance of each frame (the camera screen draws it). */
    fun onGuidance(guidance: Guidance) {}

    /**
     * The app cancelled the capture (any thread). A source whose [nextFrame] can block for long (a
     * camera waiting for its permission or paused) makes it throw or return `null` now, so the capture
     * ends at once instead of at the next frame. Default: nothing (the next frame ends it).
     */
    fun cancel() {}

    override fun close() {}
}
