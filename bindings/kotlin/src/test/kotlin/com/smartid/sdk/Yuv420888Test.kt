package com.smartid.sdk

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.ByteBuffer
import javax.imageio.ImageIO
import kotlin.math.abs
import kotlin.math.roundToInt

/**
 * The Android camera screen's YUV_420_888 → FFI frame conversion, checked against the core's own
 * conversion (what the models see) on a real photo, in the plane layouts phones produce.
 */
class Yuv420888Test {
    private val repo = File(System.getProperty("smartid.repo") ?: "../..")

    /** A real face photo, cropped to even sides, as upright RGB. */
    private class Rgb(val w: Int, val h: Int, val px: ByteArray)

    private val photo: Rgb by lazy {
        val img = ImageIO.read(File(repo, "fixtures/faces/stills/obama.jpg"))
        val w = img.width and 1.inv()
        val h = img.height and 1.inv()
        val px = ByteArray(w * h * 3)
        for (y in 0 until h) for (x in 0 until w) {
            val p = img.getRGB(x, y)
            val o = (y * w + x) * 3
            px[o] = (p shr 16).toByte(); px[o + 1] = (p shr 8).toByte(); px[o + 2] = p.toByte()
        }
        Rgb(w, h, px)
    }

    /** The upright image turned counter-clockwise by [deg]: what a sensor mounted at [deg] delivers. */
    private fun sensorView(img: Rgb, deg: Int): Rgb {
        val (w, h) = if (deg % 180 == 0) img.w to img.h else img.h to img.w
        val out = ByteArray(w * h * 3)
        for (y in 0 until h) for (x in 0 until w) {
            // Rotating the sensor image clockwise by deg gives back the upright one.
            val (ux, uy) = when (deg) {
                0 -> x to y
                90 -> (h - 1 - y) to x
                180 -> (w - 1 - x) to (h - 1 - y)
                else -> y to (w - 1 - x)
            }
            System.arraycopy(img.px, (uy * img.w + ux) * 3, out, (y * w + x) * 3, 3)
        }
        return Rgb(w, h, out)
    }

    /** Full-range BT.601 4:2:0 samples of [img] (chroma from the top-left pixel of each 2×2 block). */
    private class Yuv(val w: Int, val h: Int, val y: ByteArray, val u: ByteArray, val v: ByteArray)

    private fun toYuv(img: Rgb): Yuv {
        val cw = img.w / 2
        val ch = img.h / 2
        val y = ByteArray(img.w * img.h)
        val u = ByteArray(cw * ch)
        val v = ByteArray(cw * ch)
        fun c(i: Int) = img.px[i].toInt() and 0xff
        for (row in 0 until img.h) for (col in 0 until img.w) {
            val o = (row * img.w + col) * 3
            val (r, g, b) = Triple(c(o), c(o + 1), c(o + 2))
            y[row * img.w + col] = clamp(0.299 * r + 0.587 * g + 0.114 * b)
            if (row % 2 == 0 && col % 2 == 0) {
                u[(row / 2) * cw + col / 2] = clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + 128)
                v[(row / 2) * cw + col / 2] = clamp(0.5 * r - 0.418688 * g - 0.081312 * b + 128)
            }
        }
        return Yuv(img.w, img.h, y, u, v)
    }

    private fun clamp(x: Double) = x.roundToInt().coerceIn(0, 255).toByte()

    /** A plane as Camera2 lays it out: rows [rowStride] apart, samples [pixelStride] apart, last row short. */
    private fun plane(samples: ByteArray, w: Int, h: Int, rowStride: Int, pixelStride: Int, into: ByteArray? = null, at: Int = 0): ByteArray {
        val buf = into ?: ByteArray((h - 1) * rowStride + (w - 1) * pixelStride + 1).also { it.fill(0x5a) }
        for (r in 0 until h) for (c in 0 until w) buf[at + r * rowStride + c * pixelStride] = samples[r * w + c]
        return buf
    }

    /** The three planes of [yuv] in one of the layouts phones produce. */
    private fun planes(yuv: Yuv, rowPad: Int, interleaved: Boolean): Triple<Yuv420888.Plane, Yuv420888.Plane, Yuv420888.Plane> {
        val yStride = yuv.w + rowPad
        val y = Yuv420888.Plane(ByteBuffer.wrap(plane(yuv.y, yuv.w, yuv.h, yStride, 1)), yStride, 1)
        val cw = yuv.w / 2
        val ch = yuv.h / 2
        if (!interleaved) {
            val cs = cw + rowPad / 2
            return Triple(
                y,
                Yuv420888.Plane(ByteBuffer.wrap(plane(yuv.u, cw, ch, cs, 1)), cs, 1),
                Yuv420888.Plane(ByteBuffer.wrap(plane(yuv.v, cw, ch, cs, 1)), cs, 1),
            )
        }
        // NV21 in memory (V U V U …), exposed as Android does: V's buffer starts at the shared block,
        // U's one byte later, both with pixel stride 2 and the luma row stride.
        val shared = ByteArray((ch - 1) * yStride + (cw - 1) * 2 + 2).also { it.fill(0x5a) }
        plane(yuv.v, cw, ch, yStride, 2, shared, 0)
        plane(yuv.u, cw, ch, yStride, 2, shared, 1)
        val uBuf = ByteBuffer.wrap(shared).also { it.position(1) }.slice()
        val vBuf = ByteBuffer.wrap(shared, 0, shared.size - 1).slice()
        return Triple(y, Yuv420888.Plane(uBuf, yStride, 2), Yuv420888.Plane(vBuf, yStride, 2))
    }

    /** The same samples as a tightly packed I420 frame, built directly. */
    private fun packedI420(yuv: Yuv, rotation: Int) = CameraFrame(
        PixelFormat.I420, yuv.w.toUInt(), yuv.h.toUInt(), yuv.w.toUInt(), (yuv.w / 2).toUInt(),
        rotation.toUInt(), 0u, yuv.y + yuv.u + yuv.v,
    )

    @Test
    fun `every phone plane layout and rotation gives the core exactly the picture packed I420 gives`() {
        for (rotation in listOf(0, 90, 180, 270)) {
            val yuv = toYuv(sensorView(photo, rotation))
            val reference = com.smartid.ffi.testingFrameRgb(packedI420(yuv, rotation))
            // Upright: the core's picture is the photo again (up to 4:2:0 chroma and rounding).
            assertEquals(photo.w.toUInt() to photo.h.toUInt(), reference.width to reference.height, "rotation $rotation")
            var diff = 0L
            for (i in photo.px.indices) diff += abs((photo.px[i].toInt() and 0xff) - (reference.rgb[i].toInt() and 0xff))
            val mean = diff.toDouble() / photo.px.size
            assertTrue(mean < 4.0, "rotation $rotation: mean difference $mean from the upright photo")
            for ((pad, interleaved) in listOf(0 to false, 64 to false, 0 to true, 96 to true)) {
                val (y, u, v) = planes(yuv, pad, interleaved)
                val frame = Yuv420888.toFrame(yuv.w, yuv.h, y, u, v, rotation, 1234)
                assertEquals(1234uL, frame.timestampMs)
                val got = com.smartid.ffi.testingFrameRgb(frame)
                assertArrayEquals(reference.rgb, got.rgb, "rotation $rotation, row padding $pad, interleaved $interleaved")
                // The caller's buffers are read, not moved.
                assertEquals(0, y.buffer.position())
            }
        }
    }

    @Test
    fun `swapped chroma planes would be caught`() {
        // The check above must be able to fail: U and V exchanged give another picture.
        val yuv = toYuv(photo)
        val (y, u, v) = planes(yuv, 0, false)
        val swapped = com.smartid.ffi.testingFrameRgb(Yuv420888.toFrame(yuv.w, yuv.h, y, v, u, 0, 0))
        val reference = com.smartid.ffi.testingFrameRgb(packedI420(yuv, 0))
        assertTrue(!swapped.rgb.contentEquals(reference.rgb))
    }

    @Test
    fun `the rotation follows the sensor mounting and the display turn`() {
        // A typical front camera (sensor at 270) in portrait needs 270; a back camera (90) needs 90.
        assertEquals(270, Yuv420888.rotationDegrees(270, 0, frontFacing = true))
        assertEquals(90, Yuv420888.rotationDegrees(90, 0, frontFacing = false))
        // Display turned 90 (landscape): the front camera's turn adds, the back camera's subtracts.
        assertEquals(0, Yuv420888.rotationDegrees(270, 90, frontFacing = true))
        assertEquals(0, Yuv420888.rotationDegrees(90, 90, frontFacing = false))
        assertEquals(180, Yuv420888.rotationDegrees(270, 270, frontFacing = true))
        assertEquals(180, Yuv420888.rotationDegrees(90, 270, frontFacing = false))
        assertThrows(IllegalArgumentException::class.java) { Yuv420888.rotationDegrees(45, 0, true) }
    }

    @Test
    fun `malformed planes fail with the frame codes, never out of bounds`() {
        val yuv = toYuv(photo)
        val (y, u, v) = planes(yuv, 0, false)
        fun code(block: () -> Unit) = assertThrows(SmartIdException::class.java) { block() }.errorCode
        assertEquals(1001, code { Yuv420888.toFrame(yuv.w - 1, yuv.h, y, u, v, 0, 0) })
        assertEquals(1001, code { Yuv420888.toFrame(0, yuv.h, y, u, v, 0, 0) })
        assertEquals(1003, code { Yuv420888.toFrame(yuv.w, yuv.h, y, u, v, 45, 0) })
        // A plane one byte short of its last row, a row stride under the width, a zero pixel stride.
        val short = Yuv420888.Plane(ByteBuffer.wrap(yuv.y, 0, yuv.y.size - 1).slice(), yuv.w, 1)
        assertEquals(1002, code { Yuv420888.toFrame(yuv.w, yuv.h, short, u, v, 0, 0) })
        assertEquals(1002, code { Yuv420888.toFrame(yuv.w, yuv.h, Yuv420888.Plane(y.buffer, yuv.w - 1, 1), u, v, 0, 0) })
        assertEquals(1002, code { Yuv420888.toFrame(yuv.w, yuv.h, y, Yuv420888.Plane(u.buffer, u.rowStride, 0), v, 0, 0) })
        // A chroma plane with pixel stride 2 but a buffer only big enough for stride 1.
        assertEquals(1002, code { Yuv420888.toFrame(yuv.w, yuv.h, y, Yuv420888.Plane(u.buffer, yuv.w, 2), v, 0, 0) })
    }
}
