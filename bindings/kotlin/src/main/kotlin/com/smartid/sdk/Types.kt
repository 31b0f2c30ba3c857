package com.smartid.sdk

// The generated enums and records are already idiomatic Kotlin (enum classes, data classes); the SDK
// exposes them under its own package so apps never import the generated one.

/** What the UI should show after a frame: step, prompt, progress, face box. */
typealias Guidance = com.smartid.ffi.Guidance
typealias Prompt = com.smartid.ffi.Prompt
typealias Step = com.smartid.ffi.Step
typealias FaceBox = com.smartid.ffi.FaceBox
typealias ChallengeKind = com.smartid.ffi.ChallengeKind
typealias LivenessMode = com.smartid.ffi.LivenessMode
typealias PixelFormat = com.smartid.ffi.PixelFormat
/** One camera frame: layout, capture time (monotonic ms) and bytes. */
typealias CameraFrame = com.smartid.ffi.CameraFrame
/** What an app may show or log about a finished capture (no biometric data). */
typealias EvidenceSummary = com.smartid.ffi.EvidenceSummary
typealias Location = com.smartid.ffi.Location
typealias RaspPolicy = com.smartid.ffi.RaspPolicyChoice
typealias Threat = com.smartid.ffi.Threat
typealias RaspAction = com.smartid.ffi.Action
typealias LogLevel = com.smartid.ffi.LogLevel

/** The two strings the app forwards to its backend (`Template`, `PayLoad`), and a summary to log. */
data class SealedCapture(val template: String, val payload: String, val summary: EvidenceSummary)

/** A failed capture: [message] may be shown or logged; [errorCode] is stable (docs/error-codes.md). */
class SmartIdException(message: String, val errorCode: Int, cause: Throwable? = null) :
    Exception(message, cause) {
    companion object {
        const val CANCELLED = 5005
        const val CAPTURE_INCOMPLETE = 5006
        /** The user refused the camera permission (the SDK's camera screen; facades only). */
        const val CAMERA_PERMISSION = 5008
        /** No usable front camera, or the camera failed or was taken away (facades only). */
        const val CAMERA_UNAVAILABLE = 5009
        const val INTERNAL = 9001
        const val CONFIG_INVALID = 4001

        /** Maps anything thrown below the facade to a message and a stable code. */
        internal fun from(t: Throwable): SmartIdException = when (t) {
            is SmartIdException -> t
            is com.smartid.ffi.SmartIdException -> t.codeAndDetail().let { (code, detail) ->
                SmartIdException(detail, code.toInt(), t)
            }
            else -> SmartIdException("internal error: ${t.javaClass.simpleName}", INTERNAL, t)
        }
    }
}

/** The stable code and the message of any generated error variant. */
private fun com.smartid.ffi.SmartIdException.codeAndDetail(): Pair<UInt, String> = when (this) {
    is com.smartid.ffi.SmartIdException.Frame -> code to detail
    is com.smartid.ffi.SmartIdException.Model -> code to detail
    is com.smartid.ffi.SmartIdException.Config -> code to detail
    is com.smartid.ffi.SmartIdException.Capture -> code to detail
    is com.smartid.ffi.SmartIdException.Environment -> code to detail
    is com.smartid.ffi.SmartIdException.Seal -> code to detail
    is com.smartid.ffi.SmartIdException.Internal -> code to detail
}
