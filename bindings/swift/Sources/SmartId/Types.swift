import Foundation
import SmartIdFFI

// The generated enums and records are already idiomatic Swift (enums, structs); the SDK exposes them
// under its own module so apps `import SmartId` only and never name the generated module.

/// What the UI should show after a frame: step, prompt, progress, face box.
public typealias Guidance = SmartIdFFI.Guidance
public typealias Prompt = SmartIdFFI.Prompt
public typealias Step = SmartIdFFI.Step
public typealias FaceBox = SmartIdFFI.FaceBox
public typealias ChallengeKind = SmartIdFFI.ChallengeKind
public typealias LivenessMode = SmartIdFFI.LivenessMode
public typealias PixelFormat = SmartIdFFI.PixelFormat
/// One camera frame: layout, capture time (monotonic ms) and bytes.
public typealias CameraFrame = SmartIdFFI.CameraFrame
/// What an app may show or log about a finished capture (no biometric data).
public typealias EvidenceSummary = SmartIdFFI.EvidenceSummary
/// A location fix with the OS's mock flag.
public typealias Location = SmartIdFFI.Location
/// Which RASP policy a capture applies: `.mobile` (a bank's phone app) or `.reportOnly`.
public typealias SIDRaspPolicy = SmartIdFFI.RaspPolicyChoice
public typealias Threat = SmartIdFFI.Threat
/// What the RASP checks do about a threat: `.block`, `.report` or `.ignore`.
public typealias SIDRaspAction = SmartIdFFI.Action
public typealias LogLevel = SmartIdFFI.LogLevel

/// The two strings the app forwards to its backend (`Template`, `PayLoad`), and a summary to log.
public struct SIDSealedCapture: Sendable, Equatable {
    public let template: String
    public let payload: String
    public let summary: EvidenceSummary

    public init(template: String, payload: String, summary: EvidenceSummary) {
        self.template = template
        self.payload = payload
        self.summary = summary
    }
}

/// A failed capture: `message` may be shown or logged; `errorCode` is stable (docs/error-codes.md).
public struct SIDError: LocalizedError, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let errorCode: Int

    public init(message: String, errorCode: Int) {
        self.message = message
        self.errorCode = errorCode
    }

    public var description: String { "SIDError \(errorCode): \(message)" }

    /// `message`, so `localizedDescription` shows it.
    public var errorDescription: String? { message }

    /// 1004: an image or Y4M file could not be decoded.
    public static let imageDecode = 1004
    /// 4001: the configuration given to `SID.configure` is invalid (or missing).
    public static let configInvalid = 4001
    /// 5001: the capture's time ran out (the overall timeout; on the iOS camera screen, no frame for
    /// 120 s: the screen was left or the camera never came back).
    public static let captureTimeout = 5001
    /// 5005: the app called `cancel()`.
    public static let cancelled = 5005
    /// 5006: the frames ended before the capture completed.
    public static let captureIncomplete = 5006
    /// 5008: the user denied camera access (the SDK's iOS camera screen). Raised by the facade, never
    /// by the core; the app should explain why the camera is needed and point to Settings.
    public static let cameraPermission = 5008
    /// 5009: no front camera, the camera failed while capturing, or the camera screen could not be
    /// shown (the SDK's iOS camera screen). Raised by the facade, never by the core.
    public static let cameraUnavailable = 5009
    /// 9001: a bug; the SDK stays usable.
    public static let internalError = 9001

    /// Maps anything thrown below the facade to a message and a stable code. Errors the SDK does not
    /// know become 9001 with the error's type name only (their text may carry app data).
    static func from(_ error: Error) -> SIDError {
        switch error {
        case let e as SIDError:
            return e
        case let e as SmartIdError:
            switch e {
            case let .Frame(code, detail), let .Model(code, detail), let .Config(code, detail),
                 let .Capture(code, detail), let .Environment(code, detail), let .Seal(code, detail),
                 let .Internal(code, detail):
                return SIDError(message: detail, errorCode: Int(code))
            }
        default:
            return SIDError(message: "internal error: \(type(of: error))", errorCode: internalError)
        }
    }
}
