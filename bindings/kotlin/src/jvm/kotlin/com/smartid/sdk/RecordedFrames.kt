package com.smartid.sdk

import java.io.File
import java.io.InputStream
import javax.imageio.ImageIO

/**
 * Recorded frames for desktop testing (JVM only: it decodes images with `javax.imageio`): a folder of
 * PNG/JPEG frames in name order, or a YUV4MPEG2 (4:2:0) file. Timestamps advance at [fps].
 */
object RecordedFrames {
    private const val MAX_SIDE = 8192

    /** PNG/JPEG files of [dir] in name order, as RGB8 frames. */
    @JvmStatic
    @JvmOverloads
    fun folder(dir: File, fps: Double = 29.97): FrameSource {
        val files = dir.listFiles { f -> f.isFile && f.extension.lowercase() in setOf("png", "jpg", "jpeg") }
            ?.sortedBy { it.name }
            ?: throw SmartIdException("not a folder of frames: ${dir.name}", 1004)
        if (files.isEmpty()) throw SmartIdException("no PNG/JPEG frames in ${dir.name}", 1004)
        return object : FrameSource {
            private var index = 0

            override fun nextFrame(): CameraFrame? {
                val file = files.getOrNull(index) ?: return null
                val image = ImageIO.read(file) ?: throw SmartIdException("could not decode ${file.name}", 1004)
                val (w, h) = image.width to image.height
                val rgb = ByteArray(w * h * 3)
                for (y in 0 until h) for (x in 0 until w) {
                    val p = image.getRGB(x, y)
                    val o = (y * w + x) * 3
                    rgb[o] = (p shr 16).toByte()
                    rgb[o + 1] = (p shr 8).toByte()
                    rgb[o + 2] = p.toByte()
                }
                return CameraFrame(PixelFormat.RGB8, w.toUInt(), h.toUInt(), (w * 3).toUInt(), 0u, 0u, timestamp(index++, fps), rgb)
            }
        }
    }

    /** A YUV4MPEG2 file with 4:2:0 chroma, as I420 frames; [fps] defaults to the file's own rate. */
    @JvmStatic
    @JvmOverloads
    fun y4m(file: File, fps: Double? = null): FrameSource {
        val input = file.inputStream().buffered()
        val header = readLine(input) ?: throw SmartIdException("empty Y4M file", 1004)
        val fields = header.split(' ')
        if (fields.first() != "YUV4MPEG2") throw SmartIdException("not a YUV4MPEG2 file", 1004)
        var (w, h, rate) = Triple(0, 0, 29.97)
        for (f in fields.drop(1)) when {
            f.startsWith("W") -> w = f.drop(1).toIntOrNull() ?: 0
            f.startsWith("H") -> h = f.drop(1).toIntOrNull() ?: 0
            // Both parts positive: a zero rate would make every timestamp infinite.
            f.startsWith("F") -> f.drop(1).split(':').mapNotNull { it.toDoubleOrNull() }
                .takeIf { it.size == 2 && it[0] > 0 && it[1] > 0 }?.let { rate = it[0] / it[1] }
            // 8-bit 4:2:0 only (C420p10 and the like have 2-byte samples).
            f.startsWith("C") && f !in setOf("C420", "C420jpeg", "C420paldv", "C420mpeg2") ->
                throw SmartIdException("only 8-bit 4:2:0 Y4M is supported", 1003)
        }
        if (w !in 2..MAX_SIDE || h !in 2..MAX_SIDE || w % 2 != 0 || h % 2 != 0) {
            throw SmartIdException("Y4M size ${w}x$h is not supported", 1001)
        }
        val frameBytes = w * h * 3 / 2
        if (fps != null && fps <= 0.0) throw SmartIdException("fps must be positive", SmartIdException.CONFIG_INVALID)
        val step = fps ?: rate
        return object : FrameSource {
            private var index = 0

            override fun nextFrame(): CameraFrame? {
                val tag = readLine(input) ?: return null
                if (tag != "FRAME" && !tag.startsWith("FRAME ")) throw SmartIdException("malformed Y4M frame header", 1004)
                val data = input.readNBytes(frameBytes)
                if (data.size != frameBytes) throw SmartIdException("truncated Y4M frame", 1004)
                return CameraFrame(PixelFormat.I420, w.toUInt(), h.toUInt(), w.toUInt(), (w / 2).toUInt(), 0u, timestamp(index++, step), data)
            }

            override fun close() = input.close()
        }
    }

    private fun timestamp(index: Int, fps: Double) = (index * 1000.0 / fps).toLong().toULong()

    /** A header line (at most 256 bytes, as Y4M headers are), without the newline; null at the end. */
    private fun readLine(input: InputStream): String? {
        val sb = StringBuilder()
        while (true) {
            val b = input.read()
            if (b < 0) return if (sb.isEmpty()) null else sb.toString()
            if (b == '\n'.code) return sb.toString()
            if (sb.length >= 256) throw SmartIdException("Y4M header line too long", 1004)
            sb.append(b.toChar())
        }
    }
}
