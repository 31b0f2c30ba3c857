import Dispatch
import Foundation
import SmartIdFFI

/// Where the models come from: a folder (desktop, an unpacked bundle) or bytes (bundle resources).
public enum SIDModels: Equatable, Sendable {
    /// A folder holding `manifest.toml` and the files it names, or a manifest file in such a folder
    /// (e.g. `manifest-antispoof.toml`, the set with passive anti-spoof: read its licence warning).
    case folder(path: String)
    /// The manifest text and every file it names, as bytes keyed by the manifest's `file` names.
    case files(manifest: String, files: [String: Data])
}

/// Everything the SDK needs, given once to `SID.configure(_:)`.
///
/// Closures and `platformSignals` are called on the capture thread, never on the main thread.
public struct SIDConfig: @unchecked Sendable, CustomStringConvertible {
    /// The bank server's key text (`SIDPK1:<key id>:…`); public, never a secret.
    public var serverPublicKey: String
    public var models: SIDModels
    public var liveness: LivenessMode
    /// How many random challenges (1...10).
    public var challengeCount: Int
    public var challengeTimeoutMs: Int
    public var overallTimeoutMs: Int
    public var raspPolicy: SIDRaspPolicy
    /// Per-threat actions replacing the policy's, e.g. `[.vpn: .block]`.
    public var raspOverrides: [Threat: SIDRaspAction]
    /// Accepted code-signature SHA-256s (hex); empty: not checked.
    public var expectedSignatures: [String]
    public var platformSignals: SIDPlatformSignals
    /// Sees every frame's guidance (on the capture thread), e.g. to draw your own UI. What it throws
    /// is logged and ignored.
    public var guidanceListener: ((Guidance) throws -> Void)?
    /// How a capture gets frames, called on the capture thread when it starts. `nil` (the default): on
    /// iOS the SDK's own camera screen (`SIDCaptureViewController`, full-screen over the key window's
    /// top-most view controller); elsewhere a capture needs `SIDCaptureRequest.frames(_:)` (recordings)
    /// or fails with 4001. To present the camera screen from a view controller of your choice (weakly:
    /// the configuration lives as long as `SID.shared`): `{ [weak vc] in SIDCameraFrameSource(presentingFrom: vc) }`.
    public var frameSource: (() throws -> SIDFrameSource)?
    /// Where `onSuccess` / `onFailure` run. `nil`: the main queue on Apple platforms; on Linux (no
    /// main run loop to rely on) the capture thread itself.
    public var callbackQueue: DispatchQueue?
    /// How long the sealed capture stays valid for the server.
    public var lifetimeSeconds: Int
    /// Replay only: fixed challenges instead of a random draw. The server sees `test_mode`.
    public var fixedChallenges: [ChallengeKind]?
    /// Seal JPEG face crops (the template frame, each challenge's frames) for the server to re-check.
    public var evidenceFrames: Bool

    public init(
        serverPublicKey: String,
        models: SIDModels,
        liveness: LivenessMode = .both,
        challengeCount: Int = 2,
        challengeTimeoutMs: Int = 8_000,
        overallTimeoutMs: Int = 60_000,
        raspPolicy: SIDRaspPolicy = .mobile,
        raspOverrides: [Threat: SIDRaspAction] = [:],
        expectedSignatures: [String] = [],
        platformSignals: SIDPlatformSignals = SIDNoPlatformSignals(),
        guidanceListener: ((Guidance) throws -> Void)? = nil,
        frameSource: (() throws -> SIDFrameSource)? = nil,
        callbackQueue: DispatchQueue? = nil,
        lifetimeSeconds: Int = 600,
        fixedChallenges: [ChallengeKind]? = nil,
        evidenceFrames: Bool = true
    ) {
        self.serverPublicKey = serverPublicKey
        self.models = models
        self.liveness = liveness
        self.challengeCount = challengeCount
        self.challengeTimeoutMs = challengeTimeoutMs
        self.overallTimeoutMs = overallTimeoutMs
        self.raspPolicy = raspPolicy
        self.raspOverrides = raspOverrides
        self.expectedSignatures = expectedSignatures
        self.platformSignals = platformSignals
        self.guidanceListener = guidanceListener
        self.frameSource = frameSource
        self.callbackQueue = callbackQueue
        self.lifetimeSeconds = lifetimeSeconds
        self.fixedChallenges = fixedChallenges
        self.evidenceFrames = evidenceFrames
    }

    /// The key id only: the configuration may be logged.
    public var description: String {
        let parts = serverPublicKey.split(separator: ":", omittingEmptySubsequences: false)
        let keyId = parts.count > 1 ? String(parts[1]) : "?"
        return "SIDConfig(key=\(keyId), liveness=\(liveness))"
    }

    /// The checks the facade makes before converting (negative numbers cannot cross the FFI); the
    /// core checks the ranges it knows. Failures are 4001 through `onFailure`.
    func validate() throws {
        func invalid(_ message: String) -> SIDError { SIDError(message: message, errorCode: SIDError.configInvalid) }
        guard serverPublicKey.hasPrefix("SIDPK1:") else { throw invalid("serverPublicKey must be an SIDPK1 key text") }
        guard (1...8).contains(challengeCount) else { throw invalid("challengeCount must be 1...8") }
        guard challengeTimeoutMs > 0, overallTimeoutMs > 0 else { throw invalid("timeouts must be positive") }
        guard lifetimeSeconds > 0 else { throw invalid("lifetimeSeconds must be positive") }
    }

    func options(captureToken: String? = nil, liveCamera: Bool = false) -> CaptureOptions {
        CaptureOptions(
            liveness: liveness,
            challengeCount: UInt32(challengeCount),
            challengeTimeoutMs: UInt64(challengeTimeoutMs),
            overallTimeoutMs: UInt64(overallTimeoutMs),
            fixedChallenges: fixedChallenges,
            raspPolicy: raspPolicy,
            raspOverrides: raspOverrides.map { RaspOverride(threat: $0.key, action: $0.value) },
            expectedSignatures: expectedSignatures,
            captureToken: captureToken,
            evidenceFrames: evidenceFrames,
            liveCamera: liveCamera
        )
    }
}
