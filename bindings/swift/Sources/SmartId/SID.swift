import Foundation
import SmartIdFFI

/// The SDK's entry point, as in the enrollment guide:
///
/// ```swift
/// SID.shared.startLocation()
/// SID.shared.captureBiometric()
///     .onSuccess(success: { template, payload in /* forward both to your backend */ })
///     .onFailure(failure: { message, errorCode in /* offer a retry */ })
///     .start()
/// ```
///
/// `configure(_:)` it once (server key, models, policies). Models load on the first capture's thread
/// and stay loaded for the life of the process.
public final class SID: @unchecked Sendable {
    /// The one instance.
    public static let shared = SID()

    private let lock = NSLock() // guards config and location
    private var config: SIDConfig?
    private let engineLock = NSLock() // held while models load: one load at a time
    private var engine: (models: SIDModels, engine: Engine)?
    private var location: SIDLocationProvider?

    private init() {}

    /// Sets the configuration; a later call replaces it (captures already running keep theirs). The
    /// models reload on the next capture if they changed. Never throws: an invalid configuration
    /// fails each capture with 4001 through `onFailure`, the one place the app handles failures.
    @discardableResult
    public func configure(_ config: SIDConfig) -> SID {
        lock.sidLocked { self.config = config }
        return self
    }

    /// A capture; add callbacks and call `start()`. Frames come from `SIDConfig.frameSource` unless
    /// `frames(_:)` gives a source.
    public func captureBiometric() -> SIDCaptureRequest {
        SIDCaptureRequest(sdk: self)
    }

    /// A capture reading `frames` (a recording, a custom camera) instead of the configured source.
    public func captureBiometric(frames: SIDFrameSource) -> SIDCaptureRequest {
        SIDCaptureRequest(sdk: self).frames(frames)
    }

    /// Starts remembering the device's location for the RASP location checks.
    ///
    /// - iOS: asks for when-in-use authorization (the app's Info.plist needs
    ///   `NSLocationWhenInUseUsageDescription`) and keeps the last fix, with the OS's simulated-location
    ///   flag, for `SIDPlatformSignals.location()` when the app's own signals return `nil`. Call it on
    ///   the main thread (it hops there otherwise); calling it again does nothing.
    /// - Other platforms (macOS, Linux): does nothing; give `location()` in your `SIDPlatformSignals`.
    public func startLocation() {
        #if os(iOS) && canImport(CoreLocation)
        let begin: @Sendable () -> Void = { [self] in
            let provider: SIDLocationProvider? = lock.sidLocked {
                guard location == nil else { return nil }
                let p = SIDLocationProvider()
                location = p
                return p
            }
            provider?.start()
        }
        if Thread.isMainThread { begin() } else { DispatchQueue.main.async(execute: begin) }
        #endif
    }

    /// The native SDK version, or "unknown" if the library cannot say.
    public static func version() -> String {
        (try? sdkVersion()) ?? "unknown"
    }

    // MARK: - For the capture thread

    /// The configuration as given to `configure(_:)`, if any.
    func storedConfig() -> SIDConfig? {
        lock.sidLocked { config }
    }

    /// `config` if there is one and it is valid; 4001 otherwise.
    func validated(_ config: SIDConfig?) throws -> SIDConfig {
        guard let config else {
            throw SIDError(message: "SID is not configured: call configure(_:) first", errorCode: SIDError.configInvalid)
        }
        try config.validate()
        return config
    }

    /// The last location fix `startLocation()` saw, if any.
    func lastLocation() -> Location? {
        lock.sidLocked { location }?.lastFix
    }

    /// The engine for these models: loaded on first use (on the calling capture thread) and kept until
    /// a capture asks for other models. Keyed by the models, so a `configure` racing a load never
    /// leaves an engine of the wrong models in place.
    func engine(for models: SIDModels) throws -> Engine {
        try engineLock.sidLocked {
            if let cached = engine, cached.models == models { return cached.engine }
            engine = nil // free the old models before loading new ones
            let loaded: Engine
            switch models {
            case let .folder(path):
                loaded = try Engine.fromDir(dir: path)
            case let .files(manifest, files):
                loaded = try Engine.fromFiles(manifest: manifest, files: files)
            }
            engine = (models, loaded)
            return loaded
        }
    }
}

extension NSLock {
    /// `body` with the lock held (NSLocking.withLock is not on every OS version the SDK supports).
    func sidLocked<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
