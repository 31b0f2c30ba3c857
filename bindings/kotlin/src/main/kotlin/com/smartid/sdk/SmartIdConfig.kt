package com.smartid.sdk

import java.io.File
import java.util.concurrent.Executor

/** Where the models come from: a folder (desktop, unpacked bundle) or bytes (Android assets). */
sealed class Models {
    /**
     * A folder holding `manifest.toml` and the files it names, or a manifest file in such a folder
     * (e.g. `manifest-antispoof.toml`, the set with passive anti-spoof: read its licence warning).
     */
    data class Folder(val dir: File) : Models()

    /**
     * The manifest text and every file it names, as bytes keyed by the manifest's `file` names. Equal
     * by content, so configuring again with freshly read assets does not reload the models.
     */
    class Files(val manifest: String, val files: Map<String, ByteArray>) : Models() {
        override fun equals(other: Any?): Boolean =
            other is Files && other.manifest == manifest && other.files.keys == files.keys &&
                files.all { (name, bytes) -> other.files[name]?.contentEquals(bytes) == true }

        override fun hashCode(): Int = manifest.hashCode() * 31 + files.keys.hashCode()
    }
}

/**
 * Everything the SDK needs, given once to [SmartId.configure].
 *
 * @property serverPublicKey the bank server's key text (`SIDPK1:<key id>:…`); public, never a secret.
 * @property frameSource how a capture gets frames for a given context. Default (null): on Android the
 *   SDK's own camera screen (`SmartIdCaptureActivity`); on the JVM pass [CaptureRequest.frames] instead.
 * @property platformSignals what only the OS knows. Default ([PlatformSignals.NONE]): on Android the
 *   SDK's `AndroidPlatformSignals` for the capture's context; elsewhere nothing.
 * @property callbackExecutor where `onSuccess` / `onFailure` run; default: the Android main thread
 *   where there is one, else the capture thread.
 */
data class SmartIdConfig(
    val serverPublicKey: String,
    val models: Models,
    val liveness: LivenessMode = LivenessMode.BOTH,
    val challengeCount: Int = 2,
    val challengeTimeoutMs: Long = 8_000,
    val overallTimeoutMs: Long = 60_000,
    val raspPolicy: RaspPolicy = RaspPolicy.MOBILE,
    /** Per-threat actions replacing the policy's, e.g. `mapOf(Threat.VPN to RaspAction.BLOCK)`. */
    val raspOverrides: Map<Threat, RaspAction> = emptyMap(),
    /** Accepted signing-certificate SHA-256s (hex); empty: not checked. */
    val expectedSignatures: List<String> = emptyList(),
    val platformSignals: PlatformSignals = PlatformSignals.NONE,
    /** Sees every frame's guidance (on the capture thread), e.g. to draw your own UI. */
    val guidanceListener: ((Guidance) -> Unit)? = null,
    val frameSource: ((context: Any?) -> FrameSource)? = null,
    val callbackExecutor: Executor? = null,
    /** How long the sealed capture stays valid for the server. */
    val lifetimeSeconds: Long = 600,
    /** Replay only: fixed challenges instead of a random draw. The server sees `test_mode`. */
    val fixedChallenges: List<ChallengeKind>? = null,
    /** Seal JPEG face crops (the template frame, each challenge's frames) for the server to re-check. */
    val evidenceFrames: Boolean = true,
) {
    internal fun options(captureToken: String? = null, liveCamera: Boolean = false) = com.smartid.ffi.CaptureOptions(
        liveness = liveness,
        challengeCount = challengeCount.toUInt(),
        challengeTimeoutMs = challengeTimeoutMs.toULong(),
        overallTimeoutMs = overallTimeoutMs.toULong(),
        fixedChallenges = fixedChallenges,
        raspPolicy = raspPolicy,
        raspOverrides = raspOverrides.map { (t, a) -> com.smartid.ffi.RaspOverride(t, a) },
        expectedSignatures = expectedSignatures,
        captureToken = captureToken,
        evidenceFrames = evidenceFrames,
        liveCamera = liveCamera,
    )

    override fun toString() = "SmartIdConfig(key=${serverPublicKey.split(':').getOrNull(1)}, liveness=$liveness)"
}
