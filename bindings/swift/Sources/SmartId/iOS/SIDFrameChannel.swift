import Foundation
import SmartIdFFI

/// Frames from a camera's delivery queue to the capture thread (`SIDCameraFrameSource`).
///
/// Bounded: at most `capacity` frames wait. When the capture thread is busy (a frame is in the models),
/// the oldest waiting frame is dropped, so the capture always works on recent pictures, in their order,
/// and memory stays small whatever the camera's rate. A failure (the user cancelled, the permission was
/// denied, the camera failed) wakes the capture thread at once and outranks waiting frames; the first
/// failure wins and later ones are ignored, as are frames offered after it or after `close()`.
///
/// Platform-neutral (Foundation only), so the Linux build compiles it too; only iOS uses it.
final class SIDFrameChannel: @unchecked Sendable {
    // @unchecked Sendable: every `var` below is read and written with `condition` locked (an NSCondition
    // is a mutex and a condition variable in one); `capacity` is immutable.
    private let condition = NSCondition()
    private let capacity: Int
    private var frames: [CameraFrame] = []
    private var failure: SIDError?
    private var closed = false

    /// How long `next()` waits for a frame before ending the capture (5001): a camera interrupted for
    /// good, the app left in the background or the screen covered must not hold the capture thread, the
    /// session and the models forever. The same limit as the Android screen's.
    private let idleLimit: TimeInterval

    init(capacity: Int = 2, idleLimit: TimeInterval = 120) {
        self.capacity = max(1, capacity)
        self.idleLimit = idleLimit
    }

    /// False once the capture has failed or the channel is closed: nothing more will be taken.
    var isOpen: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !closed && failure == nil
    }

    /// Hands over one frame (any thread). Returns false when the channel no longer takes frames.
    @discardableResult
    func offer(_ frame: CameraFrame) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, failure == nil else { return false }
        if frames.count >= capacity {
            frames.removeFirst(frames.count - capacity + 1) // the capture thread is behind: drop the oldest
        }
        frames.append(frame)
        condition.signal()
        return true
    }

    /// Ends the capture with `error` (any thread): the waiting and every later `next()` throw it. Only
    /// the first failure counts; after `close()` nothing changes.
    func fail(_ error: SIDError) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, failure == nil else { return }
        failure = error
        frames.removeAll()
        condition.broadcast()
    }

    /// No more frames (the capture is over): a waiting `next()` returns nil.
    func close() {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        frames.removeAll()
        condition.broadcast()
    }

    /// The oldest waiting frame, blocking until there is one; throws the failure, if any; nil once
    /// closed. Called on the capture thread.
    func next() throws -> CameraFrame? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: idleLimit)
        while frames.isEmpty, failure == nil, !closed {
            if !condition.wait(until: deadline), frames.isEmpty, failure == nil, !closed {
                failure = SIDError(message: "no camera frame for \(Int(idleLimit)) s: the capture screen was left",
                                   errorCode: SIDError.captureTimeout)
            }
        }
        if let failure { throw failure }
        if frames.isEmpty { return nil }
        return frames.removeFirst()
    }
}
