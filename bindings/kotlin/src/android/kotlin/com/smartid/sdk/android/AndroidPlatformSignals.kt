package com.smartid.sdk.android

import android.content.Context
import android.content.pm.ApplicationInfo
import android.content.pm.PackageInfo
import android.content.pm.PackageManager
import android.content.pm.Signature
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.Build
import android.os.Debug
import android.os.Looper
import android.provider.Settings
import android.util.Base64
import android.util.Log
import com.smartid.sdk.Location
import com.smartid.sdk.PlatformSignals
import java.io.BufferedReader
import java.io.InputStreamReader
import java.security.MessageDigest

/**
 * What only Android knows, for the SDK's RASP checks (root, emulator, hooking, tampering, network,
 * location) and the capture's device attestation. The SDK uses it by default on Android; construct it
 * yourself to pass [trustedInstallers] or a Play Integrity [integrityToken] provider:
 *
 * ```
 * SmartIdConfig(..., platformSignals = AndroidPlatformSignals(applicationContext, integrityToken = ::playIntegrity))
 * ```
 *
 * Only the application context is kept. Every signal catches its own failures and answers "don't know"
 * (null or empty), so one refused API does not silence the others; nothing read here is logged (a
 * failure logs the exception's class only). These are the device's own answers: a rooted device with
 * a hiding module can lie in all of them, which is why the server verifies the attestation token.
 *
 * @param trustedInstallers installer packages that are stores (Play, Amazon, Huawei AppGallery, Galaxy
 *   Store by default); any other installer, or none (sideloaded, adb), is reported as
 *   `settings:installer:<package>` / `settings:installer:none`.
 * @param integrityToken returns a Play Integrity *classic* token for a nonce, or null (see
 *   [attestationToken]); called on the capture thread while sealing, so it may block.
 */
class AndroidPlatformSignals @JvmOverloads constructor(
    context: Context,
    private val trustedInstallers: List<String> = DEFAULT_TRUSTED_INSTALLERS,
    private val integrityToken: ((nonce: String) -> String?)? = null,
) : PlatformSignals {
    private val app: Context = context.applicationContext ?: context

    /** `ro.*` properties are fixed at boot: read once. */
    private val properties: Map<String, String> by lazy { readProperties() }

    /**
     * The `ro.*` properties the core's root and emulator checks read (fixed list, no serial numbers or
     * other identifiers), plus `Build` fields as `build.<name>`.
     */
    override fun buildProperties(): Map<String, String> = signal("buildProperties", emptyMap()) { properties }

    /**
     * What Android reports beyond the core's own checks, as short names whose prefix names the threat
     * (the core routes them: `PlatformSignals.instrumentation`):
     * - `tampered:debuggable`: this app is debuggable, which a store release never is (a debug build,
     *   or a repackaged one);
     * - `debugger:connected`: a Java debugger is attached or awaited;
     * - `hooking:xposed`: Xposed, EdXposed or LSPosed classes are loadable, or on the main thread's stack;
     * - `root:root-manager:<package>`: a root manager app is installed (Android 11+ sees only the
     *   packages the AAR's manifest `<queries>`; Magisk can hide under a random name);
     * - `settings:developer-options`, `settings:adb-enabled`, and `settings:installer:<package>` /
     *   `settings:installer:none` when no [trustedInstallers] store installed the app: weak signals
     *   (many genuine users have them) that the default policy reports without blocking.
     */
    override fun instrumentation(): List<String> {
        val found = ArrayList<String>()
        if (flag("debuggable") { app.applicationInfo.flags and ApplicationInfo.FLAG_DEBUGGABLE != 0 }) found += "tampered:debuggable"
        if (flag("debugger") { Debug.isDebuggerConnected() || Debug.waitingForDebugger() }) found += "debugger:connected"
        if (flag("xposed") { xposedPresent() }) found += "hooking:xposed"
        signal("root manager", emptyList()) { ROOT_MANAGERS.filter { installed(it) } }.forEach { found += "root:root-manager:$it" }
        if (flag("developer options") { globalSetting(Settings.Global.DEVELOPMENT_SETTINGS_ENABLED) }) found += "settings:developer-options"
        if (flag("adb") { globalSetting(Settings.Global.ADB_ENABLED) }) found += "settings:adb-enabled"
        signal("installer", null) { untrustedInstaller() }?.let { found += it }
        return found
    }

    /**
     * Lower-case SHA-256 hex of the app's signing certificate, compared by the core with
     * `SmartIdConfig.expectedSignatures`. API 28+: the current signer(s) of `signingInfo`
     * (`GET_SIGNING_CERTIFICATES`, so a rotated key reports the new certificate); before: `signatures`.
     * With several signers, the lowest digest (a stable choice).
     */
    override fun appSignature(): String? = signal("appSignature", null) {
        signingCertificates().map { sha256Hex(it.toByteArray()) }.sorted().firstOrNull()
    }

    /** The last fix [AndroidLocation] holds (null unless the app started it), with the OS's mock flag. */
    override fun location(): Location? = signal("location", null) {
        AndroidLocation.lastFix()?.let { Location(it.latitude, it.longitude, it.accuracyM, it.mock) }
    }

    /** The active network, or any network, has a VPN transport. Needs ACCESS_NETWORK_STATE (AAR manifest). */
    override fun vpnActive(): Boolean? = signal("vpnActive", null) {
        val cm = app.getSystemService(Context.CONNECTIVITY_SERVICE) as? ConnectivityManager ?: return@signal null
        val active = cm.activeNetwork?.let { cm.getNetworkCapabilities(it) }
        if (active?.hasTransport(NetworkCapabilities.TRANSPORT_VPN) == true) return@signal true
        @Suppress("DEPRECATION") // allNetworks: deprecated in API 31 for callbacks; still answers
        val any = cm.allNetworks.any { cm.getNetworkCapabilities(it)?.hasTransport(NetworkCapabilities.TRANSPORT_VPN) == true }
        any
    }

    /** The system's default HTTP proxy, else the JVM proxy properties, as `host:port` without credentials. */
    override fun proxy(): String? = signal("proxy", null) {
        val cm = app.getSystemService(Context.CONNECTIVITY_SERVICE) as? ConnectivityManager
        val system = cm?.defaultProxy?.let { p -> p.host?.takeIf { it.isNotBlank() }?.let { hostPort(it, p.port) } }
        system ?: System.getProperty("http.proxyHost")?.takeIf { it.isNotBlank() }?.let { host ->
            hostPort(host, System.getProperty("http.proxyPort")?.trim()?.toIntOrNull() ?: 80)
        }
    }

    /**
     * A Play Integrity token bound to this capture, as `"pi:" + token`; null without an
     * [integrityToken] provider or when it fails. The nonce is [requestHash] in base64url without
     * padding (43 characters, within Play Integrity's 16..500): the server recomputes the hash from the
     * opened capture and refuses a token made for another one. Play Integrity is Google's library and
     * cannot be this SDK's dependency; the app wires its *classic* request (standard requests can only
     * be decoded by Google's server, the classic ones by the bank's own response keys):
     *
     * ```
     * val integrity = IntegrityManagerFactory.create(applicationContext)
     * val signals = AndroidPlatformSignals(applicationContext, integrityToken = { nonce ->
     *     // On the capture thread: blocking is fine here (never on the main thread).
     *     val task = integrity.requestIntegrityToken(
     *         IntegrityTokenRequest.builder()
     *             .setNonce(nonce)
     *             .setCloudProjectNumber(CLOUD_PROJECT_NUMBER)
     *             .build()
     *     )
     *     try { Tasks.await(task, 10, TimeUnit.SECONDS).token() } catch (e: Exception) { null }
     * })
     * SmartId.getInstance().configure(SmartIdConfig(..., platformSignals = signals))
     * ```
     */
    override fun attestationToken(requestHash: ByteArray): String? = signal("attestationToken", null) {
        val provider = integrityToken ?: return@signal null
        val nonce = Base64.encodeToString(requestHash, Base64.URL_SAFE or Base64.NO_WRAP or Base64.NO_PADDING)
        provider(nonce)?.takeIf { it.isNotBlank() }?.let { "pi:$it" }
    }

    // --- build properties

    private fun readProperties(): Map<String, String> {
        val out = LinkedHashMap<String, String>()
        val ro = systemProperties()
        for (key in RO_KEYS) {
            ro[key]?.takeIf { it.isNotEmpty() }?.let { out[key] = it.take(MAX_VALUE) }
        }
        val build = mapOf(
            "build.fingerprint" to Build.FINGERPRINT,
            "build.hardware" to Build.HARDWARE,
            "build.model" to Build.MODEL,
            "build.manufacturer" to Build.MANUFACTURER,
            "build.brand" to Build.BRAND,
            "build.device" to Build.DEVICE,
            "build.product" to Build.PRODUCT,
            "build.board" to Build.BOARD,
            "build.bootloader" to Build.BOOTLOADER,
            "build.tags" to Build.TAGS,
            "build.type" to Build.TYPE,
            "build.host" to Build.HOST,
            "build.supported_abis" to Build.SUPPORTED_ABIS?.joinToString(","),
            "build.version.sdk_int" to Build.VERSION.SDK_INT.toString(),
            "build.version.release" to Build.VERSION.RELEASE,
            "build.version.security_patch" to Build.VERSION.SECURITY_PATCH,
        )
        for ((k, v) in build) {
            if (!v.isNullOrEmpty() && v != Build.UNKNOWN) out[k] = v.take(MAX_VALUE)
        }
        return out
    }

    /**
     * [RO_KEYS] through the hidden `android.os.SystemProperties.get(String)` (reflection; on Android
     * 9+'s non-SDK list as "unsupported", i.e. still allowed). If that is refused, one `getprop` run.
     */
    private fun systemProperties(): Map<String, String> {
        val get = try {
            Class.forName("android.os.SystemProperties").getMethod("get", String::class.java)
        } catch (_: ReflectiveOperationException) {
            null
        } catch (_: LinkageError) {
            null
        }
        if (get != null) {
            try {
                return RO_KEYS.associateWith { (get.invoke(null, it) as? String).orEmpty() }
            } catch (_: ReflectiveOperationException) {
                // Fall back to getprop.
            } catch (_: SecurityException) {
            }
        }
        return getprop()
    }

    /** `getprop`'s `[key]: [value]` lines, only [RO_KEYS]. */
    private fun getprop(): Map<String, String> {
        val wanted = RO_KEYS.toSet()
        val out = HashMap<String, String>()
        val process = ProcessBuilder("/system/bin/getprop").redirectErrorStream(true).start()
        try {
            BufferedReader(InputStreamReader(process.inputStream, Charsets.UTF_8)).use { reader ->
                var lines = 0
                while (lines++ < MAX_GETPROP_LINES) {
                    val line = reader.readLine() ?: break
                    val m = GETPROP_LINE.matchEntire(line) ?: continue
                    val key = m.groupValues[1]
                    if (key in wanted) out[key] = m.groupValues[2]
                }
            }
        } finally {
            process.destroy()
        }
        return out
    }

    // --- instrumentation

    private fun globalSetting(name: String): Boolean = Settings.Global.getInt(app.contentResolver, name, 0) != 0

    private fun xposedPresent(): Boolean {
        val loaders = listOfNotNull(javaClass.classLoader, ClassLoader.getSystemClassLoader(), app.classLoader)
        val loadable = XPOSED_CLASSES.any { name ->
            loaders.any { loader ->
                try {
                    Class.forName(name, false, loader)
                    true
                } catch (_: ClassNotFoundException) {
                    false
                } catch (_: LinkageError) {
                    false
                }
            }
        }
        if (loadable) return true
        // Classic Xposed starts the app process through XposedBridge.main: it stays at the bottom of
        // the main thread's stack.
        val mainStack = Looper.getMainLooper().thread.stackTrace
        return mainStack.any { frame -> XPOSED_STACK_PREFIXES.any { frame.className.startsWith(it) } }
    }

    private fun installed(pkg: String): Boolean = try {
        app.packageManager.getPackageInfo(pkg, 0)
        true
    } catch (_: PackageManager.NameNotFoundException) {
        false
    }

    /** `settings:installer:<package>` or `…:none` unless a trusted store installed this app; null when one did. */
    private fun untrustedInstaller(): String? {
        val installer = installerPackage()
        if (installer != null && installer in trustedInstallers) return null
        return "settings:installer:" + (installer?.take(MAX_PACKAGE) ?: "none")
    }

    private fun installerPackage(): String? {
        val pm = app.packageManager
        if (Build.VERSION.SDK_INT >= 30) {
            try {
                // API 30: PackageManager.getInstallSourceInfo(String).getInstallingPackageName().
                val info = PackageManager::class.java.getMethod("getInstallSourceInfo", String::class.java)
                    .invoke(pm, app.packageName)
                if (info != null) return info.javaClass.getMethod("getInstallingPackageName").invoke(info) as String?
            } catch (_: ReflectiveOperationException) {
                // Fall back to the older call (deprecated in API 30, still answering).
            }
        }
        @Suppress("DEPRECATION")
        return pm.getInstallerPackageName(app.packageName)
    }

    // --- signature

    private fun signingCertificates(): List<Signature> {
        val pm = app.packageManager
        if (Build.VERSION.SDK_INT >= 28) {
            try {
                // API 28: GET_SIGNING_CERTIFICATES, PackageInfo.signingInfo, SigningInfo.getApkContentsSigners().
                val info = pm.getPackageInfo(app.packageName, GET_SIGNING_CERTIFICATES)
                val signingInfo = PackageInfo::class.java.getField("signingInfo").get(info)
                if (signingInfo != null) {
                    val signers = signingInfo.javaClass.getMethod("getApkContentsSigners").invoke(signingInfo) as? Array<*>
                    val list = signers.orEmpty().filterIsInstance<Signature>()
                    if (list.isNotEmpty()) return list
                }
            } catch (_: ReflectiveOperationException) {
                // Fall back to GET_SIGNATURES below.
            }
        }
        // GET_SIGNATURES and PackageInfo.signatures are deprecated in API 28 (they report only the
        // oldest signer of a rotated key); API 23..27 have nothing else, and 28+ uses signingInfo above.
        @Suppress("DEPRECATION")
        val signatures = pm.getPackageInfo(app.packageName, PackageManager.GET_SIGNATURES).signatures
        return signatures.orEmpty().filterNotNull()
    }

    // --- helpers

    /** Runs one signal; its failure is "don't know" ([fallback]) and is logged by class name only. */
    private inline fun <T> signal(name: String, fallback: T, block: () -> T): T = try {
        block()
    } catch (e: Exception) {
        Log.w(TAG, "signal $name unavailable: ${e.javaClass.name}")
        fallback
    }

    /** A yes/no check that counts as "no" when it fails. */
    private inline fun flag(name: String, block: () -> Boolean): Boolean = signal(name, false, block)

    companion object {
        private const val TAG = "SmartId"
        private const val MAX_VALUE = 256
        private const val MAX_PACKAGE = 100
        private const val MAX_GETPROP_LINES = 10_000

        /** PackageManager.GET_SIGNING_CERTIFICATES (API 28). */
        private const val GET_SIGNING_CERTIFICATES = 0x08000000

        private val GETPROP_LINE = Regex("""^\[([^\]]+)]: \[(.*)]$""")

        /**
         * The stores trusted by default; extend it for others your users install from, e.g.
         * `DEFAULT_TRUSTED_INSTALLERS + "com.xiaomi.market"`.
         */
        @JvmField
        val DEFAULT_TRUSTED_INSTALLERS: List<String> = listOf(
            "com.android.vending", // Google Play
            "com.amazon.venezia", // Amazon Appstore
            "com.huawei.appmarket", // Huawei AppGallery
            "com.sec.android.app.samsungapps", // Samsung Galaxy Store
        )

        /** Root, emulator and boot-state properties the core's checks read; no identifiers (serials). */
        private val RO_KEYS = listOf(
            "ro.build.tags",
            "ro.build.type",
            "ro.build.fingerprint",
            "ro.build.product",
            "ro.build.characteristics",
            "ro.build.selinux",
            "ro.build.version.sdk",
            "ro.build.version.security_patch",
            "ro.debuggable",
            "ro.secure",
            "ro.adb.secure",
            "ro.kernel.qemu",
            "ro.boot.qemu",
            "ro.hardware",
            "ro.hardware.chipname",
            "ro.board.platform",
            "ro.product.model",
            "ro.product.manufacturer",
            "ro.product.device",
            "ro.product.brand",
            "ro.product.name",
            "ro.product.board",
            "ro.product.cpu.abi",
            "ro.bootloader",
            "ro.bootmode",
            "ro.boot.verifiedbootstate",
            "ro.boot.flash.locked",
            "ro.boot.vbmeta.device_state",
            "ro.boot.veritymode",
            "ro.boot.selinux",
            "ro.boot.warranty_bit",
            "ro.warranty_bit",
        )

        /** Xposed (classic), EdXposed and LSPosed (old and new package) entry classes. */
        private val XPOSED_CLASSES = listOf(
            "de.robv.android.xposed.XposedBridge",
            "de.robv.android.xposed.XposedHelpers",
            "com.elderdrivers.riru.edxp.config.EdXpConfigGlobal",
            "io.github.lsposed.lspd.core.Main",
            "org.lsposed.lspd.core.Main",
        )

        private val XPOSED_STACK_PREFIXES = listOf("de.robv.android.xposed.", "com.elderdrivers.riru.edxp.", "org.lsposed.lspd.")

        /**
         * Root manager apps. A weak signal: Magisk can hide under a random package name. The AAR's
         * manifest lists them in `<queries>` (Android 11+ package visibility); keep the two in step.
         */
        private val ROOT_MANAGERS = listOf(
            "com.topjohnwu.magisk", // Magisk
            "io.github.vvb2060.magisk", // Magisk Alpha
            "io.github.huskydg.magisk", // Kitsune Magisk
            "me.weishu.kernelsu", // KernelSU
            "com.rifsxd.ksunext", // KernelSU Next
            "me.bmax.apatch", // APatch
            "eu.chainfire.supersu", // SuperSU
            "com.noshufou.android.su", // Superuser
            "com.koushikdutta.superuser", // ClockworkMod Superuser
            "com.thirdparty.superuser",
            "com.kingroot.kinguser", // KingRoot
            "com.kingo.root", // KingoRoot
        )

        private fun hostPort(host: String, port: Int): String {
            // Credentials never leave the device: drop any user:password@ prefix.
            val bare = host.substringAfterLast('@').trim()
            return if (port in 1..65535) "$bare:$port" else bare
        }

        private fun sha256Hex(bytes: ByteArray): String {
            val digest = MessageDigest.getInstance("SHA-256").digest(bytes)
            val hex = CharArray(digest.size * 2)
            for (i in digest.indices) {
                val v = digest[i].toInt() and 0xFF
                hex[i * 2] = HEX[v ushr 4]
                hex[i * 2 + 1] = HEX[v and 0x0F]
            }
            return String(hex)
        }

        private val HEX = "0123456789abcdef".toCharArray()
    }
}
