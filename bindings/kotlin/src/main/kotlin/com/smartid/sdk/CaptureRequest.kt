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
class CaptureRequest internal constructor(private val sdk: SmartId, private val context: Any?) {
    private var success: ((template: String, payload: String) -> Unit)? = null
    private var failure: ((message: String, errorCode: Int) -> Unit)? = null
    private var complete: ((Result<SealedCapture>) -> Unit)? = null
    private var guidance: ((Guidance) -> Unit)? = null
    private var frames: FrameSource? = null
    private val started = AtomicBoolean(false)
    private val cancelled = AtomicBoolean(false)

    @Volatile
    private var session: com.smartid.ffi.CaptureSession? = null

    fun onSuccess(block: (template: String, payload: String) -> Unit) = apply { success = block }

    fun onFailure(block: (message: String, errorCode: Int) -> Unit) = apply { failure = block }

    /** Every frame's guidance, on the capture thread (in addition to the configured listener). */
    fun onGuidance(block: (Guidance) -> Unit) = apply { guidance = block }

    /** Frames from this source instead of the configured one (recordings, custom cameras). */
    fun frames(source: FrameSource) = apply { frames = source }

    /** Both outcomes as one callback (used by the coroutine form). */
    internal fun onComplete(block: (Result<SealedCapture>) -> Unit) = apply { complete = block }

    /** Starts the capture on a background thread. A request starts once. */
    fun start(): CaptureRequest {
        check(started.compareAndSet(false, true)) { "this capture was already started" }
        val config = try {
            sdk.currentConfig()
        } catch (e: SmartIdException) {
            deliver(Executor { it.run() }, Result.failure(e))
            return this
        }
        val executor = config.callbackExecutor ?: MainThread.executor ?: Executor { it.run() }
        Thread({ deliver(executor, run(config)) }, "smartid-capture").apply { isDaemon = true }.start()
        return this
    }

    /** Stops the capture; `onFailure` then reports code 5005 (unless it already finished). */
    fun cancel() {
        cancelled.set(true)
        try {
            session?.cancel()
        } catch (_: com.smartid.ffi.SmartIdException) {
            // The capture thread reports the outcome.
        }
    }

    private fun run(config: SmartIdConfig): Result<SealedCapture> = try {
        val source = frames ?: config.frameSource?.invoke(context)
            ?: throw SmartIdException("no frame source: configure one or call frames()", SmartIdException.CONFIG_INVALID)
        source.use { capture(config, it) }
    } catch (t: Throwable) {
        Result.failure(SmartIdException.from(t))
    }

    private fun capture(config: SmartIdConfig, source: FrameSource): Result<SealedCapture> {
        val listeners = listOfNotNull(config.guidanceListener, guidance)
        val s = com.smartid.ffi.CaptureSession(
            sdk.engine(config),
            config.options(),
            SignalsAdapter(config.platformSignals),
            if (listeners.isEmpty()) null else ListenerAdapter { g -> listeners.forEach { it(g) } },
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

    private fun deliver(executor: Executor, outcome: Result<SealedCapture>) {
        executor.execute {
            // The app's callbacks must not take the SDK down with them: log and go on.
            try {
                complete?.invoke(outcome)
                outcome.fold(
                    { success?.invoke(it.template, it.payload) },
                    { e ->
                        val x = SmartIdException.from(e)
                        failure?.invoke(x.message ?: "capture failed", x.errorCode)
                    },
                )
            } catch (t: Throwable) {
                Logger.getLogger("smartid").log(Level.WARNING, "capture callback threw", t)
            }
        }
    }
}
