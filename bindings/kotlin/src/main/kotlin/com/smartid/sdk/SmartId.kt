package com.smartid.sdk

/**
 * The SDK's entry point, as in the enrollment guide:
 *
 * ```
 * SmartId.getInstance().captureBiometric(applicationContext)
 *     .onSuccess { template, payload -> /* forward both to your backend */ }
 *     .onFailure { message, errorCode -> /* offer a retry */ }
 *     .start()
 * ```
 *
 * [configure] it once (server key, models, policies). Models load on the first capture's thread and
 * stay loaded for the life of the process.
 */
class SmartId private constructor() {
    @Volatile
    private var config: SmartIdConfig? = null

    /** The loaded engine and the models it was loaded from. */
    private var engine: Pair<Models, com.smartid.ffi.Engine>? = null
    private val engineLock = Any()

    /** Sets the configuration; a later call replaces it (and reloads the models if they changed). */
    fun configure(config: SmartIdConfig): SmartId {
        require(config.serverPublicKey.startsWith("SIDPK1:")) { "serverPublicKey must be an SIDPK1 key text" }
        require(config.challengeCount in 1..8) { "challengeCount must be 1..8" }
        require(config.challengeTimeoutMs > 0 && config.overallTimeoutMs > 0) { "timeouts must be positive" }
        require(config.lifetimeSeconds in 1..86_400) { "lifetimeSeconds must be 1..86400" }
        this.config = config
        return this
    }

    /** A capture for this [context] (an Android `Context`; anything or null on the JVM). */
    fun captureBiometric(context: Any?): CaptureRequest = CaptureRequest(this, context)

    internal fun currentConfig(): SmartIdConfig =
        config ?: throw SmartIdException("SmartId is not configured: call configure() first", SmartIdException.CONFIG_INVALID)

    /**
     * The shared engine for [config]'s models, loaded on first use (on the calling capture thread) and
     * kept while the configured models stay the same.
     */
    internal fun engine(config: SmartIdConfig): com.smartid.ffi.Engine = synchronized(engineLock) {
        engine?.takeIf { it.first == config.models }?.let { return it.second }
        val loaded = when (val m = config.models) {
            is Models.Folder -> com.smartid.ffi.Engine.fromDir(m.dir.path)
            is Models.Files -> com.smartid.ffi.Engine.fromFiles(m.manifest, m.files)
        }
        engine = config.models to loaded
        loaded
    }

    companion object {
        private val INSTANCE = SmartId()

        @JvmStatic
        fun getInstance(): SmartId = INSTANCE

        /** The native SDK version. */
        @JvmStatic
        fun version(): String = com.smartid.ffi.sdkVersion()
    }
}
