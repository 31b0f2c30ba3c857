package com.smartid.sdk

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/** The facade end to end on the JVM, against the real native library, models and recordings. */
class SmartIdTest {
    private val repo = File(System.getProperty("smartid.repo") ?: "../..")
    private val carphone = File(repo, "fixtures/faces/carphone")
    private val serverKey = com.smartid.ffi.testingServerKey("kotlin-test")
    private val callbacks = Executors.newSingleThreadExecutor { r -> Thread(r, "app-callbacks") }

    private fun config(
        fixed: List<ChallengeKind>? = listOf(ChallengeKind.BLINK),
        signals: PlatformSignals = PlatformSignals.NONE,
        policy: RaspPolicy = RaspPolicy.REPORT_ONLY,
        overrides: Map<Threat, RaspAction> = emptyMap(),
        challengeTimeoutMs: Long = 8_000,
        listener: ((Guidance) -> Unit)? = null,
    ) = SmartIdConfig(
        serverPublicKey = serverKey.publicText,
        models = Models.Folder(File(repo, "models")),
        raspPolicy = policy,
        raspOverrides = overrides,
        platformSignals = signals,
        fixedChallenges = fixed,
        challengeTimeoutMs = challengeTimeoutMs,
        guidanceListener = listener,
        callbackExecutor = callbacks,
    )

    /** What one capture delivered, waited for on the test thread. */
    private class Outcome {
        val done = CountDownLatch(1)
        val calls = AtomicInteger()

        @Volatile var template: String? = null
        @Volatile var payload: String? = null
        @Volatile var message: String? = null
        @Volatile var code: Int? = null
        @Volatile var thread: String? = null
    }

    private fun capture(config: SmartIdConfig, frames: FrameSource = RecordedFrames.folder(carphone)): Outcome {
        val out = Outcome()
        SmartId.getInstance().configure(config)
            .captureBiometric(null)
            .frames(frames)
            .onSuccess { template, payload ->
                out.template = template; out.payload = payload
                out.thread = Thread.currentThread().name; out.calls.incrementAndGet(); out.done.countDown()
            }
            .onFailure { message, errorCode ->
                out.message = message; out.code = errorCode
                out.thread = Thread.currentThread().name; out.calls.incrementAndGet(); out.done.countDown()
            }
            .start()
        assertTrue(out.done.await(180, TimeUnit.SECONDS), "the capture ends")
        Thread.sleep(50)
        assertEquals(1, out.calls.get(), "exactly one callback")
        return out
    }

    @Test
    fun `a recorded capture succeeds and the server opens what onSuccess delivered`() {
        val steps = mutableListOf<Step>()
        val out = capture(config(listener = { g -> synchronized(steps) { steps.add(g.step) } }))
        assertEquals(null, out.code, "no failure: ${out.message}")
        assertEquals("app-callbacks", out.thread, "callbacks run on the configured executor")
        val opened = com.smartid.ffi.testingOpenCapture(serverKey.privateText, out.template!!, out.payload!!)
        assertEquals(128u, opened.templateDim, "the default set's dlib embedder")
        assertTrue(opened.payloadJson.contains("\"status\":\"no_model\""), "no anti-spoof model, and the payload says so")
        assertTrue(opened.testMode, "fixed challenges are marked test_mode")
        assertTrue(opened.payloadJson.contains("\"blink\""), "the payload carries the passed blink")
        assertTrue(steps.containsAll(listOf(Step.POSITIONING, Step.CHALLENGE, Step.CAPTURING, Step.DONE)))
        // Swapping template and payload, or editing one character, does not open.
        assertThrows(com.smartid.ffi.SmartIdException::class.java) {
            com.smartid.ffi.testingOpenCapture(serverKey.privateText, out.payload!!, out.template!!)
        }
    }

    @Test
    fun `a capture token and the app's attestation are bound into the sealed capture`() {
        // SIDCT1 token text built here from docs/payload-format.md: nonce, expiry (LE), no challenges.
        val raw = java.nio.ByteBuffer.allocate(25).order(java.nio.ByteOrder.LITTLE_ENDIAN)
            .put(ByteArray(16) { 0x5a }).putLong(System.currentTimeMillis() / 1000 + 300).put(0).array()
        val token = "SIDCT1:" + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(raw)
        val signals = object : PlatformSignals {
            override fun attestationToken(requestHash: ByteArray) =
                "att:" + requestHash.joinToString("") { "%02x".format(it) }
        }
        val out = Outcome()
        SmartId.getInstance().configure(config(signals = signals))
            .captureBiometric(null)
            .captureToken(token)
            .frames(RecordedFrames.folder(carphone))
            .onSuccess { t, p -> out.template = t; out.payload = p; out.done.countDown() }
            .onFailure { m, c -> out.message = m; out.code = c; out.done.countDown() }
            .start()
        assertTrue(out.done.await(180, TimeUnit.SECONDS))
        assertEquals(null, out.code, "no failure: ${out.message}")
        val opened = com.smartid.ffi.testingOpenCapture(serverKey.privateText, out.template!!, out.payload!!)
        assertEquals("5a".repeat(16), opened.tokenNonce)
        assertTrue(opened.payloadJson.contains("\"att:${opened.attestationRequestHash}\""), "attested for this capture")
        assertEquals(4u, opened.evidenceFrames, "template frame + neutral/action/return of the blink")
    }

    @Test
    fun `the anti-spoof model set, chosen by its manifest file, measures passive liveness`() {
        val antispoof = config().copy(models = Models.Folder(File(repo, "models/manifest-antispoof.toml")))
        val out = capture(antispoof)
        assertEquals(null, out.code, "no failure: ${out.message}")
        val opened = com.smartid.ffi.testingOpenCapture(serverKey.privateText, out.template!!, out.payload!!)
        assertTrue(opened.payloadJson.contains("\"status\":\"measured\""), "passive scores in the payload")
        assertTrue(opened.payloadJson.contains("faceplugin/fr_liveness"), "the anti-spoof model is listed")
    }

    @Test
    fun `a recording that never turns fails the challenge with 5002`() {
        val out = capture(config(fixed = listOf(ChallengeKind.TURN_LEFT), challengeTimeoutMs = 2_000))
        assertEquals(5002, out.code)
        assertTrue(out.message!!.contains("turn-left"), out.message)
        assertEquals(null, out.template)
    }

    @Test
    fun `a hooking framework reported mid-capture fails it with 6001`() {
        val calls = AtomicInteger()
        val signals = object : PlatformSignals {
            // Clean at the start and at the step change into the challenge, then the platform layer sees
            // Xposed. The recording never turns left, so no later step change happens: only the
            // session's random re-checks can catch it (otherwise the frames run out: 5006).
            override fun instrumentation() = if (calls.incrementAndGet() > 2) listOf("xposed") else emptyList()
        }
        // Report everything (this test machine is a VM), block hooking as the mobile policy does.
        val out = capture(
            config(
                fixed = listOf(ChallengeKind.TURN_LEFT),
                challengeTimeoutMs = 60_000,
                signals = signals,
                overrides = mapOf(Threat.HOOKING to RaspAction.BLOCK),
            ),
        )
        assertEquals(6001, out.code, out.message)
        assertTrue(out.message!!.contains("hooking"), out.message)
    }

    @Test
    fun `a malformed frame fails with 1002`() {
        val bad = object : FrameSource {
            override fun nextFrame() =
                CameraFrame(PixelFormat.NV21, 176u, 144u, 176u, 176u, 0u, 0u, ByteArray(100))
        }
        val out = capture(config(), bad)
        assertEquals(1002, out.code, out.message)
    }

    @Test
    fun `a Rust panic arrives as an exception and the JVM lives on`() {
        val e = assertThrows(com.smartid.ffi.SmartIdException.Internal::class.java) { com.smartid.ffi.testingPanic() }
        assertEquals(9001u, e.code)
        assertFalse(e.detail.contains("forced panic"), "no panic text crosses: ${e.detail}")
        // Still usable afterwards.
        assertNotNull(SmartId.version())
    }

    @Test
    fun `exceptions thrown in the app's callbacks do not break the capture`() {
        val throwingSignals = object : PlatformSignals {
            override fun buildProperties(): Map<String, String> = throw IllegalStateException("app bug")
            override fun vpnActive(): Boolean? = throw IllegalStateException("app bug")
        }
        val listenerCalls = AtomicInteger()
        val out = capture(
            config(signals = throwingSignals, listener = { listenerCalls.incrementAndGet(); throw RuntimeException("app bug") }),
        )
        assertEquals(null, out.code, "no failure: ${out.message}")
        assertNotNull(out.template)
        assertTrue(listenerCalls.get() > 40, "the listener kept being called")
    }

    @Test
    fun `cancel reports 5005 once`() {
        val latch = CountDownLatch(1)
        val out = Outcome()
        val request = SmartId.getInstance().configure(config())
            .captureBiometric(null)
            .frames(RecordedFrames.folder(carphone))
            .onGuidance { latch.countDown() }
            .onFailure { m, c -> out.message = m; out.code = c; out.calls.incrementAndGet(); out.done.countDown() }
            .onSuccess { _, _ -> out.calls.incrementAndGet(); out.done.countDown() }
            .start()
        assertTrue(latch.await(60, TimeUnit.SECONDS))
        request.cancel()
        assertTrue(out.done.await(60, TimeUnit.SECONDS))
        Thread.sleep(50)
        assertEquals(1, out.calls.get())
        assertEquals(5005, out.code)
    }

    @Test
    fun `cancel wakes a source blocked waiting for its first frame (a camera asking permission)`() {
        val waiting = CountDownLatch(1)
        val woken = CountDownLatch(1)
        val closed = AtomicInteger()
        val camera = object : FrameSource {
            override fun nextFrame(): CameraFrame? {
                waiting.countDown()
                // Blocks like the camera screen before it has a frame; only cancel() releases it.
                if (!woken.await(120, TimeUnit.SECONDS)) return null
                throw SmartIdException("capture cancelled", SmartIdException.CANCELLED)
            }

            override fun cancel() = woken.countDown()

            override fun close() {
                closed.incrementAndGet()
            }
        }
        val out = Outcome()
        val request = SmartId.getInstance().configure(config())
            .captureBiometric(null)
            .frames(camera)
            .onFailure { m, c -> out.message = m; out.code = c; out.calls.incrementAndGet(); out.done.countDown() }
            .onSuccess { _, _ -> out.calls.incrementAndGet(); out.done.countDown() }
            .start()
        assertTrue(waiting.await(60, TimeUnit.SECONDS))
        request.cancel()
        assertTrue(out.done.await(10, TimeUnit.SECONDS), "cancel ends a blocked capture at once")
        assertEquals(5005, out.code)
        assertEquals(1, closed.get(), "the source is closed once")
    }

    @Test
    fun `models given as bytes are equal by content, so configuring again does not reload them`() {
        val a = Models.Files("m", mapOf("x.onnx" to byteArrayOf(1, 2, 3)))
        assertEquals(a, Models.Files("m", mapOf("x.onnx" to byteArrayOf(1, 2, 3))))
        assertFalse(a == Models.Files("m", mapOf("x.onnx" to byteArrayOf(1, 2, 4))))
        assertFalse(a == Models.Files("n", mapOf("x.onnx" to byteArrayOf(1, 2, 3))))
    }

    @Test
    fun `the coroutine form returns the sealed pair`() {
        SmartId.getInstance().configure(config())
        val sealed = runBlocking { SmartId.getInstance().captureBiometric(null, RecordedFrames.folder(carphone)) }
        assertEquals(listOf(ChallengeKind.BLINK), sealed.summary.challengesPassed)
        com.smartid.ffi.testingOpenCapture(serverKey.privateText, sealed.template, sealed.payload)
        val failure = assertThrows(SmartIdException::class.java) {
            runBlocking {
                SmartId.getInstance().configure(config(fixed = listOf(ChallengeKind.SMILE), challengeTimeoutMs = 1_000))
                SmartId.getInstance().captureBiometric(null, RecordedFrames.folder(carphone))
            }
        }
        assertEquals(5002, failure.errorCode)
    }

    @Test
    fun `a bad server key or models fail with their codes`() {
        val badKey = capture(config().copy(serverPublicKey = "SIDPK1:k:AAAA"))
        assertEquals(7001, badKey.code, badKey.message)
        val noModels = capture(config().copy(models = Models.Folder(File(repo, "no-such-dir"))))
        assertEquals(2002, noModels.code, noModels.message)
    }

    @Test
    fun `Y4M recordings are read and bad ones refused`() {
        val dir = kotlin.io.path.createTempDirectory("y4m").toFile()
        val good = File(dir, "grey.y4m")
        good.outputStream().use { o ->
            o.write("YUV4MPEG2 W4 H2 F30:1 C420jpeg\n".toByteArray())
            repeat(2) { o.write("FRAME\n".toByteArray()); o.write(ByteArray(12) { 100 }) }
        }
        val source = RecordedFrames.y4m(good)
        val first = source.nextFrame()!!
        assertEquals(PixelFormat.I420, first.format)
        assertEquals(12, first.data.size)
        assertEquals(33uL, source.nextFrame()!!.timestampMs)
        assertEquals(null, source.nextFrame())
        val truncated = File(dir, "cut.y4m")
        truncated.writeBytes(good.readBytes().copyOf(good.length().toInt() - 5))
        val cut = RecordedFrames.y4m(truncated)
        cut.nextFrame()
        assertEquals(1004, assertThrows(SmartIdException::class.java) { cut.nextFrame() }.errorCode)
        File(dir, "ten.y4m").writeText("YUV4MPEG2 W4 H2 F30:1 C420p10\n")
        assertEquals(1003, assertThrows(SmartIdException::class.java) { RecordedFrames.y4m(File(dir, "ten.y4m")) }.errorCode)
        File(dir, "not.y4m").writeText("RIFF....\n")
        assertEquals(1004, assertThrows(SmartIdException::class.java) { RecordedFrames.y4m(File(dir, "not.y4m")) }.errorCode)
        dir.deleteRecursively()
    }

    @Test
    fun `the log sink gets lifecycle lines and never the sealed data`() {
        val lines = java.util.Collections.synchronizedList(mutableListOf<String>())
        SmartIdLog.install(LogLevel.DEBUG) { _, target, message -> lines.add("$target: $message") }
        try {
            val out = capture(config())
            assertEquals(null, out.code, out.message)
            assertTrue(lines.any { it.contains("started") } && lines.any { it.contains("sealed") }, lines.toString())
            val sealed = listOf(out.template!!, out.payload!!).map { it.substring(60, 100) }
            assertTrue(lines.none { l -> sealed.any { l.contains(it) } }, "no sealed bytes in the log")
        } finally {
            SmartIdLog.installDefault(LogLevel.WARN)
        }
    }
}
