package com.smartid.sdk

import kotlinx.coroutines.suspendCancellableCoroutine
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

// The coroutine form. kotlinx-coroutines is needed only by apps that call it (compileOnly for the SDK).

/**
 * Captures and returns the sealed pair, or throws [SmartIdException]. Cancelling the coroutine cancels
 * the capture. [frames] overrides the configured frame source (recordings on the JVM).
 */
suspend fun SmartId.captureBiometric(context: Any?, frames: FrameSource?): SealedCapture =
    suspendCancellableCoroutine { cont ->
        val request = captureBiometric(context)
        if (frames != null) request.frames(frames)
        request.onComplete { r -> r.fold({ cont.resume(it) }, { cont.resumeWithException(it) }) }
        cont.invokeOnCancellation { request.cancel() }
        request.start()
    }
