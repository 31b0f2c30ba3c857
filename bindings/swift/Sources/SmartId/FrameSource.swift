/// Frames for one capture: the iOS camera screen, or a recording (`SIDRecordedFrames`). Called from
/// the capture thread only.
public protocol SIDFrameSource: AnyObject {
    /// The next frame, blocking until one is there; `nil` when there are no more. A thrown `SIDError`
    /// ends the capture with its code (other errors with 9001).
    func nextFrame() throws -> CameraFrame?

    /// True for a live camera (the SDK's camera screen): the core then checks the frame timestamps
    /// against its own monotonic clock, and a recording replayed faster than real time fails with
    /// 5010. Default: false (recordings).
    var isLiveCamera: Bool { get }

    /// Told the guidance of each frame (the camera screen draws it). Default: nothing.
    func onGuidance(_ guidance: Guidance)

    /// Called once when the capture is over, whatever the outcome. Default: nothing.
    func close()
}

extension SIDFrameSource {
    public var isLiveCamera: Bool { false }
    public func onGuidance(_ guidance: Guidance) {}
    public func close() {}
}
