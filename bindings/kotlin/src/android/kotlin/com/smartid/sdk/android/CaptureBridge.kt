package com.smartid.sdk.android

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import com.smartid.sdk.CameraFrame
import com.smartid.sdk.FrameSource
import com.smartid.sdk.Guidance
import com.smartid.sdk.SmartIdException
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock

/**
 * The SDK's camera screen as a [FrameSource]: constructing it starts [SmartIdCaptureActivity] for one
 * capture; the capture thread then takes the screen's frames with [nextFrame] and hands back each
 * frame's guidance, and [close] (the facade's `use`) ends the capture and the screen.
 *
 * [context] only starts the screen, on the main thread (from an `Activity` in the caller's task, from
 * any other context with `FLAG_ACTIVITY_NEW_TASK`); nothing keeps it afterwards. A screen that cannot
 * start fails the capture on the next [nextFrame]: 4001 when the activity is missing from the merged
 * manifest, 5009 otherwise.
 *
 * @throws SmartIdException 4001 when another capture is still running (one camera screen at a time).
 */
internal class CameraFrameSource(context: Context) : FrameSource {
    /** Camera2 timestamps: the core checks them against its own clock. */
    override val isLiveCamera: Boolean get() = true

    private val bridge = CaptureBridge.begin()

    init {
        val intent = Intent(context, SmartIdCaptureActivity::class.java)
            .putExtra(SmartIdCaptureActivity.EXTRA_CAPTURE_ID, bridge.id)
        if (context !is Activity) intent.addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
        val b = bridge
        // The facade builds its frame source on the capture thread; an Activity's startActivity
        // belongs on the main thread.
        Handler(Looper.getMainLooper()).post {
            if (b.isOver) return@post // the capture already ended (e.g. a bad server key): no screen
            try {
                context.startActivity(intent)
            } catch (e: ActivityNotFoundException) {
                b.fail(
                    SmartIdException(
                        "SmartIdCaptureActivity is not in the app's manifest (was the SDK's AAR manifest merged?)",
                        SmartIdException.CONFIG_INVALID,
                        e,
                    ),
                )
            } catch (e: RuntimeException) {
                b.fail(SmartIdException("the capture screen could not be started", SmartIdException.CAMERA_UNAVAILABLE, e))
            }
        }
    }

    override fun nextFrame(): CameraFrame? = bridge.nextFrame()

    override fun onGuidance(guidance: Guidance) = bridge.onGuidance(guidance)

    /** The app cancelled: a `nextFrame()` waiting for the permission or a paused camera ends now (5005). */
    override fun cancel() = bridge.fail(SmartIdException("capture cancelled", SmartIdException.CANCELLED))

    override fun close() = bridge.close()
}

/**
 * What one capture's thread and its camera screen share. It outlives the activity (a rotation destroys
 * and recreates the screen, and the new instance attaches to the same bridge with the capture id in its
 * intent), so it holds no Activity or View: only the [Ui] listener the current screen sets in `onCreate`
 * and clears in `onDestroy`.
 *
 * Threads: frames arrive on the camera thread ([offerFrame]); [nextFrame], [onGuidance] and [close]
 * come from the capture thread; [attach], [detach] and [Ui] calls happen on the main thread; [fail] from
 * either. Frames: one slot, the newest wins, so a capture thread slower than the camera drops frames
 * instead of queueing them.
 */
internal class CaptureBridge private constructor(val id: Long) {
    /** The screen currently showing this capture. Called on the main thread only. */
    interface Ui {
        fun render(guidance: Guidance)

        /** The capture is over (finished, failed or cancelled): the screen closes itself. */
        fun finishCapture()
    }

    private val lock = ReentrantLock()
    private val changed = lock.newCondition()

    // Guarded by lock.
    private var pending: CameraFrame? = null
    private var failure: SmartIdException? = null
    private var finished = false
    private var attachedOnce = false

    private val main = Handler(Looper.getMainLooper())

    /** Main thread only (set in onCreate, cleared in onDestroy). */
    private var ui: Ui? = null

    /** The newest guidance: a recreated screen shows it at once. */
    @Volatile
    var lastGuidance: Guidance? = null
        private set

    private val guidancePosted = AtomicBoolean(false)

    /** Finished or failed: no more frames will be taken. */
    val isOver: Boolean
        get() = lock.withLock { finished || failure != null }

    /** Camera thread: the newest frame replaces an untaken one. */
    fun offerFrame(frame: CameraFrame) {
        lock.withLock {
            if (finished || failure != null) return
            pending = frame
            changed.signalAll()
        }
    }

    /**
     * Capture thread: blocks until a frame arrives, and throws the recorded failure (5005 cancelled,
     * 5008 permission refused, 5009 camera unavailable). Returns null once the capture is closed. Two
     * bounds keep a capture from waiting forever: the screen must come up within [START_TIMEOUT_MS]
     * (an app in the background may not start activities), and frames must not stop for longer than
     * [STALL_TIMEOUT_MS] (the user left the screen, or a permission dialog was never answered).
     */
    fun nextFrame(): CameraFrame? = lock.withLock {
        val since = SystemClock.elapsedRealtime()
        var frame: CameraFrame? = null
        while (frame == null) {
            failure?.let { throw it }
            if (finished) return null
            frame = pending
            pending = null
            if (frame != null) break
            val limit = if (attachedOnce) STALL_TIMEOUT_MS else START_TIMEOUT_MS
            val left = limit - (SystemClock.elapsedRealtime() - since)
            if (left <= 0) {
                failLocked(
                    if (attachedOnce) {
                        SmartIdException("no camera frame for ${STALL_TIMEOUT_MS / 1000} s: the capture screen was left", CAPTURE_TIMEOUT)
                    } else {
                        SmartIdException("the capture screen did not start", SmartIdException.CAMERA_UNAVAILABLE)
                    },
                )
                continue // throws the failure just recorded
            }
            changed.await(left, TimeUnit.MILLISECONDS)
        }
        frame
    }

    /** Capture thread: shows [guidance] on the screen. Never throws, never blocks; coalesces to the newest. */
    fun onGuidance(guidance: Guidance) {
        lastGuidance = guidance
        if (guidancePosted.compareAndSet(false, true)) {
            main.post {
                guidancePosted.set(false)
                val g = lastGuidance
                if (g != null) ui?.render(g)
            }
        }
    }

    /** Records why the capture ends (the first reason wins) and closes the screen. */
    fun fail(e: SmartIdException) {
        lock.withLock { failLocked(e) }
    }

    private fun failLocked(e: SmartIdException) {
        if (finished || failure != null) return
        failure = e
        pending = null
        changed.signalAll()
        postFinish()
    }

    /** Capture thread (the facade closes its source): the capture is over; the screen finishes. Idempotent. */
    fun close() {
        lock.withLock {
            if (!finished) {
                finished = true
                pending = null
                changed.signalAll()
            }
        }
        end(this)
        postFinish()
    }

    /** Main thread: [ui] shows this capture from now on. Returns false when the capture is already over. */
    fun attach(ui: Ui): Boolean {
        lock.withLock {
            if (finished || failure != null) return false
            attachedOnce = true
            changed.signalAll()
        }
        this.ui = ui
        lastGuidance?.let { ui.render(it) }
        return true
    }

    /** Main thread: the screen is going away (onDestroy). */
    fun detach(ui: Ui) {
        if (this.ui === ui) this.ui = null
    }

    private fun postFinish() {
        main.post { ui?.finishCapture() }
    }

    companion object {
        /** docs/error-codes.md: the capture ran out of time; offer a retry. */
        private const val CAPTURE_TIMEOUT = 5001
        private const val START_TIMEOUT_MS = 15_000L
        private const val STALL_TIMEOUT_MS = 120_000L

        // Seeded with the uptime, so an activity restored after the process died does not carry the
        // id of a new process's capture.
        private val ids = AtomicLong(SystemClock.elapsedRealtime())
        private val registry = Any()

        // Guarded by registry. A bridge is no Activity: holding it statically leaks nothing.
        private var active: CaptureBridge? = null

        /** A new capture, or 4001 while another one is running (one camera screen at a time). */
        fun begin(): CaptureBridge = synchronized(registry) {
            val running = active
            if (running != null && !running.isOver) {
                throw SmartIdException("a capture is already running", SmartIdException.CONFIG_INVALID)
            }
            CaptureBridge(ids.incrementAndGet()).also { active = it }
        }

        /** The running capture with this id, if any (a screen restored for an old capture finds none). */
        fun find(id: Long): CaptureBridge? = synchronized(registry) { active?.takeIf { it.id == id } }

        private fun end(bridge: CaptureBridge) = synchronized(registry) {
            if (active === bridge) active = null
        }
    }
}
