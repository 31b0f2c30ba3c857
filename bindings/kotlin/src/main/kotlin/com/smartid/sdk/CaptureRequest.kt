package com.smartid.sdk

import java.util.concurrent.Executor
import java.util.concurrent.atomic.AtomicBoolean
import java.util.logging.Level
import java.util.logging.Logger

/**
 * One capture, configured with callbacks and started with [start]. The capture runs on its own thread;
 * `onSuccess` / `onFailure` run on the Android main thread (or the configured executor), exactly one of
 * them, exactly once.
 */
class CaptureRequest internal constructor(private val sdk: SmartId, context: Any?) {
    /** Dropped once the outcome is delivered: a screen keeping the request does not keep an Activity. */
    @Volatile
    private var context: Any? = context
    @Volatile
    private var success: ((template: String, payload: String) -> Unit)? = null
    @Volatile
    private var failure: ((message: String, errorCode: Int) -> Unit)? = null
    @Volatile
    private var complete: ((Result<SealedCapture>) -> Unit)? = null
    @Volatile
    private var guidance: ((Guidance) -> Unit)? = null
    @Volatile
    private var frames: FrameSource? = null
    @Volatile
    private var token: String? = null
    private val started = AtomicBoolean(false)
    private val cancelled = AtomicBoolean(false)

    @Volatile
    private var session: com.smartid.ffi.CaptureSession? = null

    /** The running capture's frame source, for [cancel] to wake. */
    @Volatile
    private var source: FrameSource? = null

    fun onSuccess(block: (template: String, payload: String) -> Unit) = apply { success = block }

    fun onFailure(block: (message: String, errorCode: Int) -> Unit) = apply { failure = block }

    /** Every frame's guidance, on the capture thread (in addition to the configured listener). */
    fun onGuidance(block: (Guidance) -> Unit) = apply { guidance = block }

    /** Frames from this source instead of the configured one (recordings, custom cameras). */
    fun frames(source: FrameSource) = apply { frames = source }

    /**
     * The capture token the bank's backend got from the server (`POST /api/kyc/session`) for this
     * capture: the server's challenges are asked, and the capture is accepted once, for that user.
     */
    fun captureToken(token: String) = apply { this.token = token }

    /** Both outcomes as one callback (used by the coroutine form). */
    internal fun onComplete(block: (Result<SealedCapture>) -> Unit) = apply { complete = block }

    /** Starts the capture on a background thread. A request starts once. Never calls back from here. */
    fun start(): CaptureRequest {
        check(started.compareAndSet(false, true)) { "this capture was already started" }
        Thread({
            val config = try {
                sdk.currentConfig()
            } catch (e: SmartIdException) {
                frames?.close()
                deliver(MainThread.executor ?: Executor { it.run() }, Result.failure(e))
                return@Thread
            }
            deliver(config.callbackExecutor ?: MainThread.executor ?: Executor { it.run() }, run(config))
        }, "smartid-capture").apply { isDaemon = true }.start()
        return this
    }

    /** Stops the capture; `onFailure` then reports code 5005 (unless it already finished). */
    fun cancel() {
        cancelled.set(true)
        try {
            session?.cancel()
        } catch (_: Throwable) {
            // Already finished or destroyed: the capture thread reports the outcome either way.
        }
        try {
            source?.cancel()
        } catch (_: Throwable) {
            // The source's own problem; the capture thread sees the flag at the next frame anyway.
        }
    }

    private fun run(config: SmartIdConfig): Result<SealedCapture> {
        var opened: FrameSource? = null
        return try {
            // A bad key fails now (7001), not after the user has done the whole capture; the models load
            // before the camera screen opens, not while the user looks at a preview without guidance.
            com.smartid.ffi.checkServerKey(config.serverPublicKey)
            val engine = sdk.engine(config)
            val source = frames ?: config.frameSource?.invoke(context) ?: PlatformDefaults.frameSource(context)
                ?: throw SmartIdException("no frame source: configure one or call frames()", SmartIdException.CONFIG_INVALID)
            opened = source
            this.source = source
            if (cancelled.get()) source.cancel()
            capture(config, engine, source)
        } catch (t: Throwable) {
            // One given with frames() but never reached is closed here too.
            (opened ?: frames)?.let { closeOnce(it) }
            Result.failure(SmartIdException.from(t))
        } finally {
            opened?.let { closeOnce(it) }
            source = null
            context = null
        }
    }

    private val sourceClosed = AtomicBoolean(false)

    /** Closes the capture's source once: before sealing (the camera screen goes), or at the end. */
    private fun closeOnce(source: FrameSource) {
        if (!sourceClosed.compareAndSet(false, true)) return
        try {
            source.close()
        } catch (t: Throwable) {
            Logger.getLogger("smartid").log(Level.WARNING, "frame source close threw", t)
        }
    }

    private fun capture(config: SmartIdConfig, engine: com.smartid.ffi.Engine, source: FrameSource): Result<SealedCapture> {
        val listeners = listOfNotNull(config.guidanceListener, guidance)
        val s = com.smartid.ffi.CaptureSession(
            engine,
            config.options(token, source.isLiveCamera),
            SignalsAdapter(signals(config)),
            if (listeners.isEmpty()) null else ListenerAdapter { g -> notifyAll(listeners, g) },
        )
        session = s
        try {
            if (cancelled.get()) s.cancel()
            while (!cancelled.get()) {
                val frame = source.nextFrame() ?: break
                val g = s.pushFrame(frame)
                source.onGuidance(g)
                if (g.step == Step.DONE || g.step == Step.FAILED) break
            }
            if (cancelled.get()) s.cancel()
            // The camera screen closes before sealing (which may wait seconds for an attestation): a
            // cancel pressed there could no longer change the outcome.
            closeOnce(source)
            val sealed = s.finish(config.serverPublicKey, config.lifetimeSeconds.toULong())
            try {
                return Result.success(SealedCapture(sealed.template(), sealed.payload(), sealed.summary()))
            } finally {
                sealed.destroy()
            }
        } finally {
            session = null
            s.destroy()
        }
    }

    /** The app's signals; when it configured none, the platform layer's (Android), else none. */
    private fun signals(config: SmartIdConfig): PlatformSignals =
        config.platformSignals.takeUnless { it === PlatformSignals.NONE }
            ?: PlatformDefaults.platformSignals(context)
            ?: PlatformSignals.NONE

    /** Every listener hears every guidance, even when one throws; the first error goes on to the FFI. */
    private fun notifyAll(listeners: List<(Guidance) -> Unit>, g: Guidance) {
        var first: Throwable? = null
        for (l in listeners) {
            try {
                l(g)
            } catch (t: Throwable) {
                if (first == null) first = t
            }
        }
        first?.let { throw it }
    }

    private fun deliver(executor: Executor, outcome: Result<SealedCapture>) {
        // The coroutine form resumes here on the capture thread: a blocked main thread cannot deadlock it.
        complete?.let { safely { it(outcome) } }
        val (onSuccess, onFailure) = success to failure
        // Released after delivery: a screen holding the request does not keep the app's closures alive.
        success = null
        failure = null
        complete = null
        guidance = null
        val callback = Runnable {
            safely {
                outcome.fold(
                    { onSuccess?.invoke(it.template, it.payload) },
                    { e ->
                        val x = SmartIdException.from(e)
                        onFailure?.invoke(x.message ?: "capture failed", x.errorCode)
                    },
                )
            }
        }
        try {
            executor.execute(callback)
        } catch (t: Throwable) {
            // A rejecting executor (shut down, or the main looper gone) must not lose the outcome.
            Logger.getLogger("smartid").log(Level.WARNING, "callback executor refused the callback", t)
            callback.run()
        }
    }

    /** The app's callbacks must not take the SDK down with them: log and go on. */
    private inline fun safely(block: () -> Unit) {
        try {
            block()
        } catch (t: Throwable) {
            Logger.getLogger("smartid").log(Level.WARNING, "capture callback threw", t)
        }
    }
}
