#if os(iOS) && canImport(UIKit) && canImport(AVFoundation)
import AVFoundation
import CoreMedia
import CoreVideo
import Dispatch
import Foundation
import SmartIdFFI
import UIKit
import os

/// The SDK's camera screen, presented full-screen by `SIDCameraFrameSource` (the default frame source
/// of a capture on iOS): the front camera's preview (mirrored, as users expect of a selfie), the face
/// oval (its colour follows the guidance step), a short prompt, the progress and a Cancel button.
///
/// Apps do not create it; they may replace its texts (`promptText`). Everything here runs on the main
/// thread; the camera runs on its own queues (`SIDCameraSession`). The frames go to the capture thread
/// through a `SIDFrameChannel` as the camera delivers them, **not mirrored** (the core expects the
/// camera's own view, like a recording) with the rotation that makes them upright
/// (`rotationDegrees(for:)`).
///
/// Lifecycle: the camera starts once access is granted and the screen is visible, stops when the screen
/// disappears or the app goes to the background, and starts again when it returns. Cancel or dismissing
/// the screen ends the capture with 5005; a denied camera access with 5008; no front camera or a camera
/// failure with 5009. Nothing is kept after dismissal: the screen holds the camera and the channel, the
/// camera holds the channel, and neither points back.
public final class SIDCaptureViewController: UIViewController {
    // MARK: - Texts

    /// The app's own prompt texts (another language, another tone), consulted before the SDK's English
    /// ones: return `nil` to keep the SDK's text for a prompt. Set it on the main thread, e.g. at app
    /// start: `SIDCaptureViewController.promptText = { NSLocalizedString("prompt.\($0)", comment: "") }`.
    public static var promptText: ((Prompt) -> String?)?

    /// The text shown for `prompt`: the app's (`promptText`), else the SDK's English one.
    public static func text(for prompt: Prompt) -> String {
        promptText?(prompt) ?? defaultText(for: prompt)
    }

    /// The SDK's short English text for each prompt. "Left" and "right" are the user's own (the core's
    /// turn-left is a turn to the subject's left).
    public nonisolated static func defaultText(for prompt: Prompt) -> String {
        switch prompt {
        case .noFace: return "Place your face in the oval"
        case .severalFaces: return "Only one face, please"
        case .moveCloser: return "Move closer"
        case .moveBack: return "Move back a little"
        case .centreFace: return "Centre your face in the oval"
        case .lookStraight: return "Look straight at the screen"
        case .openEyes: return "Keep your eyes open"
        case .tooDark: return "Find more light"
        case .tooBright: return "Too bright: avoid direct light"
        case .blurry: return "Hold the phone steady"
        case .poorImage: return "Move closer to the light and hold the phone steady"
        case .holdStill: return "Hold still"
        case .blink: return "Blink"
        case .turnLeft: return "Turn your head to your left"
        case .turnRight: return "Turn your head to your right"
        case .lookUp: return "Look up"
        case .smile: return "Smile"
        case .done: return "Done"
        case .failed: return "Capture failed"
        }
    }

    // MARK: - Rotation

    /// Clockwise rotation (degrees) that makes a front-camera buffer upright for the interface
    /// orientation, as `CameraFrame.rotationDegrees`.
    ///
    /// `AVCaptureVideoDataOutput` delivers the front camera's buffers in the sensor's native landscape
    /// orientation, not mirrored (this screen turns mirroring off on the output's connection): a buffer
    /// is upright when the interface is in `landscapeLeft` (the device's top edge to the right of the
    /// user looking at the screen). From there:
    ///
    /// | interface orientation | rotationDegrees |
    /// |---|---|
    /// | `.portrait` (and `.unknown`) | 90 |
    /// | `.landscapeLeft` | 0 |
    /// | `.portraitUpsideDown` | 270 |
    /// | `.landscapeRight` | 180 |
    ///
    /// (The back camera's native orientation is `landscapeRight` instead: its landscape rows swap.)
    /// The rotation is not done by AVFoundation (`videoOrientation` on the output's connection would
    /// physically rotate every buffer): the core rotates while converting, in the same pass.
    public nonisolated static func rotationDegrees(for orientation: UIInterfaceOrientation) -> UInt32 {
        switch orientation {
        case .portrait: return 90
        case .landscapeLeft: return 0
        case .portraitUpsideDown: return 270
        case .landscapeRight: return 180
        case .unknown: return 90
        @unknown default: return 90
        }
    }

    // MARK: - State (main thread)

    private let channel: SIDFrameChannel
    private let camera: SIDCameraSession
    private let previewLayer = AVCaptureVideoPreviewLayer()
    private let dimLayer = CAShapeLayer()
    private let ovalLayer = CAShapeLayer()
    private let promptLabel = UILabel()
    private let progressView = UIProgressView(progressViewStyle: .default)
    private let cancelButton = UIButton(type: .system)
    private var isVisible = false
    private var isInForeground = true
    private var pausedText: String? // set while the camera is interrupted
    private var promptShown: String?
    private var isOver = false // cancelled, dismissed, failed or finished: the camera stays off
    private var hasAppeared = false
    private var dismissWhenShown = false // the capture ended while the screen was being presented

    init(channel: SIDFrameChannel) {
        self.channel = channel
        self.camera = SIDCameraSession(channel: channel)
        super.init(nibName: nil, bundle: nil)
        modalPresentationStyle = .fullScreen
        isModalInPresentation = true
    }

    /// Not available: the screen is created by `SIDCameraFrameSource`.
    public required init?(coder: NSCoder) {
        return nil
    }

    public override var prefersStatusBarHidden: Bool { true }

    // MARK: - Presentation

    /// Presents a new screen for `channel` (the frame source calls this on the main queue).
    static func present(channel: SIDFrameChannel, screen: SIDCaptureScreenLink) {
        // The capture may already be over (its models failed to load, the app cancelled it).
        guard channel.isOpen else { return }
        guard let presenter = screen.presenter ?? topViewController() else {
            channel.fail(SIDError(
                message: "camera unavailable: no view controller to present the capture screen from",
                errorCode: SIDError.cameraUnavailable))
            return
        }
        let controller = SIDCaptureViewController(channel: channel)
        screen.controller = controller
        presenter.present(controller, animated: true)
        // UIKit declines a presentation from a view controller that is already presenting or not in a
        // window, and only logs it: then no frame would ever come. Checked once the transition has had
        // time to begin; a screen already dismissed has ended the capture, and a later failure is ignored.
        Task { @MainActor [weak controller] in
            try? await Task.sleep(nanoseconds: 1_000_000_000)
            guard controller?.presentingViewController == nil else { return }
            channel.fail(SIDError(
                message: "camera unavailable: the capture screen could not be shown",
                errorCode: SIDError.cameraUnavailable))
        }
    }

    /// The top-most view controller of the key window of the foreground scene (UIWindowScene API; the
    /// deprecated `UIApplication.keyWindow` is not used).
    static func topViewController() -> UIViewController? {
        let scenes = UIApplication.shared.connectedScenes.compactMap { $0 as? UIWindowScene }
        let scene = scenes.first { $0.activationState == .foregroundActive }
            ?? scenes.first { $0.activationState == .foregroundInactive }
        guard let window = scene?.keyWindow ?? scene?.windows.first(where: { !$0.isHidden }) else { return nil }
        var top = window.rootViewController
        while let presented = top?.presentedViewController, !presented.isBeingDismissed {
            top = presented
        }
        return top
    }

    // MARK: - View lifecycle

    public override func viewDidLoad() {
        super.viewDidLoad()
        view.backgroundColor = .black

        previewLayer.session = camera.session
        previewLayer.videoGravity = .resizeAspectFill
        view.layer.addSublayer(previewLayer)

        dimLayer.fillRule = .evenOdd
        dimLayer.fillColor = UIColor.black.withAlphaComponent(0.55).cgColor
        view.layer.addSublayer(dimLayer)

        ovalLayer.fillColor = UIColor.clear.cgColor
        ovalLayer.lineWidth = 4
        ovalLayer.strokeColor = Self.ovalColour(for: .positioning).cgColor
        view.layer.addSublayer(ovalLayer)

        promptLabel.translatesAutoresizingMaskIntoConstraints = false
        promptLabel.font = UIFont.preferredFont(forTextStyle: .title2)
        promptLabel.adjustsFontForContentSizeCategory = true
        promptLabel.textColor = .white
        promptLabel.textAlignment = .center
        promptLabel.numberOfLines = 0
        promptLabel.accessibilityTraits.insert(.updatesFrequently)
        view.addSubview(promptLabel)

        progressView.translatesAutoresizingMaskIntoConstraints = false
        progressView.progressTintColor = .systemGreen
        progressView.trackTintColor = UIColor.white.withAlphaComponent(0.3)
        progressView.isAccessibilityElement = false
        view.addSubview(progressView)

        cancelButton.translatesAutoresizingMaskIntoConstraints = false
        cancelButton.setTitle("Cancel", for: .normal)
        cancelButton.setTitleColor(.white, for: .normal)
        cancelButton.titleLabel?.font = UIFont.preferredFont(forTextStyle: .headline)
        cancelButton.titleLabel?.adjustsFontForContentSizeCategory = true
        cancelButton.addTarget(self, action: #selector(cancelTapped), for: .touchUpInside)
        view.addSubview(cancelButton)

        let guide = view.safeAreaLayoutGuide
        NSLayoutConstraint.activate([
            promptLabel.topAnchor.constraint(equalTo: guide.topAnchor, constant: 24),
            promptLabel.leadingAnchor.constraint(equalTo: guide.leadingAnchor, constant: 24),
            promptLabel.trailingAnchor.constraint(equalTo: guide.trailingAnchor, constant: -24),
            cancelButton.bottomAnchor.constraint(equalTo: guide.bottomAnchor, constant: -16),
            cancelButton.centerXAnchor.constraint(equalTo: guide.centerXAnchor),
            cancelButton.heightAnchor.constraint(greaterThanOrEqualToConstant: 44),
            progressView.bottomAnchor.constraint(equalTo: cancelButton.topAnchor, constant: -16),
            progressView.leadingAnchor.constraint(equalTo: guide.leadingAnchor, constant: 48),
            progressView.trailingAnchor.constraint(equalTo: guide.trailingAnchor, constant: -48),
        ])

        // UIApplication posts these on the main thread. Selector observers are removed by the system
        // when this controller is deallocated (iOS 9 and later).
        let center = NotificationCenter.default
        center.addObserver(self, selector: #selector(appDidEnterBackground),
                           name: UIApplication.didEnterBackgroundNotification, object: nil)
        center.addObserver(self, selector: #selector(appWillEnterForeground),
                           name: UIApplication.willEnterForegroundNotification, object: nil)
        // AVFoundation posts these on a thread of its own: the handlers hop to the main queue.
        center.addObserver(self, selector: #selector(sessionWasInterrupted(_:)),
                           name: AVCaptureSession.wasInterruptedNotification, object: camera.session)
        center.addObserver(self, selector: #selector(sessionInterruptionEnded(_:)),
                           name: AVCaptureSession.interruptionEndedNotification, object: camera.session)
        isInForeground = UIApplication.shared.applicationState != .background

        setPrompt(Self.text(for: .noFace))
        requestCameraAccess()
    }

    public override func viewWillAppear(_ animated: Bool) {
        super.viewWillAppear(animated)
        isVisible = true
        updateCamera()
    }

    public override func viewDidAppear(_ animated: Bool) {
        super.viewDidAppear(animated)
        hasAppeared = true
        if dismissWhenShown {
            dismissWhenShown = false
            presentingViewController?.dismiss(animated: true)
        }
    }

    public override func viewDidDisappear(_ animated: Bool) {
        super.viewDidDisappear(animated)
        isVisible = false
        updateCamera()
        // Dismissed by anyone but the capture itself (the app dismissing its own presenter, for one):
        // the user is no longer in the capture, which ends as cancelled.
        if isBeingDismissed || presentingViewController == nil {
            end(SIDError(message: "capture cancelled: the capture screen was closed", errorCode: SIDError.cancelled),
                dismiss: false)
        }
    }

    public override func viewDidLayoutSubviews() {
        super.viewDidLayoutSubviews()
        let bounds = view.bounds
        let oval = Self.ovalRect(in: bounds.inset(by: view.safeAreaInsets))
        let outside = UIBezierPath(rect: bounds)
        outside.append(UIBezierPath(ovalIn: oval))
        CATransaction.begin()
        CATransaction.setDisableActions(true) // no implicit animation on rotation
        previewLayer.frame = bounds
        dimLayer.frame = bounds
        dimLayer.path = outside.cgPath
        ovalLayer.frame = bounds
        ovalLayer.path = UIBezierPath(ovalIn: oval).cgPath
        CATransaction.commit()
        applyOrientation()
    }

    /// A 180° turn (landscape left to right, portrait to upside-down) keeps the view's size, so no layout
    /// pass is guaranteed: re-read the orientation when the transition ends (as Apple's AVCam does).
    public override func viewWillTransition(to size: CGSize, with coordinator: UIViewControllerTransitionCoordinator) {
        super.viewWillTransition(to: size, with: coordinator)
        coordinator.animate(alongsideTransition: nil) { [weak self] _ in
            self?.applyOrientation()
        }
    }

    // MARK: - Guidance (from the frame source, on the main queue)

    /// Shows one frame's guidance: the prompt, the progress, the oval's colour.
    func show(_ guidance: Guidance) {
        guard !isOver else { return }
        let progress = guidance.progress.isFinite ? min(max(guidance.progress, 0), 1) : 0
        progressView.setProgress(progress, animated: true)
        ovalLayer.strokeColor = Self.ovalColour(for: guidance.step).cgColor
        if pausedText == nil {
            setPrompt(Self.text(for: guidance.prompt))
        }
    }

    /// The capture is over (the frame source's `close()`): the camera stops and the screen goes away.
    func finish() {
        guard !isOver else { return } // closed before sealing and again at the end
        isOver = true
        camera.shutdown()
        dismissScreen()
    }

    // MARK: - Private

    private static func ovalColour(for step: Step) -> UIColor {
        switch step {
        case .positioning: return .white
        case .challenge: return .systemYellow
        case .capturing, .done: return .systemGreen
        case .failed: return .systemRed
        }
    }

    /// A face-shaped oval in the middle of `area`: 70 % of its shorter side wide, 1.3 times as tall.
    private static func ovalRect(in area: CGRect) -> CGRect {
        let width = min(area.width * 0.7, area.height * 0.7 / 1.3)
        let height = width * 1.3
        return CGRect(x: area.midX - width / 2, y: area.midY - height / 2, width: width, height: height)
    }

    private func setPrompt(_ text: String) {
        guard text != promptShown else { return }
        promptShown = text
        promptLabel.text = text
        if UIAccessibility.isVoiceOverRunning {
            UIAccessibility.post(notification: .announcement, argument: text)
        }
    }

    private func requestCameraAccess() {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized:
            startCamera()
        case .notDetermined:
            // The completion handler runs on an arbitrary queue.
            AVCaptureDevice.requestAccess(for: .video) { [weak self] granted in
                DispatchQueue.main.async { [weak self] in
                    guard let self else { return }
                    if granted {
                        self.startCamera()
                    } else {
                        self.end(Self.permissionDenied, dismiss: true)
                    }
                }
            }
        case .denied, .restricted:
            end(Self.permissionDenied, dismiss: true)
        @unknown default:
            end(Self.permissionDenied, dismiss: true)
        }
    }

    private static var permissionDenied: SIDError {
        SIDError(message: "camera permission denied", errorCode: SIDError.cameraPermission)
    }

    private func startCamera() {
        guard !isOver else { return }
        // Once the session has its input the preview layer has a connection to orient.
        camera.configure { [weak self] in
            DispatchQueue.main.async { [weak self] in self?.applyOrientation() }
        }
        updateCamera()
    }

    /// Runs the camera only while the screen is visible, the app in the foreground and the capture on.
    private func updateCamera() {
        camera.setActive(isVisible && isInForeground && !isOver)
    }

    /// Ends the capture from the screen's side (Cancel, permission, dismissal): the capture thread sees
    /// `error` at its next `nextFrame()`; the camera stops at once.
    private func end(_ error: SIDError, dismiss shouldDismiss: Bool) {
        guard !isOver else { return }
        isOver = true
        channel.fail(error)
        camera.shutdown()
        if shouldDismiss {
            dismissScreen()
        }
    }

    /// Dismisses the screen (and anything the app presented over it). UIKit ignores a dismissal while
    /// the presentation is still running (a capture can fail that fast: denied access, a bad model
    /// file), so then it waits for `viewDidAppear`.
    private func dismissScreen() {
        guard let presenter = presentingViewController, !isBeingDismissed else { return }
        if hasAppeared, !isBeingPresented {
            presenter.dismiss(animated: true)
        } else {
            dismissWhenShown = true
        }
    }

    /// Orients the preview for the interface and tells the frames which rotation makes them upright.
    private func applyOrientation() {
        let orientation = view.window?.windowScene?.interfaceOrientation ?? .portrait
        camera.setRotation(Self.rotationDegrees(for: orientation))
        guard let connection = previewLayer.connection else { return }
        if connection.isVideoMirroringSupported {
            connection.automaticallyAdjustsVideoMirroring = false
            connection.isVideoMirrored = true // a selfie preview is a mirror
        }
        if #available(iOS 17.0, *) {
            // The rotation angle of each AVCaptureVideoOrientation: portrait 90, landscapeRight 0,
            // landscapeLeft 180, portraitUpsideDown 270.
            let angle: CGFloat
            switch orientation {
            case .landscapeRight: angle = 0
            case .landscapeLeft: angle = 180
            case .portraitUpsideDown: angle = 270
            default: angle = 90
            }
            if connection.isVideoRotationAngleSupported(angle) {
                connection.videoRotationAngle = angle
            }
        } else if connection.isVideoOrientationSupported {
            switch orientation {
            case .landscapeRight: connection.videoOrientation = .landscapeRight
            case .landscapeLeft: connection.videoOrientation = .landscapeLeft
            case .portraitUpsideDown: connection.videoOrientation = .portraitUpsideDown
            default: connection.videoOrientation = .portrait
            }
        }
    }

    @objc private func cancelTapped() {
        end(SIDError(message: "capture cancelled by the user", errorCode: SIDError.cancelled), dismiss: true)
    }

    @objc private func appDidEnterBackground() {
        isInForeground = false
        updateCamera()
    }

    @objc private func appWillEnterForeground() {
        isInForeground = true
        updateCamera()
    }

    @objc private nonisolated func sessionWasInterrupted(_ notification: Notification) {
        let raw = (notification.userInfo?[AVCaptureSessionInterruptionReasonKey] as? NSNumber)?.intValue
        let text = Self.pausedText(for: raw.flatMap { AVCaptureSession.InterruptionReason(rawValue: $0) })
        DispatchQueue.main.async { [weak self] in
            guard let self, !self.isOver else { return }
            self.pausedText = text
            self.setPrompt(text)
        }
    }

    @objc private nonisolated func sessionInterruptionEnded(_ notification: Notification) {
        // AVFoundation restarts an interrupted session by itself; the next guidance brings a prompt back.
        DispatchQueue.main.async { [weak self] in
            self?.pausedText = nil
        }
    }

    private nonisolated static func pausedText(for reason: AVCaptureSession.InterruptionReason?) -> String {
        switch reason {
        case .videoDeviceInUseByAnotherClient?: return "The camera is in use by another app"
        case .videoDeviceNotAvailableWithMultipleForegroundApps?: return "Use the app full screen to continue"
        case .videoDeviceNotAvailableDueToSystemPressure?: return "Camera paused: the device is too warm"
        default: return "Camera paused"
        }
    }
}

// MARK: - Camera

/// The AVFoundation side of the camera screen: the front wide-angle camera into an
/// `AVCaptureVideoDataOutput` of `kCVPixelFormatType_32BGRA` buffers, late frames discarded.
///
/// Every session call (configuration, start, stop) runs on `sessionQueue`, as AVFoundation asks
/// (`startRunning()` blocks); frames arrive on `frameQueue`, a serial queue, and go to the channel.
/// A runtime error ends the capture with 5009, except one media-services reset, after which the
/// session is restarted once (as in Apple's AVCam).
final class SIDCameraSession: NSObject, @unchecked Sendable {
    // @unchecked Sendable: `session`, `output` and the receiver are AVFoundation objects used on
    // `sessionQueue` only (the preview layer is handed `session` once, on the main thread, as AVCam does);
    // every `var` below is read and written with `lock` held.
    let session = AVCaptureSession()
    private let output = AVCaptureVideoDataOutput()
    private let receiver: SIDFrameReceiver
    private let channel: SIDFrameChannel
    private let sessionQueue = DispatchQueue(label: "com.smartid.camera.session")
    private let frameQueue = DispatchQueue(label: "com.smartid.camera.frames", qos: .userInitiated)
    private let lock = NSLock()
    private var configuring = false
    private var configured = false
    private var active = false
    private var shutDown = false
    private var resetRestarts = 0

    /// The frames' size. 640×480 is ample for the models (the detector sees 128 px, the embedder a
    /// 150 px face chip) and keeps each copy at 1.2 MB; the preview is scaled from it.
    static let preset: AVCaptureSession.Preset = .vga640x480

    init(channel: SIDFrameChannel) {
        self.channel = channel
        self.receiver = SIDFrameReceiver(channel: channel)
        super.init()
        NotificationCenter.default.addObserver(self, selector: #selector(sessionRuntimeError(_:)),
                                               name: AVCaptureSession.runtimeErrorNotification, object: session)
    }

    /// Adds the camera and the output (once, on the session queue), then runs the session if it is
    /// wanted. `onReady` runs on the session queue after a successful configuration. Failures end the
    /// capture with 5009.
    func configure(onReady: @escaping @Sendable () -> Void) {
        let go = lock.sidLocked { () -> Bool in
            guard !configuring, !shutDown else { return false }
            configuring = true
            return true
        }
        guard go else { return }
        sessionQueue.async { [self] in
            do {
                try buildSession()
            } catch {
                channel.fail(SIDError.from(error))
                return
            }
            lock.sidLocked { configured = true }
            applyRunState()
            onReady()
        }
    }

    /// Whether the session should run (the screen visible, the app in the foreground). Any thread.
    func setActive(_ wanted: Bool) {
        lock.sidLocked { active = wanted }
        sessionQueue.async { [self] in applyRunState() }
    }

    /// The clockwise rotation that makes the next buffers upright. Any thread.
    func setRotation(_ degrees: UInt32) {
        receiver.setRotation(degrees)
    }

    /// Stops the camera for good (the capture is over). Any thread; idempotent.
    func shutdown() {
        lock.sidLocked {
            shutDown = true
            active = false
        }
        sessionQueue.async { [self] in
            if session.isRunning { session.stopRunning() }
            output.setSampleBufferDelegate(nil, queue: nil)
        }
    }

    // MARK: Session queue only

    private func buildSession() throws {
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .front) else {
            throw SIDError(message: "camera unavailable: no front camera", errorCode: SIDError.cameraUnavailable)
        }
        let input: AVCaptureDeviceInput
        do {
            input = try AVCaptureDeviceInput(device: device)
        } catch {
            throw SIDError(message: "camera unavailable: the front camera could not be opened",
                           errorCode: SIDError.cameraUnavailable)
        }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        if session.canSetSessionPreset(Self.preset) {
            session.sessionPreset = Self.preset
        }
        guard session.canAddInput(input) else {
            throw SIDError(message: "camera unavailable: the front camera cannot be used", errorCode: SIDError.cameraUnavailable)
        }
        session.addInput(input)

        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(receiver, queue: frameQueue)
        guard session.canAddOutput(output) else {
            throw SIDError(message: "camera unavailable: no video output", errorCode: SIDError.cameraUnavailable)
        }
        session.addOutput(output)
        // The buffers stay in the sensor's orientation (the core rotates them) and are NOT mirrored:
        // the core expects the camera's own view, like a recording. Only the preview is mirrored.
        if let connection = output.connection(with: .video), connection.isVideoMirroringSupported {
            connection.automaticallyAdjustsVideoMirroring = false
            connection.isVideoMirrored = false
        }
    }

    private func applyRunState() {
        let run = lock.sidLocked { configured && active && !shutDown }
        if run, channel.isOpen {
            if !session.isRunning { session.startRunning() }
        } else if session.isRunning {
            session.stopRunning()
        }
    }

    /// AVFoundation posts this on a thread of its own.
    @objc private func sessionRuntimeError(_ notification: Notification) {
        let error = notification.userInfo?[AVCaptureSessionErrorKey] as? NSError
        let mediaServicesReset = error.map {
            $0.domain == AVFoundationErrorDomain && $0.code == AVError.Code.mediaServicesWereReset.rawValue
        } ?? false
        if let error {
            SIDIOSLog.camera.error("camera runtime error: \(error.domain, privacy: .public) \(error.code, privacy: .public)")
        }
        sessionQueue.async { [self] in
            let retry = lock.sidLocked { () -> Bool in
                guard mediaServicesReset, active, !shutDown, resetRestarts == 0 else { return false }
                resetRestarts += 1
                return true
            }
            if retry {
                session.startRunning()
                if session.isRunning { return }
            }
            channel.fail(SIDError(message: "camera unavailable: the camera stopped", errorCode: SIDError.cameraUnavailable))
            if session.isRunning { session.stopRunning() }
        }
    }
}

/// Turns each camera buffer into a `CameraFrame` for the channel, on the camera's frame queue. A
/// separate object from `SIDCameraSession`, so the output (which may keep its delegate) never holds the
/// session's owner.
final class SIDFrameReceiver: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, @unchecked Sendable {
    // @unchecked Sendable: `rotation` is read and written with `lock` held; `channel` is thread-safe.
    private let channel: SIDFrameChannel
    private let lock = NSLock()
    private var rotation: UInt32 = 90

    /// Largest width or height the core accepts.
    static let maxSide = 8192

    init(channel: SIDFrameChannel) {
        self.channel = channel
        super.init()
    }

    func setRotation(_ degrees: UInt32) {
        lock.sidLocked { rotation = degrees }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard channel.isOpen else { return }
        let degrees = lock.sidLocked { rotation }
        guard let frame = Self.cameraFrame(from: sampleBuffer, rotationDegrees: degrees) else { return }
        channel.offer(frame)
    }

    /// The buffer as a `.bgra8` frame: its width and height, `rowStride` = its bytes per row, the bytes
    /// copied row by row (row padding left zero) while the base address is locked read-only, and the
    /// presentation time in milliseconds on the session's clock (the host clock: monotonic). Nil for a
    /// buffer that is not packed 32BGRA or cannot be read.
    static func cameraFrame(from sampleBuffer: CMSampleBuffer, rotationDegrees: UInt32) -> CameraFrame? {
        guard let pixelBuffer = CMSampleBufferGetImageBuffer(sampleBuffer),
              CVPixelBufferGetPixelFormatType(pixelBuffer) == kCVPixelFormatType_32BGRA,
              !CVPixelBufferIsPlanar(pixelBuffer) else { return nil }
        let width = CVPixelBufferGetWidth(pixelBuffer)
        let height = CVPixelBufferGetHeight(pixelBuffer)
        guard CVPixelBufferLockBaseAddress(pixelBuffer, .readOnly) == kCVReturnSuccess else { return nil }
        defer { CVPixelBufferUnlockBaseAddress(pixelBuffer, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddress(pixelBuffer) else { return nil }
        let bytesPerRow = CVPixelBufferGetBytesPerRow(pixelBuffer)
        let rowBytes = width * 4
        guard (1...maxSide).contains(width), (1...maxSide).contains(height), bytesPerRow >= rowBytes,
              let width32 = UInt32(exactly: width), let height32 = UInt32(exactly: height),
              let stride32 = UInt32(exactly: bytesPerRow) else { return nil }

        var data = Data(count: bytesPerRow * height)
        data.withUnsafeMutableBytes { (destination: UnsafeMutableRawBufferPointer) in
            guard let out = destination.baseAddress else { return }
            for row in 0..<height {
                (out + row * bytesPerRow).copyMemory(from: base + row * bytesPerRow, byteCount: rowBytes)
            }
        }

        let seconds = CMTimeGetSeconds(CMSampleBufferGetPresentationTimeStamp(sampleBuffer))
        let milliseconds = seconds.isFinite && seconds > 0 && seconds < 1e12 ? UInt64(seconds * 1000) : 0
        return CameraFrame(
            format: .bgra8,
            width: width32,
            height: height32,
            rowStride: stride32,
            chromaStride: 0,
            rotationDegrees: rotationDegrees,
            timestampMs: milliseconds,
            data: data
        )
    }
}
#endif
