package com.smartid.sdk

import java.nio.ByteBuffer

/**
 * Android's `YUV_420_888` camera image as the FFI's frame. Each plane of an `android.media.Image` has
 * its own row stride (rows may be padded) and pixel stride (1: planar; 2: the U and V planes are views
 * into one interleaved NV21/NV12 buffer), and the last row of a plane is often shorter than its stride.
 * The core takes contiguous planes, so the samples are copied into a packed I420 frame; the rotation
 * travels with the frame and the core applies it (no pixel is rotated here).
 *
 * Pure Kotlin on `ByteBuffer`s, no Android class: unit-tested on the JVM against the core's own
 * conversion, and called by the camera screen with `Image.getPlanes()`.
 */
object Yuv420888 {
    /** One plane of an `Image`: its buffer (read from its position, which is left unchanged) and strides. */
    class Plane(val buffer: ByteBuffer, val rowStride: Int, val pixelStride: Int)

    /**
     * Copies the three planes of a [width] × [height] image into a packed I420 [CameraFrame].
     *
     * @param rotationDegrees clockwise rotation that makes the image upright (see [rotationDegrees]).
     * @param timestampMs capture time on a monotonic clock (`Image.getTimestamp()` / 1e6).
     * @throws SmartIdException 1001 for odd or non-positive sizes, 1002 when a plane is too short for
     *   its strides or a stride is impossible, 1003 for a rotation that is not a multiple of 90.
     */
    @JvmStatic
    fun toFrame(
        width: Int,
        height: Int,
        y: Plane,
        u: Plane,
        v: Plane,
        rotationDegrees: Int,
        timestampMs: Long,
    ): CameraFrame {
        if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0 || width > MAX_SIDE || height > MAX_SIDE) {
            throw SmartIdException("YUV_420_888 frame size ${width}x$height: sides must be even and 2..$MAX_SIDE", FRAME_SIZE)
        }
        if (rotationDegrees !in ROTATIONS) {
            throw SmartIdException("rotation $rotationDegrees is not 0, 90, 180 or 270", FRAME_FORMAT)
        }
        val cw = width / 2
        val ch = height / 2
        val data = ByteArray(width * height + 2 * cw * ch)
        copyPlane("Y", y, width, height, data, 0)
        copyPlane("U", u, cw, ch, data, width * height)
        copyPlane("V", v, cw, ch, data, width * height + cw * ch)
        return CameraFrame(
            PixelFormat.I420,
            width.toUInt(),
            height.toUInt(),
            width.toUInt(),
            cw.toUInt(),
            rotationDegrees.toUInt(),
            timestampMs.coerceAtLeast(0).toULong(),
            data,
        )
    }

    /**
     * The clockwise rotation that makes a camera buffer upright on screen: the sensor's mounting
     * (`CameraCharacteristics.SENSOR_ORIENTATION`) combined with how the display is turned
     * (`Display.getRotation()` as degrees). Front-camera buffers are not mirrored (the core wants the
     * camera's own view, as in a recording), so the display turn adds for the front camera and subtracts
     * for the back one, as in Android's `JPEG_ORIENTATION` guidance.
     */
    @JvmStatic
    fun rotationDegrees(sensorOrientation: Int, displayRotationDegrees: Int, frontFacing: Boolean): Int {
        require(sensorOrientation in ROTATIONS) { "sensor orientation $sensorOrientation is not a multiple of 90" }
        require(displayRotationDegrees in ROTATIONS) { "display rotation $displayRotationDegrees is not a multiple of 90" }
        return if (frontFacing) {
            (sensorOrientation + displayRotationDegrees) % 360
        } else {
            (sensorOrientation - displayRotationDegrees + 360) % 360
        }
    }

    /** Copies a [w] × [h] plane sample by sample (row by row when samples are contiguous) into [out]. */
    private fun copyPlane(name: String, p: Plane, w: Int, h: Int, out: ByteArray, offset: Int) {
        if (p.pixelStride < 1 || p.rowStride < 1) {
            throw SmartIdException("$name plane: strides must be positive", FRAME_BUFFER)
        }
        val rowBytes = (w - 1).toLong() * p.pixelStride + 1
        if (p.rowStride < rowBytes) {
            throw SmartIdException("$name plane: row stride ${p.rowStride} < $rowBytes bytes of a row", FRAME_BUFFER)
        }
        // The last row needs only its own samples, not a whole stride.
        val needed = (h - 1).toLong() * p.rowStride + rowBytes
        val src = p.buffer.duplicate() // absolute reads; the caller's position and limit stay as they were
        val base = src.position()
        if (src.remaining() < needed) {
            throw SmartIdException("$name plane: ${src.remaining()} bytes, $needed needed for ${w}x$h", FRAME_BUFFER)
        }
        var o = offset
        if (p.pixelStride == 1) {
            for (row in 0 until h) {
                src.position(base + row * p.rowStride)
                src.get(out, o, w)
                o += w
            }
        } else {
            for (row in 0 until h) {
                var i = base + row * p.rowStride
                for (col in 0 until w) {
                    out[o++] = src.get(i)
                    i += p.pixelStride
                }
            }
        }
    }

    private val ROTATIONS = setOf(0, 90, 180, 270)

    /** The core's limit on a frame side (docs/error-codes.md, 1001). */
    private const val MAX_SIDE = 8192
    private const val FRAME_SIZE = 1001
    private const val FRAME_BUFFER = 1002
    private const val FRAME_FORMAT = 1003
}
