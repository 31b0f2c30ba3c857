import Foundation
import SmartIdFFI

/// What only the OS knows, for the SDK's RASP checks. Implement what you can: every method defaults to
/// "don't know" (an empty list or `nil`). The SDK asks at the start of a capture, at random moments
/// during it and before sealing, on the capture thread. An error thrown here counts as "don't know"
/// and is logged (by name, never its text).
public protocol SIDPlatformSignals {
    /// Android `ro.*` system properties; nothing on iOS.
    func buildProperties() throws -> [String: String]

    /// What the app found that the core cannot see, as short names with a prefix naming the threat:
    /// `hooking:` (swizzled methods, injected libraries), `debugger:`, `root:` (jailbreak files and
    /// URL schemes), `emulator:` (the simulator), `tampered:` or `settings:` (reported, not blocked, by
    /// default). No prefix counts as `hooking:`.
    func instrumentation() throws -> [String]

    /// The device's location with the OS's mock flag. When this returns `nil`, the fix remembered by
    /// `SID.startLocation()` (iOS) is used, if there is one.
    func location() throws -> Location?

    func vpnActive() throws -> Bool?

    /// The system proxy as `host:port`, without credentials.
    func proxy() throws -> String?

    /// SHA-256 hex of the app's code signature.
    func appSignature() throws -> String?

    /// An attestation bound to this capture, asked once while sealing: generate an App Attest key,
    /// attest it with `clientDataHash` = `requestHash` and return
    /// `"aa:" + attestationObject.base64 + ":" + keyId` (docs/payload-format.md). The server verifies it
    /// offline against Apple's root.
    func attestationToken(requestHash: Data) throws -> String?
}

extension SIDPlatformSignals {
    public func buildProperties() throws -> [String: String] { [:] }
    public func instrumentation() throws -> [String] { [] }
    public func location() throws -> Location? { nil }
    public func vpnActive() throws -> Bool? { nil }
    public func proxy() throws -> String? { nil }
    public func appSignature() throws -> String? { nil }
    public func attestationToken(requestHash: Data) throws -> String? { nil }
}

/// Knows nothing: the SDK's own checks only (the default of `SIDConfig.platformSignals`).
public struct SIDNoPlatformSignals: SIDPlatformSignals {
    public init() {}
}

/// The app's signals seen by the generated protocol. Errors propagate to the FFI, which logs them and
/// treats them as "don't know".
final class SignalsAdapter: PlatformSignals, @unchecked Sendable {
    private let signals: SIDPlatformSignals
    private let fallbackLocation: () -> Location?

    init(_ signals: SIDPlatformSignals, fallbackLocation: @escaping () -> Location?) {
        self.signals = signals
        self.fallbackLocation = fallbackLocation
    }

    func buildProperties() throws -> [BuildProperty] {
        try signals.buildProperties().sorted { $0.key < $1.key }.map { BuildProperty(key: $0.key, value: $0.value) }
    }

    func instrumentation() throws -> [String] { try signals.instrumentation() }
    func location() throws -> Location? { try signals.location() ?? fallbackLocation() }
    func vpnActive() throws -> Bool? { try signals.vpnActive() }
    func proxy() throws -> String? { try signals.proxy() }
    func appSignature() throws -> String? { try signals.appSignature() }
    func attestationToken(requestHash: Data) throws -> String? {
        try signals.attestationToken(requestHash: requestHash)
    }
}

/// Swift closures as the generated listener protocol. Every closure is called even when an earlier
/// one throws; the first error is then passed on (the FFI logs it and goes on with the capture).
final class ListenerAdapter: GuidanceListener, @unchecked Sendable {
    private let listeners: [(Guidance) throws -> Void]

    init(_ listeners: [(Guidance) throws -> Void]) { self.listeners = listeners }

    func onGuidance(guidance: Guidance) throws {
        var first: Error?
        for listener in listeners {
            do { try listener(guidance) } catch { first = first ?? error }
        }
        if let first { throw first }
    }
}
