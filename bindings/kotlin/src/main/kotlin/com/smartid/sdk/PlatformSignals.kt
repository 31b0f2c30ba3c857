package com.smartid.sdk

/**
 * What only the OS knows, for the SDK's RASP checks. Implement what you can: every method defaults to
 * "don't know". The SDK asks at the start of a capture, at random moments during it and before
 * sealing, on the capture thread. An exception thrown here counts as "don't know" and is logged.
 */
interface PlatformSignals {
    /** Android `ro.*` system properties. */
    fun buildProperties(): Map<String, String> = emptyMap()

    /**
     * What the app found that the core cannot see, as short names with a prefix naming the threat:
     * `hooking:` (e.g. Xposed classes loadable), `debugger:`, `root:` (root-manager packages),
     * `emulator:`, `tampered:` (a debuggable release build) or `settings:` (developer options, ADB,
     * an untrusted installer; reported, not blocked, by default). No prefix counts as `hooking:`.
     */
    fun instrumentation(): List<String> = emptyList()

    fun location(): Location? = null

    fun vpnActive(): Boolean? = null

    /** The system proxy as `host:port`, without credentials. */
    fun proxy(): String? = null

    /** SHA-256 hex of the app's signing certificate. */
    fun appSignature(): String? = null

    /**
     * An attestation bound to this capture, asked once while sealing. Request a Play Integrity
     * *classic* token with `nonce` = base64url (no padding) of [requestHash] and return `"pi:" + token`;
     * the server decrypts and verifies it offline with the app's response keys (docs/payload-format.md).
     */
    fun attestationToken(requestHash: ByteArray): String? = null

    companion object {
        /** Knows nothing: the SDK's own checks only. */
        @JvmField
        val NONE: PlatformSignals = object : PlatformSignals {}
    }
}

/** The app's signals seen by the generated interface. Exceptions propagate to the FFI as errors. */
internal class SignalsAdapter(private val s: PlatformSignals) : com.smartid.ffi.PlatformSignals {
    override fun buildProperties() = s.buildProperties().map { (k, v) -> com.smartid.ffi.BuildProperty(k, v) }
    override fun instrumentation() = s.instrumentation()
    override fun location() = s.location()
    override fun vpnActive() = s.vpnActive()
    override fun proxy() = s.proxy()
    override fun appSignature() = s.appSignature()
    override fun attestationToken(requestHash: ByteArray) = s.attestationToken(requestHash)
}

/** A Kotlin lambda as the generated listener interface. */
internal class ListenerAdapter(private val f: (Guidance) -> Unit) : com.smartid.ffi.GuidanceListener {
    override fun onGuidance(guidance: Guidance) = f(guidance)
}
