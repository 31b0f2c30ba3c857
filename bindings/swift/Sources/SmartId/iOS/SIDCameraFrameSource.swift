#if os(iOS) && canImport(UIKit) && canImport(AVFoundation)
import Dispatch
import Foundation
import SmartIdFFI
import UIKit

/// Frames from the SDK's own camera screen (`SIDCaptureViewController`): the front camera, the user's
/// face in an oval, the guidance prompts, a Cancel button.
///
/// On iOS a capture uses it by default (no `frames(_:)`, no `SIDConfig.frameSource`). Creating one
/// presents the screen full-screen (on the main queue; the initializer returns at once and may be called
/// from any thread, e.g. inside `SIDConfig.frameSource`), so create it when the capture starts.
///
/// - `nextFrame()` blocks until the camera delivers a frame. At most two frames wait: when the capture
///   thread is busy the older ones are dropped (see `SIDFrameChannel`).
/// - It throws `SIDError` 5005 when the user taps Cancel or the screen is dismissed, 5008 when camera
///   access is denied, 5009 when there is no front camera, the camera fails while capturing, or the
///   screen cannot be shown.
/// - `onGuidance(_:)` updates the screen on the main queue; `close()` dismisses it on the main queue.
///
/// The app's Info.plist needs `NSCameraUsageDescription` (iOS ends an app that asks for the camera
/// without it).
public final class SIDCameraFrameSource: SIDFrameSource, SIDCancellableFrameSource, Sendable {
    /// AVFoundation presentation times: the core checks them against its own clock.
    public var isLiveCamera: Bool { true }
    private let channel: SIDFrameChannel
    private let screen: SIDCaptureScreenLink

    /// Presents the camera screen from `presenter` (held weakly), or, when `nil`, from the top-most view
    /// controller of the key window of the foreground scene.
    public init(presentingFrom presenter: UIViewController? = nil) {
        let channel = SIDFrameChannel(capacity: 2)
        let screen = SIDCaptureScreenLink(presenter: presenter)
        self.channel = channel
        self.screen = screen
        DispatchQueue.main.async {
            SIDCaptureViewController.present(channel: channel, screen: screen)
        }
    }

    public func nextFrame() throws -> CameraFrame? {
        try channel.next()
    }

    public func onGuidance(_ guidance: Guidance) {
        let screen = self.screen
        DispatchQueue.main.async {
            screen.controller?.show(guidance)
        }
    }

    /// Called by the SDK once the capture is over: no more frames are taken and the screen goes away.
    /// Main-queue blocks run in order, so a `close()` right after `init` still finds the screen presented
    /// (or keeps it from being presented).
    public func close() {
        channel.close()
        let screen = self.screen
        DispatchQueue.main.async {
            screen.controller?.finish()
        }
    }

    func cancelWaiting() {
        channel.fail(SIDError(message: "capture cancelled", errorCode: SIDError.cancelled))
    }
}

/// What a `SIDCameraFrameSource` knows of the screen: weak references to the view controller it
/// presents from and to the one it presented. The source only dereferences them in main-queue blocks,
/// so a view controller is never released (or deallocated) off the main thread through this link.
final class SIDCaptureScreenLink: @unchecked Sendable {
    // @unchecked Sendable: both references are read and written with `lock` held.
    private let lock = NSLock()
    private weak var presenterRef: UIViewController?
    private weak var controllerRef: SIDCaptureViewController?

    init(presenter: UIViewController?) {
        presenterRef = presenter
    }

    var presenter: UIViewController? {
        lock.sidLocked { presenterRef }
    }

    var controller: SIDCaptureViewController? {
        get { lock.sidLocked { controllerRef } }
        set { lock.sidLocked { controllerRef = newValue } }
    }
}
#endif
