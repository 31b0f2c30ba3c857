package com.smartid.sdk.android

import android.graphics.ImageFormat
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraAccessException
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CameraMetadata
import android.hardware.camera2.CaptureRequest
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.os.SystemClock
import android.util.Log
import android.util.Size
import android.view.Surface
import com.smartid.sdk.CameraFrame
import com.smartid.sdk.SmartIdException
import com.smartid.sdk.Yuv420888
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.math.abs

/**
 * What the capture needs to know about the front camera, read once per screen from its
 * characteristics.
 *
 * @property frameSize the `YUV_420_888` size the core analyses (near 640×480, at most 1280×720).
 * @property previewSize the preview's size, same aspect as [frameSize] when the camera offers one, so
 *   the user sees what is analysed.
 * @property realtimeTimestamps `SENSOR_INFO_TIMESTAMP_SOURCE` is REALTIME: image timestamps are on the
 *   `elapsedRealtimeNanos` clock.
 */
internal class CameraSpec(
    val id: String,
    val sensorOrientation: Int,
    val frameSize: Size,
    val previewSize: Size,
    val continuousVideoAf: Boolean,
    val facePriority: Boolean,
    val realtimeTimestamps: Boolean,
) {
    companion object {
        private const val TARGET_AREA = 640 * 480
        private const val MAX_FRAME_LONG = 1280
        private const val MAX_FRAME_SHORT = 720
        private const val MAX_PREVIEW_LONG = 1920
        private const val MAX_PREVIEW_SHORT = 1080

        /**
         * The first front camera that delivers `YUV_420_888`.
         *
         * @throws SmartIdException 5009 when there is none.
         * @throws CameraAccessException when the camera service cannot be asked.
         */
        fun frontCamera(manager: CameraManager): CameraSpec {
            for (id in manager.cameraIdList) {
                val c = manager.getCameraCharacteristics(id)
                if (c.get(CameraCharacteristics.LENS_FACING) != CameraMetadata.LENS_FACING_FRONT) continue
                val map = c.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP) ?: continue
                val yuv = map.getOutputSizes(ImageFormat.YUV_420_888)?.toList().orEmpty()
                val frame = frameSize(yuv) ?: continue
                val previews = map.getOutputSizes(SurfaceTexture::class.java)?.toList().orEmpty()
                val afModes = c.get(CameraCharacteristics.CONTROL_AF_AVAILABLE_MODES) ?: IntArray(0)
                val sceneModes = c.get(CameraCharacteristics.CONTROL_AVAILABLE_SCENE_MODES) ?: IntArray(0)
                val orientation = c.get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 0
                return CameraSpec(
                    id = id,
                    sensorOrientation = if (orientation % 90 == 0) (orientation % 360 + 360) % 360 else 0,
                    frameSize = frame,
                    previewSize = previewSize(previews, frame),
                    continuousVideoAf = CameraMetadata.CONTROL_AF_MODE_CONTINUOUS_VIDEO in afModes,
                    facePriority = CameraMetadata.CONTROL_SCENE_MODE_FACE_PRIORITY in sceneModes,
                    realtimeTimestamps = c.get(CameraCharacteristics.SENSOR_INFO_TIMESTAMP_SOURCE) ==
                        CameraMetadata.SENSOR_INFO_TIMESTAMP_SOURCE_REALTIME,
                )
            }
            throw SmartIdException("this device has no usable front camera", SmartIdException.CAMERA_UNAVAILABLE)
        }

        /** Even sides (I420 needs them), at most 1280×720, the area nearest 640×480, then nearest 4:3. */
        internal fun frameSize(sizes: List<Size>): Size? {
            val even = sizes.filter { it.width >= 2 && it.height >= 2 && it.width % 2 == 0 && it.height % 2 == 0 }
            val capped = even.filter {
                maxOf(it.width, it.height) <= MAX_FRAME_LONG && minOf(it.width, it.height) <= MAX_FRAME_SHORT
            }
            return capped.minWithOrNull(
                compareBy<Size>({ abs(it.width * it.height - TARGET_AREA) }, { abs(it.width * 3 - it.height * 4) }),
            ) ?: even.minByOrNull { it.width.toLong() * it.height } // a camera with only large sizes: its smallest
        }

        /** The largest preview size of [frame]'s aspect within 1920×1080; else [frame] itself. */
        internal fun previewSize(sizes: List<Size>, frame: Size): Size {
            val aspect = frame.width.toDouble() / frame.height
            return sizes
                .filter { maxOf(it.width, it.height) <= MAX_PREVIEW_LONG && minOf(it.width, it.height) <= MAX_PREVIEW_SHORT }
                .filter { abs(it.width.toDouble() / it.height - aspect) < 0.01 }
                .maxByOrNull { it.width.toLong() * it.height }
                ?: frame
        }
    }
}

/**
 * One opening of the front camera (Camera2, framework only): a preview into the screen's
 * [SurfaceTexture] and `YUV_420_888` frames from an [ImageReader] (3 buffers) in one capture session
 * with a repeating `TEMPLATE_PREVIEW` request.
 *
 * Threads: everything camera-related (opening, the device and session callbacks, image conversion,
 * releasing) runs on this session's own [HandlerThread], so the reader is never closed while an image
 * is being read. The main thread only calls [start], [stop] and sets [displayRotationDegrees]. A
 * session is used once: the screen makes a new one on every resume.
 */
internal class CameraSession(
    private val manager: CameraManager,
    private val spec: CameraSpec,
    private val texture: SurfaceTexture,
    displayRotationDegrees: Int,
    private val listener: Listener,
) {
    /** Called on the camera thread. */
    interface Listener {
        fun onFrame(frame: CameraFrame)

        /** Frames keep failing to convert (a camera delivering malformed buffers). */
        fun onFrameError(e: SmartIdException)

        /**
         * The camera could not be opened, was disconnected or failed; [session] has released
         * everything and is finished. [permission] is true when the camera permission was missing.
         */
        fun onCameraLost(session: CameraSession, reason: String, permission: Boolean)
    }

    /** How the display is turned (0, 90, 180, 270): the frames' rotation follows it. */
    @Volatile
    var displayRotationDegrees: Int = displayRotationDegrees

    private val thread = HandlerThread("smartid-camera").apply { start() }
    private val handler = Handler(thread.looper)

    /** Set by [stop] (main thread) or a loss (camera thread): nothing new is started after it. */
    @Volatile
    private var closed = false
    private var stopped = false // main thread

    // Camera thread only.
    private var openPending = false
    private var closing: CountDownLatch? = null
    private var device: CameraDevice? = null
    private var session: CameraCaptureSession? = null
    private var reader: ImageReader? = null
    private var preview: Surface? = null
    private var badFrames = 0

    /** Main thread: opens the camera (asynchronously, on the camera thread). */
    fun start() {
        handler.post { open() }
    }

    /**
     * Main thread (onPause): closes the session, the device and the reader, and waits briefly until
     * that is under way, so the camera is being released before the screen is paused. An open still in
     * flight is closed as soon as the camera service answers it. The thread ends once the device
     * reports it is closed (the next session's open waits for that, on its own thread).
     */
    fun stop() {
        if (stopped) return
        stopped = true
        closed = true
        val released = CountDownLatch(1)
        val posted = handler.post {
            release()
            released.countDown()
            quitWhenIdle()
        }
        if (!posted) return // the thread already ended (the camera was lost)
        try {
            released.await(STOP_WAIT_MS, TimeUnit.MILLISECONDS)
        } catch (_: InterruptedException) {
            Thread.currentThread().interrupt()
        }
    }

    private fun open() {
        if (closed) return
        // The previous screen's camera may still be closing (a rotation, a quick pause and resume):
        // opening before its onClosed can fail to connect the preview surface.
        val previous = previousClose
        if (previous != null) {
            val deadline = SystemClock.elapsedRealtime() + PREVIOUS_CLOSE_WAIT_MS
            try {
                // In slices, so a stop() meanwhile is not kept waiting behind this.
                var done = false
                while (!done && !closed && SystemClock.elapsedRealtime() < deadline) {
                    done = previous.await(WAIT_SLICE_MS, TimeUnit.MILLISECONDS)
                }
            } catch (_: InterruptedException) {
                Thread.currentThread().interrupt()
            }
        }
        if (closed) return
        openPending = true
        try {
            manager.openCamera(spec.id, deviceCallback, handler)
        } catch (e: CameraAccessException) {
            openPending = false
            lost("the camera could not be opened (${e.reason})", permission = false)
        } catch (_: SecurityException) {
            openPending = false
            lost("the camera permission is missing", permission = true)
        } catch (e: IllegalArgumentException) {
            openPending = false
            lost("the camera could not be opened (${e.javaClass.simpleName})", permission = false)
        }
    }

    private val deviceCallback = object : CameraDevice.StateCallback() {
        override fun onOpened(camera: CameraDevice) {
            openPending = false
            if (closed) {
                // stop() ran while the open was in flight: release the camera now.
                closeDevice(camera)
                return
            }
            device = camera
            createSession(camera)
        }

        override fun onDisconnected(camera: CameraDevice) {
            // Another client with higher priority took the camera, or it was unplugged.
            ended(camera, "the camera was disconnected")
        }

        override fun onError(camera: CameraDevice, error: Int) {
            ended(camera, "camera error ${errorName(error)}")
        }

        override fun onClosed(camera: CameraDevice) {
            closing?.countDown()
            closing = null
            quitWhenIdle()
        }
    }

    private fun ended(camera: CameraDevice, reason: String) {
        openPending = false
        if (device === camera) device = null
        closeDevice(camera)
        if (!closed) lost(reason, permission = false)
    }

    /** Camera thread: closes [camera]; its onClosed releases the next session's open and ends this thread. */
    private fun closeDevice(camera: CameraDevice) {
        if (closing == null) {
            val latch = CountDownLatch(1)
            closing = latch
            previousClose = latch
            // Should onClosed never come, neither the next open nor this thread waits for it forever.
            handler.postDelayed({
                latch.countDown()
                if (closing === latch) closing = null
                quitWhenIdle()
            }, PREVIOUS_CLOSE_WAIT_MS)
        }
        runCatchingState { camera.close() }
    }

    /** Camera thread: ends the thread once stopped and nothing is in flight (an open, a device closing). */
    private fun quitWhenIdle() {
        if (closed && !openPending && closing == null) thread.quitSafely()
    }

    private fun createSession(camera: CameraDevice) {
        try {
            val frames = ImageReader.newInstance(spec.frameSize.width, spec.frameSize.height, ImageFormat.YUV_420_888, MAX_IMAGES)
            frames.setOnImageAvailableListener({ onImage(it) }, handler)
            reader = frames
            texture.setDefaultBufferSize(spec.previewSize.width, spec.previewSize.height)
            val surface = Surface(texture)
            preview = surface
            // SessionConfiguration is API 28; this form is the one API 23 has.
            @Suppress("DEPRECATION")
            camera.createCaptureSession(listOf(surface, frames.surface), sessionCallback, handler)
        } catch (e: CameraAccessException) {
            lost("the capture session could not be created (${e.reason})", permission = false)
        } catch (e: IllegalStateException) {
            // The device was closed meanwhile (disconnect or error already reported), or the preview
            // texture was released.
            if (!closed) lost("the capture session could not be created", permission = false)
        } catch (e: IllegalArgumentException) {
            lost("the capture session could not be created (${e.javaClass.simpleName})", permission = false)
        }
    }

    private val sessionCallback = object : CameraCaptureSession.StateCallback() {
        override fun onConfigured(s: CameraCaptureSession) {
            val camera = device
            val surface = preview
            val frames = reader
            if (closed || camera == null || surface == null || frames == null) {
                s.close()
                return
            }
            session = s
            try {
                val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                    addTarget(surface)
                    addTarget(frames.surface)
                    if (spec.facePriority) {
                        // Exposure and white balance metered on faces; AE/AF/AWB modes stay active
                        // in this scene mode (CaptureRequest.CONTROL_SCENE_MODE).
                        set(CaptureRequest.CONTROL_MODE, CameraMetadata.CONTROL_MODE_USE_SCENE_MODE)
                        set(CaptureRequest.CONTROL_SCENE_MODE, CameraMetadata.CONTROL_SCENE_MODE_FACE_PRIORITY)
                    } else {
                        set(CaptureRequest.CONTROL_MODE, CameraMetadata.CONTROL_MODE_AUTO)
                    }
                    if (spec.continuousVideoAf) {
                        set(CaptureRequest.CONTROL_AF_MODE, CameraMetadata.CONTROL_AF_MODE_CONTINUOUS_VIDEO)
                    }
                }
                s.setRepeatingRequest(request.build(), null, handler)
            } catch (e: CameraAccessException) {
                lost("the preview could not start (${e.reason})", permission = false)
            } catch (_: IllegalStateException) {
                if (!closed) lost("the preview could not start", permission = false)
            }
        }

        override fun onConfigureFailed(s: CameraCaptureSession) {
            s.close()
            if (!closed) lost("the camera refused the preview and frame streams", permission = false)
        }
    }

    private fun onImage(source: ImageReader) {
        val image = try {
            source.acquireLatestImage()
        } catch (_: IllegalStateException) {
            null // the reader is closing, or all buffers are still held
        } ?: return
        try {
            if (closed) return
            val planes = image.planes
            if (planes.size < 3) return
            // With a REALTIME source the sensor timestamp is on elapsedRealtimeNanos, one clock for the
            // whole capture even when the camera is reopened (rotation, pause). With UNKNOWN it is
            // monotonic only within this camera session, on an unspecified base, so a reopened camera
            // could restart it lower; the arrival time on elapsedRealtimeNanos is then the safe clock.
            val timestampMs = if (spec.realtimeTimestamps) {
                image.timestamp / 1_000_000
            } else {
                SystemClock.elapsedRealtimeNanos() / 1_000_000
            }
            val frame = Yuv420888.toFrame(
                image.width,
                image.height,
                Yuv420888.Plane(planes[0].buffer, planes[0].rowStride, planes[0].pixelStride),
                Yuv420888.Plane(planes[1].buffer, planes[1].rowStride, planes[1].pixelStride),
                Yuv420888.Plane(planes[2].buffer, planes[2].rowStride, planes[2].pixelStride),
                Yuv420888.rotationDegrees(spec.sensorOrientation, displayRotationDegrees, frontFacing = true),
                timestampMs,
            )
            badFrames = 0
            listener.onFrame(frame)
        } catch (e: SmartIdException) {
            // A malformed buffer: skip it; a camera that only delivers such buffers fails the capture.
            if (++badFrames == MAX_BAD_FRAMES) listener.onFrameError(e)
        } catch (e: IllegalStateException) {
            // The image became inaccessible (its reader closed): nothing to convert.
            Log.w(TAG, "camera image unreadable: ${e.javaClass.simpleName}")
        } finally {
            image.close()
        }
    }

    /** Camera thread: the camera is gone while the screen still wants it. */
    private fun lost(reason: String, permission: Boolean) {
        if (closed) return
        closed = true
        release()
        quitWhenIdle()
        listener.onCameraLost(this, reason, permission)
    }

    /** Camera thread: closes what is open. Every step is independent: one failure does not keep the rest open. */
    private fun release() {
        session?.let { s -> runCatchingState { s.close() } }
        session = null
        device?.let { closeDevice(it) }
        device = null
        reader?.let { r -> runCatchingState { r.close() } }
        reader = null
        preview?.release()
        preview = null
    }

    private inline fun runCatchingState(block: () -> Unit) {
        try {
            block()
        } catch (_: IllegalStateException) {
            // Already closed.
        }
    }

    private companion object {
        const val TAG = "SmartId"
        const val MAX_IMAGES = 3
        const val MAX_BAD_FRAMES = 30
        const val STOP_WAIT_MS = 1_000L
        const val PREVIOUS_CLOSE_WAIT_MS = 1_500L
        const val WAIT_SLICE_MS = 50L

        /** The last device close of any session: the next open waits for it. */
        @Volatile
        var previousClose: CountDownLatch? = null

        fun errorName(error: Int): String = when (error) {
            CameraDevice.StateCallback.ERROR_CAMERA_IN_USE -> "in use"
            CameraDevice.StateCallback.ERROR_MAX_CAMERAS_IN_USE -> "too many cameras in use"
            CameraDevice.StateCallback.ERROR_CAMERA_DISABLED -> "disabled by policy"
            CameraDevice.StateCallback.ERROR_CAMERA_DEVICE -> "device failure"
            CameraDevice.StateCallback.ERROR_CAMERA_SERVICE -> "service failure"
            else -> error.toString()
        }
    }
}
