package com.smartid.demo

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.pm.ApplicationInfo
import android.content.pm.PackageManager
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.text.InputType
import android.util.TypedValue
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import com.smartid.sdk.Models
import com.smartid.sdk.Prompt
import com.smartid.sdk.RaspPolicy
import com.smartid.sdk.SmartId
import com.smartid.sdk.SmartIdConfig
import com.smartid.sdk.SmartIdLog
import com.smartid.sdk.android.AndroidLocation
import com.smartid.sdk.android.SmartIdCaptureActivity
import java.io.IOException
import java.lang.ref.WeakReference
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * The SDK's enrollment flow on one screen: ask the backend for a capture token, capture with the
 * guide's call (the SDK's own camera screen), forward the sealed template and payload to
 * `/api/kyc/enroll`, show the answer's Code and Message.
 *
 * Everything that outlives a rotation (setup state, the running capture's status) lives in the
 * companion object, which holds this screen only through a WeakReference: the capture's callbacks
 * update that state and the current screen, never a destroyed one.
 */
class MainActivity : Activity() {
    private lateinit var urlField: EditText
    private lateinit var keyField: EditText
    private lateinit var userField: EditText
    private lateinit var enrollButton: Button
    private lateinit var guidanceView: TextView
    private lateinit var resultView: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(buildLayout())
        current = WeakReference(this)
        configureOnce(applicationContext)
        render()

        // Location in the payload is optional: asked once, used if granted.
        if (checkSelfPermission(Manifest.permission.ACCESS_COARSE_LOCATION) == PackageManager.PERMISSION_GRANTED) {
            AndroidLocation.start(this)
        } else if (!askedLocation) {
            askedLocation = true
            requestPermissions(arrayOf(Manifest.permission.ACCESS_COARSE_LOCATION), REQUEST_LOCATION)
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (requestCode == REQUEST_LOCATION && grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) {
            AndroidLocation.start(this)
        }
    }

    override fun onDestroy() {
        if (current?.get() === this) current = null
        if (isFinishing && !isChangingConfigurations) AndroidLocation.stop()
        super.onDestroy()
    }

    private fun enroll() {
        val url = urlField.text.toString().trim()
        val apiKey = keyField.text.toString().trim()
        val user = userField.text.toString().trim()
        if (url.isEmpty() || apiKey.isEmpty() || user.isEmpty()) {
            update { result = "Enter the backend URL, the API key and a user id." }
            return
        }
        update {
            busy = true
            guidance = ""
            result = "Asking the backend for a capture token…"
        }
        val backend = DemoBackend(url, apiKey)
        io.execute {
            val token = try {
                val reply = backend.session(user)
                reply.body.optString("CaptureToken").takeIf { reply.code == 200 && it.isNotEmpty() }
                    ?: return@execute update {
                        busy = false
                        result = "Session refused: Code ${reply.code}, ${reply.message}"
                    }
            } catch (e: IOException) {
                return@execute update {
                    busy = false
                    result = "Cannot reach $url (${e.javaClass.simpleName})"
                }
            }
            main.post { current?.get()?.capture(backend, user, token) ?: update { busy = false } }
        }
    }

    /** The guide's call, as written; its callbacks only touch the companion's state (no Activity). */
    private fun capture(backend: DemoBackend, user: String, token: String) {
        update { result = "Capturing…" }
        var shown: Prompt? = null
        SmartId
            .getInstance()
            .captureBiometric(getApplicationContext())
            .captureToken(token)
            // On the capture thread, every frame: post only when the prompt changes.
            .onGuidance { g ->
                if (g.prompt != shown) {
                    shown = g.prompt
                    update { guidance = SmartIdCaptureActivity.promptText(g.prompt) }
                }
            }
            .onSuccess { template, payload ->
                // Sizes only: the template and payload are biometric data and are never logged.
                val sizes = "template ${template.toByteArray(Charsets.UTF_8).size} B, " +
                    "payload ${payload.toByteArray(Charsets.UTF_8).size} B"
                update { result = "Captured: $sizes\nEnrolling…" }
                io.execute {
                    val answer = try {
                        val reply = backend.enroll(user, template, payload)
                        "Enroll: Code ${reply.code}, ${reply.message}"
                    } catch (e: IOException) {
                        "Enroll failed: ${e.javaClass.simpleName}"
                    }
                    update {
                        busy = false
                        result = "Captured: $sizes\n$answer"
                    }
                }
            }
            .onFailure { message, errorCode ->
                update {
                    busy = false
                    result = "Capture failed: $errorCode, $message"
                }
            }
            .start()
    }

    private fun render() {
        enrollButton.isEnabled = ready && !busy
        guidanceView.text = guidance
        resultView.text = result
    }

    private fun buildLayout(): View {
        val density = resources.displayMetrics.density
        fun dp(v: Int) = (v * density).toInt()
        fun label(text: String) = TextView(this).apply {
            this.text = text
            setPadding(0, dp(12), 0, 0)
        }
        fun field(viewId: Int, hint: String, type: Int, initial: String = "") = EditText(this).apply {
            id = viewId // fixed ids: the fields keep their text across a rotation
            this.hint = hint
            inputType = type
            setSingleLine()
            if (initial.isNotEmpty()) setText(initial)
        }

        urlField = field(ID_URL, "http://10.0.2.2:8080", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI, DEFAULT_URL)
        keyField = field(ID_KEY, "API key of the channel", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PASSWORD)
        userField = field(ID_USER, "customer-0001", InputType.TYPE_CLASS_TEXT, "customer-0001")
        enrollButton = Button(this).apply {
            text = "Enroll"
            setOnClickListener { enroll() }
        }
        guidanceView = TextView(this).apply {
            setTextSize(TypedValue.COMPLEX_UNIT_SP, 18f)
            setPadding(0, dp(16), 0, 0)
        }
        resultView = TextView(this).apply {
            setTextIsSelectable(true)
            setPadding(0, dp(16), 0, 0)
        }
        val column = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(dp(16), dp(16), dp(16), dp(16))
            addView(TextView(this@MainActivity).apply {
                text = "SmartId enrollment demo"
                setTextSize(TypedValue.COMPLEX_UNIT_SP, 22f)
            })
            addView(label("Backend URL"))
            addView(urlField)
            addView(label("API key"))
            addView(keyField)
            addView(label("User id"))
            addView(userField)
            addView(enrollButton)
            addView(guidanceView)
            addView(resultView)
        }
        return ScrollView(this).apply {
            // Android 15 draws apps targeting 35 edge to edge: keep the form clear of the system bars.
            fitsSystemWindows = true
            addView(column, ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
        }
    }

    companion object {
        private const val DEFAULT_URL = "http://10.0.2.2:8080" // the emulator's address for the host
        private const val REQUEST_LOCATION = 1
        private const val ID_URL = 0x5D01
        private const val ID_KEY = 0x5D02
        private const val ID_USER = 0x5D03

        /** `file = "…"` entries of a model manifest. */
        private val MANIFEST_FILE = Regex("""(?m)^\s*file\s*=\s*"([^"]+)"""")

        private val io: ExecutorService = Executors.newSingleThreadExecutor()
        private val main = Handler(Looper.getMainLooper())

        // Main thread only.
        private var current: WeakReference<MainActivity>? = null
        private var configureStarted = false
        private var ready = false
        private var busy = false
        private var askedLocation = false
        private var guidance = ""
        private var result = ""

        /** Changes the state on the main thread and shows it on the current screen, if any. */
        private fun update(change: () -> Unit) {
            main.post {
                change()
                current?.get()?.render()
            }
        }

        /**
         * Configures the SDK once per process, off the main thread (the models are 9.5 MB of assets):
         * the server's public key from the `server.pk` asset, the models from `assets/models/`.
         */
        private fun configureOnce(app: Context) {
            if (configureStarted) return
            configureStarted = true
            update { result = "Loading the server key and the models…" }
            io.execute {
                val outcome = try {
                    val assets = app.assets
                    val serverKey = assets.open("server.pk").bufferedReader().use { it.readText() }.trim()
                    val manifest = assets.open("models/manifest.toml").bufferedReader().use { it.readText() }
                    val files = MANIFEST_FILE.findAll(manifest).map { it.groupValues[1] }.distinct()
                        .associateWith { name -> assets.open("models/$name").use { it.readBytes() } }
                    val debuggable = app.applicationInfo.flags and ApplicationInfo.FLAG_DEBUGGABLE != 0
                    SmartIdLog.installDefault()
                    SmartId.getInstance().configure(
                        SmartIdConfig(
                            serverPublicKey = serverKey,
                            models = Models.Files(manifest, files),
                            // A debuggable build trips the MOBILE policy's blocks (a debuggable app
                            // counts as tampered; the emulator as an emulator): report them instead,
                            // still sealed into the payload. A release build blocks.
                            raspPolicy = if (debuggable) RaspPolicy.REPORT_ONLY else RaspPolicy.MOBILE,
                        ),
                    )
                    null
                } catch (e: IOException) {
                    "Missing asset (${e.message}): see android-demo/README.md"
                } catch (e: IllegalArgumentException) {
                    "Bad configuration: ${e.message}"
                }
                update {
                    ready = outcome == null
                    result = outcome ?: "Ready."
                }
            }
        }
    }
}
