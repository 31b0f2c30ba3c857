import SmartIdFFI

extension SID {
    /// Captures and returns the sealed pair, or throws `SIDError`. Cancelling the calling task
    /// cancels the capture (it then throws 5005). `frames` overrides the configured frame source
    /// (recordings). Resumes from the capture thread, not the callback queue.
    public func capture(frames: SIDFrameSource? = nil) async throws -> SIDSealedCapture {
        let request = captureBiometric()
        if let frames { request.frames(frames) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SIDSealedCapture, Error>) in
                request.onComplete { continuation.resume(with: $0) }
                request.start()
            }
        } onCancel: {
            request.cancel()
        }
    }
}
