package com.smartid.sdk.android

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.pm.PackageManager
import android.graphics.Color
import android.graphics.Matrix
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraAccessException
import android.hardware.camera2.CameraManager
import android.hardware.display.DisplayManager
import android.os.Build
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.util.TypedValue
import android.view.Display
import android.view.Gravity
import android.view.Surface
import android.view.TextureView
import android.view.View
import android.view.ViewGroup
import android.view.WindowInsets
import android.view.WindowManager
import android.widget.Button
import android.widget.FrameLayout
import android.widget.LinearLayout
import android.widget.ProgressBar
import android.widget.TextView
import com.smartid.sdk.CameraFrame
import com.smartid.sdk.Guidance
import com.smartid.sdk.Prompt
import com.smartid.sdk.SmartIdException
import java.lang.reflect.InvocationHandler
import java.lang.reflect.Proxy

/**
 * The SDK's selfie screen: the front camera's preview, a face oval, the current prompt, the capture's
 * progress and a cancel button. Started by the SDK for a capture (`SmartId.captureBiometric(context)`
 * without a frame source); apps do not start it themselves, but it must be in the merged manifest
 * (the AAR's manifest declares it) and their translations go into [promptText] and [cancelLabel].
 *
 * A plain framework [Activity] with its layout built in code (no AndroidX, no resources), so the SDK
 * adds no dependency and no res/ to an app. Rotation recreates it; the capture, which belongs to the
 * capture thread and not to this screen, carries on with the new instance. The camera is opened in
 * [onResume] and released in [onPause]; back or Cancel ends the capture with 5005, a refused camera
 * permission with 5008, a missing or failing camera with 5009.
 */
class SmartIdCaptureActivity : Activity() {
    private var bridge: CaptureBridge? = null
    private var camera: CameraSession? = null
    private var spec: CameraSpec? = null

    private lateinit var preview: TextureView
    private lateinit var faceOval: FaceOverlayView
    private lateinit var prompt: TextView
    private lateinit var progress: ProgressBar
    private lateinit var panel: LinearLayout
    private lateinit var cancel: Button

    private val main = Handler(Looper.getMainLooper())
    private var resumedNow = false
    private var permissionRequested = false
    private var displayRotation = 0
    private var shownPrompt: Prompt? = null
    private var backCallback: Any? = null

    private val ui = object : CaptureBridge.Ui {
        override fun render(guidance: Guidance) = show(guidance)

        override fun finishCapture() {
            if (!isFinishing) finish()
        }
    }

    /** What one camera session reports, on the camera thread: frames go straight to [b]. */
    private fun cameraListener(b: CaptureBridge) = object : CameraSession.Listener {
        override fun onFrame(frame: CameraFrame) = b.offerFrame(frame)

        override fun onFrameError(e: SmartIdException) = b.fail(e)

        override fun onCameraLost(session: CameraSession, reason: String, permission: Boolean) {
            main.post { cameraLost(session, reason, permission) }
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val b = CaptureBridge.find(intent.getLongExtra(EXTRA_CAPTURE_ID, -1L))
        if (b == null || b.isOver) {
            // Restored after the process died, or the capture ended while this screen was away.
            finish()
            return
        }
        bridge = b
        // The screen stays on during the capture; FLAG_SECURE keeps the face out of screenshots,
        // screen recordings and the recents thumbnail.
        window.addFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
        if (secureWindow) window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        setContentView(buildLayout())
        permissionRequested = savedInstanceState?.getBoolean(STATE_PERMISSION_REQUESTED) ?: false
        registerBackCallback()
        if (!b.attach(ui)) finish()
    }

    override fun onResume() {
        super.onResume()
        val b = bridge ?: return
        if (b.isOver) {
            finish()
            return
        }
        resumedNow = true
        displayRotation = currentDisplayRotation()
        (getSystemService(Context.DISPLAY_SERVICE) as? DisplayManager)?.registerDisplayListener(displayListener, main)
        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else if (!permissionRequested) {
            permissionRequested = true
            requestPermissions(arrayOf(Manifest.permission.CAMERA), REQUEST_CAMERA)
        }
    }

    override fun onPause() {
        resumedNow = false
        (getSystemService(Context.DISPLAY_SERVICE) as? DisplayManager)?.unregisterDisplayListener(displayListener)
        stopCamera()
        super.onPause()
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        outState.putBoolean(STATE_PERMISSION_REQUESTED, permissionRequested)
    }

    override fun onDestroy() {
        unregisterBackCallback()
        bridge?.let { b ->
            b.detach(ui)
            // Finishing without the capture having ended (e.g. removed from recents): the user left it.
            if (isFinishing && !isChangingConfigurations) {
                b.fail(SmartIdException("the capture screen was closed", SmartIdException.CANCELLED))
            }
        }
        bridge = null
        main.removeCallbacksAndMessages(null)
        super.onDestroy()
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (requestCode != REQUEST_CAMERA) return
        permissionRequested = false
        when {
            // The request was interrupted (e.g. the screen was recreated): asked again on resume.
            grantResults.isEmpty() -> Unit
            grantResults[0] == PackageManager.PERMISSION_GRANTED -> startCamera()
            else -> end(SmartIdException("the camera permission was refused", SmartIdException.CAMERA_PERMISSION))
        }
    }

    override fun onWindowFocusChanged(hasFocus: Boolean) {
        super.onWindowFocusChanged(hasFocus)
        // In multi-window the focused app gets the camera; ours may have been taken while unfocused.
        if (hasFocus) startCamera()
    }

    /**
     * Back, up to Android 13 and later for apps not opted in to predictive back (deprecated in API 33,
     * where [registerBackCallback] takes over).
     */
    override fun onBackPressed() {
        cancelCapture()
    }

    private fun cancelCapture() {
        end(SmartIdException("the user cancelled the capture", SmartIdException.CANCELLED))
    }

    /** Ends the capture with [e] and closes the screen at once (the capture thread learns it on its next frame). */
    private fun end(e: SmartIdException) {
        bridge?.fail(e)
        stopCamera()
        if (!isFinishing) finish()
    }

    private fun startCamera() {
        val b = bridge ?: return
        if (!resumedNow || camera != null || b.isOver) return
        val texture = preview.surfaceTexture
        if (!preview.isAvailable || texture == null) return // onSurfaceTextureAvailable comes back here
        if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) return
        val manager = getSystemService(Context.CAMERA_SERVICE) as? CameraManager
        if (manager == null) {
            end(SmartIdException("this device has no camera service", SmartIdException.CAMERA_UNAVAILABLE))
            return
        }
        val s = try {
            spec ?: CameraSpec.frontCamera(manager).also { spec = it }
        } catch (e: SmartIdException) {
            end(e)
            return
        } catch (e: CameraAccessException) {
            end(SmartIdException("the camera service is unavailable (${e.reason})", SmartIdException.CAMERA_UNAVAILABLE, e))
            return
        } catch (e: RuntimeException) {
            end(SmartIdException("the camera could not be queried", SmartIdException.CAMERA_UNAVAILABLE, e))
            return
        }
        updateTransform()
        camera = CameraSession(manager, s, texture, displayRotation, cameraListener(b)).also { it.start() }
    }

    private fun stopCamera() {
        camera?.stop()
        camera = null
    }

    /**
     * Main thread. The camera went away while this screen wanted it. Not resumed: onResume reopens it.
     * Resumed but without focus (multi-window, another app took the camera): reopened when focus
     * returns. Otherwise the capture fails with 5009 (5008 if the permission was withdrawn).
     */
    private fun cameraLost(session: CameraSession, reason: String, permission: Boolean) {
        if (camera !== session) return // an earlier session, already replaced (pause and resume)
        camera = null
        if (isFinishing || !resumedNow || !hasWindowFocus()) return
        val code = if (permission) SmartIdException.CAMERA_PERMISSION else SmartIdException.CAMERA_UNAVAILABLE
        end(SmartIdException(reason, code))
    }

    private fun show(g: Guidance) {
        if (g.prompt != shownPrompt) {
            shownPrompt = g.prompt
            prompt.text = textOf(g.prompt)
        }
        faceOval.step = g.step
        progress.progress = (g.progress.coerceIn(0f, 1f) * PROGRESS_MAX).toInt()
    }

    /**
     * Fits the preview to the view, upright and centre-cropped. The camera already turns its preview
     * upright for the display's natural orientation and mirrors the front camera (Camera2's default
     * mirror mode, OutputConfiguration.MIRROR_MODE_AUTO: "works automatically for SurfaceView and
     * TextureView outputs"), so the matrix must not flip it again: it undoes TextureView's stretch,
     * turns the picture against the display's rotation, and scales it to fill the view.
     */
    private fun updateTransform() {
        val s = spec ?: return
        val vw = preview.width.toFloat()
        val vh = preview.height.toFloat()
        if (vw <= 0f || vh <= 0f) return
        val (bw, bh) = s.previewSize.width.toFloat() to s.previewSize.height.toFloat()
        // The picture as it appears upright in the natural orientation.
        val (cw, ch) = if (s.sensorOrientation % 180 != 0) bh to bw else bw to bh
        val (sw, sh) = if (displayRotation % 180 != 0) ch to cw else cw to ch
        val cx = vw / 2f
        val cy = vh / 2f
        val scale = maxOf(vw / sw, vh / sh)
        preview.setTransform(
            Matrix().apply {
                postScale(cw / vw, ch / vh, cx, cy)
                postRotate(-displayRotation.toFloat(), cx, cy)
                postScale(scale, scale, cx, cy)
            },
        )
    }

    /** The app's text for [p]; the default English one if the app's table throws. */
    private fun textOf(p: Prompt): String = try {
        promptText(p)
    } catch (_: RuntimeException) {
        Prompts.english(p)
    }

    private val surfaceListener = object : TextureView.SurfaceTextureListener {
        override fun onSurfaceTextureAvailable(surface: SurfaceTexture, width: Int, height: Int) {
            startCamera()
            updateTransform()
        }

        override fun onSurfaceTextureSizeChanged(surface: SurfaceTexture, width: Int, height: Int) = updateTransform()

        override fun onSurfaceTextureDestroyed(surface: SurfaceTexture): Boolean {
            stopCamera()
            return true
        }

        override fun onSurfaceTextureUpdated(surface: SurfaceTexture) = Unit
    }

    /** A turn by 180° (landscape to reverse landscape) changes no configuration, so no recreation: follow it here. */
    private val displayListener = object : DisplayManager.DisplayListener {
        override fun onDisplayChanged(displayId: Int) {
            val r = currentDisplayRotation()
            if (r != displayRotation) {
                displayRotation = r
                camera?.displayRotationDegrees = r
                updateTransform()
            }
        }

        override fun onDisplayAdded(displayId: Int) = Unit

        override fun onDisplayRemoved(displayId: Int) = Unit
    }

    private fun currentDisplayRotation(): Int = when (display()?.rotation) {
        Surface.ROTATION_90 -> 90
        Surface.ROTATION_180 -> 180
        Surface.ROTATION_270 -> 270
        else -> 0
    }

    /** The display this screen is on: Context.getDisplay() from API 30, the window manager's before. */
    private fun display(): Display? {
        if (Build.VERSION.SDK_INT >= 30) {
            try {
                // API 30: Context.getDisplay().
                return Context::class.java.getMethod("getDisplay").invoke(this) as? Display
            } catch (_: ReflectiveOperationException) {
                // Fall through to the older way, which still works for an Activity.
            } catch (_: UnsupportedOperationException) {
            }
        }
        return windowManager.defaultDisplay
    }

    /**
     * Android 13+ with predictive back (an app that opts in with `enableOnBackInvokedCallback`, and
     * every app targeting 36): onBackPressed is no longer called, an OnBackInvokedCallback is. Both are
     * API 33, reached by reflection; without the opt-in the framework ignores this and calls
     * onBackPressed.
     */
    private fun registerBackCallback() {
        if (Build.VERSION.SDK_INT < 33) return
        try {
            // API 33: android.window.OnBackInvokedCallback, Activity.getOnBackInvokedDispatcher().
            val callbackClass = Class.forName("android.window.OnBackInvokedCallback")
            val handler = InvocationHandler { proxy, method, args ->
                when (method.name) {
                    "onBackInvoked" -> {
                        cancelCapture()
                        null
                    }
                    "equals" -> proxy === args?.getOrNull(0)
                    "hashCode" -> System.identityHashCode(proxy)
                    "toString" -> "SmartIdCaptureActivity.back"
                    else -> null
                }
            }
            val callback = Proxy.newProxyInstance(javaClass.classLoader, arrayOf(callbackClass), handler)
            val dispatcher = Activity::class.java.getMethod("getOnBackInvokedDispatcher").invoke(this) ?: return
            // Through the public interface: the dispatcher's own class is not SDK API.
            Class.forName("android.window.OnBackInvokedDispatcher")
                .getMethod("registerOnBackInvokedCallback", Int::class.javaPrimitiveType, callbackClass)
                .invoke(dispatcher, 0 /* OnBackInvokedDispatcher.PRIORITY_DEFAULT */, callback)
            backCallback = callback
        } catch (_: ReflectiveOperationException) {
            // onBackPressed still handles back.
        } catch (_: RuntimeException) {
        }
    }

    private fun unregisterBackCallback() {
        val callback = backCallback ?: return
        backCallback = null
        try {
            val callbackClass = Class.forName("android.window.OnBackInvokedCallback")
            val dispatcher = Activity::class.java.getMethod("getOnBackInvokedDispatcher").invoke(this) ?: return
            Class.forName("android.window.OnBackInvokedDispatcher")
                .getMethod("unregisterOnBackInvokedCallback", callbackClass)
                .invoke(dispatcher, callback)
        } catch (_: ReflectiveOperationException) {
        } catch (_: RuntimeException) {
        }
    }

    private fun buildLayout(): View {
        val density = resources.displayMetrics.density
        fun dp(v: Int) = (v * density).toInt()

        preview = TextureView(this).apply { surfaceTextureListener = surfaceListener }
        faceOval = FaceOverlayView(this)
        prompt = TextView(this).apply {
            setTextColor(Color.WHITE)
            setTextSize(TypedValue.COMPLEX_UNIT_SP, 22f)
            gravity = Gravity.CENTER
            text = textOf(Prompt.NO_FACE)
            // Read out by TalkBack whenever it changes.
            accessibilityLiveRegion = View.ACCESSIBILITY_LIVE_REGION_POLITE
        }
        progress = ProgressBar(this, null, android.R.attr.progressBarStyleHorizontal).apply {
            max = PROGRESS_MAX
            isIndeterminate = false
        }
        panel = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(dp(24), dp(16), dp(24), dp(24))
            addView(prompt, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
            addView(
                progress,
                LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply {
                    topMargin = dp(12)
                },
            )
        }
        cancel = Button(this).apply {
            text = cancelLabel
            setOnClickListener { cancelCapture() }
        }
        val root = FrameLayout(this).apply {
            setBackgroundColor(Color.BLACK)
            addView(preview, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT))
            addView(faceOval, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT))
            addView(
                panel,
                FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT, Gravity.BOTTOM),
            )
            addView(
                cancel,
                FrameLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT, Gravity.TOP or Gravity.START)
                    .apply { setMargins(dp(8), dp(8), dp(8), dp(8)) },
            )
        }
        // Edge to edge (enforced from Android 15 for apps targeting 35): keep the controls clear of
        // the status and navigation bars; the preview and the oval may run under them.
        root.setOnApplyWindowInsetsListener { _, insets ->
            val (top, bottom) = systemBars(insets)
            panel.setPadding(dp(24), dp(16), dp(24), dp(24) + bottom)
            (cancel.layoutParams as? FrameLayout.LayoutParams)?.let {
                it.topMargin = dp(8) + top
                cancel.layoutParams = it
            }
            insets
        }
        return root
    }

    /** Top and bottom system bar insets. WindowInsets.getInsets(Type) is API 30; these work on every version. */
    @Suppress("DEPRECATION")
    private fun systemBars(insets: WindowInsets): Pair<Int, Int> = insets.systemWindowInsetTop to insets.systemWindowInsetBottom

    companion object {
        internal const val EXTRA_CAPTURE_ID = "com.smartid.sdk.android.CAPTURE_ID"
        private const val STATE_PERMISSION_REQUESTED = "com.smartid.sdk.android.PERMISSION_REQUESTED"
        private const val REQUEST_CAMERA = 0x5D1
        private const val PROGRESS_MAX = 1000

        /**
         * The text shown for each prompt; short English by default. Replace it (before a capture) to
         * translate or reword, e.g. `SmartIdCaptureActivity.promptText = { p -> appContext.getString(myIds[p]) }`
         * with the *application* context: this is static, and a lambda capturing an Activity would keep
         * it alive for the life of the process. Called on the main thread.
         */
        @JvmStatic
        @Volatile
        var promptText: (Prompt) -> String = Prompts::english

        /** The cancel button's label. */
        @JvmStatic
        @Volatile
        var cancelLabel: String = Prompts.CANCEL

        /**
         * FLAG_SECURE on the capture screen (default true): no screenshots or screen recordings of the
         * user's face, and a blank recents thumbnail. Turn off only for demos that record the screen.
         */
        @JvmStatic
        @Volatile
        var secureWindow: Boolean = true
    }
}
