import Dispatch
import Foundation
import SmartIdFFI

/// One capture, configured with callbacks and started with `start()`. The capture runs on its own
/// thread; `onSuccess` / `onFailure` run on the configured callback queue (default: the main queue on
/// Apple platforms, the capture thread on Linux): exactly one of them, exactly once, and never from
/// inside `start()` itself.
///
/// Frames come from `frames(_:)`, else from `SIDConfig.frameSource`, else, on iOS only, from the SDK's
/// own camera screen (`SIDCaptureViewController`, presented full-screen when the capture starts). On
/// other platforms a capture without frames fails with 4001.
public final class SIDCaptureRequest: @unchecked Sendable {
    private let sdk: SID
    private let lock = NSLock() // guards everything below
    private var success: ((_ template: String, _ payload: String) -> Void)?
    private var failure: ((_ message: String, _ errorCode: Int) -> Void)?
    private var complete: ((Result<SIDSealedCapture, SIDError>) -> Void)?
    private var guidance: ((Guidance) throws -> Void)?
    private var source: SIDFrameSource?
    private var token: String?
    private var started = false
    private var cancelled = false
    private var session: CaptureSession?
    /// The running capture's source while it may block in `nextFrame()` for long (the camera screen).
    private var waiting: SIDCancellableFrameSource?
    private var sourceClosed = false

    init(sdk: SID) { self.sdk = sdk }

    /// Called with the sealed template and payload, both to be forwarded to the backend.
    @discardableResult
    public func onSuccess(success: @escaping (_ template: String, _ payload: String) -> Void) -> SIDCaptureRequest {
        lock.sidLocked { self.success = success }
        return self
    }

    /// Called with a message (may be shown or logged) and a stable code (docs/error-codes.md).
    @discardableResult
    public func onFailure(failure: @escaping (_ message: String, _ errorCode: Int) -> Void) -> SIDCaptureRequest {
        lock.sidLocked { self.failure = failure }
        return self
    }

    /// Every frame's guidance, on the capture thread (in addition to the configured listener). What
    /// it throws is logged and ignored.
    @discardableResult
    public func onGuidance(_ block: @escaping (Guidance) throws -> Void) -> SIDCaptureRequest {
        lock.sidLocked { guidance = block }
        return self
    }

    /// Frames from this source instead of the configured one (recordings, custom cameras).
    @discardableResult
    public func frames(_ source: SIDFrameSource) -> SIDCaptureRequest {
        lock.sidLocked { self.source = source }
        return self
    }

    /// The capture token the bank's backend got from the server (`POST /api/kyc/session`) for this
    /// capture: the server's challenges are asked, and the capture is accepted once, for that user.
    @discardableResult
    public func captureToken(_ token: String) -> SIDCaptureRequest {
        lock.sidLocked { self.token = token }
        return self
    }

    /// Both outcomes as one callback, on the capture thread (the async form).
    func onComplete(_ block: @escaping (Result<SIDSealedCapture, SIDError>) -> Void) {
        lock.sidLocked { complete = block }
    }

    /// Starts the capture on a background thread. A request starts once: later calls do nothing.
    @discardableResult
    public func start() -> SIDCaptureRequest {
        let first = lock.sidLocked { () -> Bool in
            defer { started = true }
            return !started
        }
        guard first else { return self }
        let thread = Thread { [self] in
            let (outcome, queue) = run()
            deliver(outcome, on: queue)
        }
        thread.name = "smartid-capture"
        thread.stackSize = 4 << 20 // model inference runs on this thread
        thread.start()
        return self
    }

    /// Stops the capture; `onFailure` then reports 5005 (unless it already finished). Safe from any
    /// thread, also before `start()`.
    public func cancel() {
        let (running, blocked) = lock.sidLocked { () -> (CaptureSession?, SIDCancellableFrameSource?) in
            cancelled = true
            return (session, waiting)
        }
        // The capture thread reports the outcome; a failing cancel changes nothing there.
        _ = try? running?.cancel()
        // A camera waiting for permission or paused in the background delivers no frame that would let
        // the capture thread see the flag: its `nextFrame()` throws 5005 instead.
        blocked?.cancelWaiting()
    }

    private var isCancelled: Bool { lock.sidLocked { cancelled } }

    /// Closes the capture's source once: before sealing (the camera screen goes), or at the end.
    private func closeOnce(_ source: SIDFrameSource) {
        let first = lock.sidLocked { () -> Bool in
            defer { sourceClosed = true }
            return !sourceClosed
        }
        if first { source.close() }
    }

    /// The whole capture, on the capture thread: the outcome and where to deliver it.
    private func run() -> (Result<SIDSealedCapture, SIDError>, DispatchQueue?) {
        let stored = sdk.storedConfig()
        // An invalid configuration still names the queue its failure goes to.
        let queue = stored?.callbackQueue ?? Self.defaultQueue
        // The source is closed whatever happens, also when the capture never starts.
        var frames = lock.sidLocked { source }
        defer { if let frames { closeOnce(frames) } }
        do {
            let config = try sdk.validated(stored)
            if frames == nil { frames = try config.frameSource?() }
            #if os(iOS) && canImport(UIKit) && canImport(AVFoundation)
            if frames == nil {
                // iOS default: the SDK's own camera screen (SIDCaptureViewController), presented
                // full-screen from the key window's top-most view controller as the source is created.
                // A bad server key fails here (7001), before the camera opens; the models load before
                // it too, not while the user looks at a preview without guidance.
                _ = try checkServerKey(text: config.serverPublicKey)
                _ = try sdk.engine(for: config.models)
                frames = SIDCameraFrameSource()
            }
            #endif
            guard let frames else {
                throw SIDError(message: "no frame source: configure one or call frames(_:)", errorCode: SIDError.configInvalid)
            }
            lock.sidLocked { waiting = frames as? SIDCancellableFrameSource }
            defer { lock.sidLocked { waiting = nil } }
            return (.success(try capture(config, frames)), queue)
        } catch {
            return (.failure(SIDError.from(error)), queue)
        }
    }

    private func capture(_ config: SIDConfig, _ source: SIDFrameSource) throws -> SIDSealedCapture {
        // A bad key fails now (7001), not after the user has done the whole capture.
        _ = try checkServerKey(text: config.serverPublicKey)
        var listeners: [(Guidance) throws -> Void] = []
        if let l = config.guidanceListener { listeners.append(l) }
        if let l = lock.sidLocked({ guidance }) { listeners.append(l) }
        let sdk = self.sdk
        let s = try CaptureSession(
            engine: sdk.engine(for: config.models),
            options: config.options(captureToken: lock.sidLocked { token }, liveCamera: source.isLiveCamera),
            signals: SignalsAdapter(Self.signals(config), fallbackLocation: { sdk.lastLocation() }),
            listener: listeners.isEmpty ? nil : ListenerAdapter(listeners)
        )
        let cancelledEarly = lock.sidLocked { () -> Bool in
            session = s
            return cancelled
        }
        defer { lock.sidLocked { session = nil } }
        if cancelledEarly { try s.cancel() }
        while !isCancelled {
            guard let frame = try source.nextFrame() else { break }
            let g = try s.pushFrame(frame: frame)
            source.onGuidance(g)
            if g.step == .done || g.step == .failed { break }
        }
        if isCancelled { try s.cancel() }
        // The camera screen closes before sealing (which may wait seconds for an attestation): a cancel
        // pressed there could no longer change the outcome.
        closeOnce(source)
        let sealed = try s.finish(serverPublicKey: config.serverPublicKey, lifetimeSecs: UInt64(config.lifetimeSeconds))
        return SIDSealedCapture(template: try sealed.template(), payload: try sealed.payload(), summary: try sealed.summary())
    }

    /// Delivers the outcome once, then drops the app's closures (they often capture the screen that
    /// holds this request).
    private func deliver(_ outcome: Result<SIDSealedCapture, SIDError>, on queue: DispatchQueue?) {
        let (success, failure, complete) = lock.sidLocked { () -> (((String, String) -> Void)?, ((String, Int) -> Void)?, ((Result<SIDSealedCapture, SIDError>) -> Void)?) in
            defer {
                self.success = nil
                self.failure = nil
                self.complete = nil
                self.guidance = nil
                self.source = nil
            }
            return (self.success, self.failure, self.complete)
        }
        complete?(outcome)
        let callback: () -> Void = {
            switch outcome {
            case let .success(sealed): success?(sealed.template, sealed.payload)
            case let .failure(error): failure?(error.message, error.errorCode)
            }
        }
        if let queue {
            // The app's closures are not Sendable: they run on its queue, one after the other.
            let unchecked = UncheckedSendable(callback)
            queue.async { unchecked.value() }
        } else {
            callback()
        }
    }

    /// Where callbacks run when the configuration names no queue.
    private static var defaultQueue: DispatchQueue? {
        #if canImport(Darwin)
        return .main
        #else
        return nil
        #endif
    }
}

extension SIDCaptureRequest {
    /// The app's signals; on iOS, when it configured none, the SDK's own (`SIDIOSPlatformSignals`:
    /// jailbreak, injected libraries, App Attest), as Android uses `AndroidPlatformSignals`.
    static func signals(_ config: SIDConfig) -> SIDPlatformSignals {
        #if os(iOS) && canImport(UIKit) && canImport(DeviceCheck)
        if config.platformSignals is SIDNoPlatformSignals { return SIDIOSPlatformSignals() }
        #endif
        return config.platformSignals
    }
}

/// A frame source whose `nextFrame()` may block for long (a camera waiting for permission, paused in
/// the background or interrupted): `SIDCaptureRequest.cancel()` wakes it, so a cancel ends the capture
/// at once with 5005 instead of at the next frame.
protocol SIDCancellableFrameSource: SIDFrameSource {
    /// Makes the pending and every later `nextFrame()` throw 5005. Called from any thread.
    func cancelWaiting()
}

/// A value handed to another thread that the SDK does not touch concurrently.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
