#if os(iOS)
import CFNetwork
import DeviceCheck
import Dispatch
import Foundation
import MachO
import SmartIdFFI
import UIKit
import os

/// What iOS lets an app see, for the SDK's RASP checks, and an App Attest attestation bound to each
/// capture. Give it to `SIDConfig(platformSignals:)`. The SDK calls it on the capture thread.
///
/// The native library already checks, on its own, jailbreak files, the simulator, a traced process and
/// the loaded images; these signals add what needs the app's side (UIKit, CFNetwork, App Attest) and
/// repeat the file and image checks with other system calls, so that hooking one call is not enough to
/// hide.
///
/// Info.plist: `LSApplicationQueriesSchemes` must list `cydia`, `sileo` and `zbra`, or iOS answers
/// `canOpenURL` with false for them (and logs it). App Attest needs the App Attest capability on the
/// App ID (entitlement `com.apple.developer.devicecheck.appattest-environment`; without it a development
/// build uses Apple's sandbox environment) and a device: the simulator does not support it.
public final class SIDIOSPlatformSignals: SIDPlatformSignals, Sendable {
    private let appAttest: Bool
    private let attestationTimeout: TimeInterval

    /// - Parameters:
    ///   - appAttest: attest each capture with App Attest (`attestationToken(requestHash:)`); `false`
    ///     returns no attestation (the server then sees it missing).
    ///   - attestationTimeout: the longest the capture waits for App Attest, both calls together
    ///     (seconds, 1...60; default 10). On timeout the capture is sealed without an attestation.
    public init(appAttest: Bool = true, attestationTimeout: TimeInterval = 10) {
        self.appAttest = appAttest
        self.attestationTimeout = min(max(attestationTimeout.isFinite ? attestationTimeout : 10, 1), 60)
    }

    // MARK: - Instrumentation

    /// Files that exist only on a jailbroken device (rootful and rootless jailbreaks, package managers,
    /// the shells and daemons they install).
    static let jailbreakPaths = [
        "/Applications/Cydia.app",
        "/Applications/Sileo.app",
        "/Applications/Zebra.app",
        "/var/jb",
        "/private/var/lib/apt",
        "/private/var/lib/cydia",
        "/usr/sbin/sshd",
        "/usr/bin/ssh",
        "/bin/bash",
        "/etc/apt",
        "/Library/MobileSubstrate/MobileSubstrate.dylib",
        "/usr/lib/libsubstitute.dylib",
        "/usr/lib/libhooker.dylib",
    ]

    /// URL schemes of jailbreak package managers (Cydia, Sileo, Zebra). Each must be listed in the app's
    /// `LSApplicationQueriesSchemes`.
    static let jailbreakSchemes = ["cydia", "sileo", "zbra"]

    /// Lower-case substrings of image paths that only instrumentation loads: Frida (agent, gadget),
    /// Cydia Substrate, Substitute, libhooker, TweakInject, Cycript, SSL Kill Switch.
    /// Specific names, not "substrate"/"substitute" alone: legitimate frameworks contain those words
    /// (a blockchain SDK's `SubstrateSdk.framework`), and a hooking report blocks the capture.
    static let imageMarkers = ["frida", "mobilesubstrate", "cydiasubstrate", "substrateloader", "libsubstitute",
                               "substitute-loader", "libhooker", "tweakinject", "cycript", "sslkillswitch"]

    /// Short names of what was found (each ends up in the payload, at most 64 characters):
    /// `emulator:simulator`; `root:jailbreak-file:<path>`; `root:sandbox-writable` (a file could be
    /// created in /private); `root:jailbreak-app:<scheme>` (a package manager's URL scheme opens);
    /// `hooking:dyld:<image>` (an instrumentation library is loaded); `hooking:dyld-insert-libraries`
    /// (the variable is set); `debugger:traced` (`P_TRACED`). The prefix is the threat the native
    /// library files each under (emulator, root/jailbreak, hooking, debugger).
    public func instrumentation() throws -> [String] {
        var found: [String] = []
        #if targetEnvironment(simulator)
        found.append("emulator:simulator")
        #endif
        for path in Self.jailbreakPaths where Self.pathExists(path) {
            found.append("root:jailbreak-file:" + path)
        }
        if Self.canWriteOutsideSandbox() {
            found.append("root:sandbox-writable")
        }
        found += Self.openableJailbreakSchemes().map { "root:jailbreak-app:" + $0 }
        found += Self.instrumentationImages().map { "hooking:dyld:" + $0 }
        if let inserted = getenv("DYLD_INSERT_LIBRARIES"), inserted.pointee != 0 {
            found.append("hooking:dyld-insert-libraries")
        }
        if Self.isTraced() {
            found.append("debugger:traced")
        }
        return found
    }

    /// Whether `path` exists, asked three ways (FileManager, `stat`/`lstat`, `access`): a tweak that
    /// hides jailbreak files usually hooks one of them, not all.
    static func pathExists(_ path: String) -> Bool {
        if FileManager.default.fileExists(atPath: path) { return true }
        var info = stat()
        if stat(path, &info) == 0 || lstat(path, &info) == 0 { return true }
        return access(path, F_OK) == 0
    }

    /// Whether a file can be created outside the app's sandbox (in /private), which the sandbox forbids
    /// on an intact device. The probe, if it was created at all, is removed at once.
    static func canWriteOutsideSandbox() -> Bool {
        let path = "/private/.smartid-probe-" + UUID().uuidString
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { return false }
        close(fd)
        unlink(path)
        return true
    }

    /// The package-manager schemes UIKit can open. `canOpenURL` belongs to the main thread: asked there
    /// synchronously (this runs on the capture thread, which the main thread never waits for).
    static func openableJailbreakSchemes() -> [String] {
        if Thread.isMainThread {
            return MainActor.assumeIsolated { openableSchemes() }
        }
        return DispatchQueue.main.sync {
            MainActor.assumeIsolated { openableSchemes() }
        }
    }

    @MainActor
    private static func openableSchemes() -> [String] {
        jailbreakSchemes.filter { scheme in
            guard let url = URL(string: scheme + "://") else { return false }
            return UIApplication.shared.canOpenURL(url)
        }
    }

    /// File names of the loaded images whose path names an instrumentation framework.
    static func instrumentationImages() -> [String] {
        var names: [String] = []
        for index in 0..<_dyld_image_count() {
            // Nil when the image was unloaded since the count was taken.
            guard let cPath = _dyld_get_image_name(index) else { continue }
            let path = String(cString: cPath)
            let lower = path.lowercased()
            guard imageMarkers.contains(where: { lower.contains($0) }) else { continue }
            let name = (path as NSString).lastPathComponent
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Whether a debugger (or any tracer) is attached: `P_TRACED` in this process's `kinfo_proc`
    /// (Apple's Technical Q&A QA1361).
    static func isTraced() -> Bool {
        var info = kinfo_proc()
        var size = MemoryLayout<kinfo_proc>.stride
        var mib: [Int32] = [CTL_KERN, KERN_PROC, KERN_PROC_PID, getpid()]
        let count = u_int(mib.count)
        guard sysctl(&mib, count, &info, &size, nil, 0) == 0 else { return false }
        return (info.kp_proc.p_flag & P_TRACED) != 0
    }

    // MARK: - Network

    /// The system's proxy settings (CFNetwork), as a dictionary; nil if iOS gives none.
    static func proxySettings() -> [String: Any]? {
        guard let settings = CFNetworkCopySystemProxySettings() else { return nil }
        return settings.takeRetainedValue() as NSDictionary as? [String: Any]
    }

    /// Interface names of tunnels (VPN) in the `__SCOPED__` part of the proxy settings.
    static let tunnelMarkers = ["tap", "tun", "ppp", "ipsec", "utun"]

    /// Whether a VPN tunnel is up: an interface named tap/tun/ppp/ipsec/utun among the per-interface
    /// (`__SCOPED__`) proxy settings. `__SCOPED__` is not a documented key; nil when iOS gives no
    /// settings at all.
    public func vpnActive() throws -> Bool? {
        guard let settings = Self.proxySettings() else { return nil }
        guard let scoped = settings["__SCOPED__"] as? [String: Any] else { return false }
        return scoped.keys.contains { name in
            let lower = name.lowercased()
            return Self.tunnelMarkers.contains { lower.contains($0) }
        }
    }

    /// The system proxy as `host:port` (the HTTP proxy, else the HTTPS one), never credentials; for a
    /// proxy auto-configuration file, `pac:<host of its URL>`. Nil when no proxy is set.
    public func proxy() throws -> String? {
        guard let settings = Self.proxySettings() else { return nil }
        // The values of kCFNetworkProxiesHTTPEnable / HTTPProxy / HTTPPort, and their HTTPS
        // counterparts (whose constants are macOS-only in the SDK, the keys are the same on iOS).
        if let http = Self.hostPort(settings, enable: "HTTPEnable", host: "HTTPProxy", port: "HTTPPort") {
            return http
        }
        if let https = Self.hostPort(settings, enable: "HTTPSEnable", host: "HTTPSProxy", port: "HTTPSPort") {
            return https
        }
        if (settings["ProxyAutoConfigEnable"] as? NSNumber)?.boolValue == true {
            let url = (settings["ProxyAutoConfigURLString"] as? String).flatMap { URL(string: $0) }
            return "pac:" + (url?.host ?? "auto")
        }
        return nil
    }

    static func hostPort(_ settings: [String: Any], enable: String, host: String, port: String) -> String? {
        if let enabled = settings[enable] as? NSNumber, !enabled.boolValue { return nil }
        guard let name = settings[host] as? String, !name.isEmpty else { return nil }
        guard let number = (settings[port] as? NSNumber)?.intValue, number > 0 else { return name }
        return "\(name):\(number)"
    }

    // MARK: - Location, signature

    /// Nil: the fix remembered by `SID.startLocation()` (CoreLocation, with iOS's simulated-location
    /// flag) is used instead.
    public func location() throws -> Location? { nil }

    /// Nil: iOS has no public API that gives an app its own code signature (the Security framework's
    /// SecCode functions are macOS-only). App identity is proven by App Attest (the server checks the
    /// App ID in the attestation) instead.
    public func appSignature() throws -> String? { nil }

    // MARK: - App Attest

    /// An App Attest attestation bound to this capture: a new key (`generateKey`), attested with
    /// `clientDataHash` = `requestHash` (`attestKey`), returned as
    /// `"aa:" + attestationObject.base64 + ":" + keyId`. The server verifies it offline against Apple's
    /// root and recomputes the request hash from the capture (docs/server.md).
    ///
    /// Nil when App Attest is off or unsupported (simulator, some devices), on any error (logged with its
    /// domain and code only; key ids and data are never logged) and after `attestationTimeout`.
    ///
    /// A new key per capture: the server verifies attestation objects without state (it stores no public
    /// key from an earlier attestation), and a fresh attestation is bound to this capture's hash. Apple
    /// rate-limits `attestKey` per app and each key stays in the Secure Enclave until the app is
    /// deleted, which suits an enrollment (rare per device); an app capturing often on one device should
    /// attest one key once and send assertions, which the reference server does not verify yet.
    ///
    /// The App Attest calls answer through completion handlers; the SDK asks on its capture thread and
    /// waits here (a semaphore, the timeout for both calls together). Never call this on the main thread.
    public func attestationToken(requestHash: Data) throws -> String? {
        guard appAttest else { return nil }
        let service = DCAppAttestService.shared
        guard service.isSupported else { return nil }
        let deadline = DispatchTime.now() + attestationTimeout

        let key = SIDCallbackResult<String>()
        service.generateKey { keyId, error in
            key.finish(keyId, error)
        }
        guard let keyId = Self.value(of: key, until: deadline, step: "generateKey") else { return nil }

        let attestation = SIDCallbackResult<Data>()
        service.attestKey(keyId, clientDataHash: requestHash) { object, error in
            attestation.finish(object, error)
        }
        guard let object = Self.value(of: attestation, until: deadline, step: "attestKey") else { return nil }
        return "aa:" + object.base64EncodedString() + ":" + keyId
    }

    /// The callback's value, or nil (logged: a timeout, or the error's domain and code).
    private static func value<Value>(of result: SIDCallbackResult<Value>, until deadline: DispatchTime,
                                     step: String) -> Value? {
        guard let answer = result.wait(until: deadline) else {
            SIDIOSLog.attestation.error("App Attest \(step, privacy: .public) timed out")
            return nil
        }
        if let value = answer.value { return value }
        if let error = answer.error {
            let ns = error as NSError
            SIDIOSLog.attestation.error(
                "App Attest \(step, privacy: .public) failed: \(ns.domain, privacy: .public) \(ns.code, privacy: .public)")
        } else {
            SIDIOSLog.attestation.error("App Attest \(step, privacy: .public) returned nothing")
        }
        return nil
    }
}

/// One answer of a callback API, waited for on the calling thread.
final class SIDCallbackResult<Value>: @unchecked Sendable {
    // @unchecked Sendable: `answer` is written once and read with `lock` held; `done` is signalled after
    // the write, so a waiter that wakes finds it.
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var answer: (value: Value?, error: Error?)?

    /// The first call counts; later ones (a handler called twice) are ignored.
    func finish(_ value: Value?, _ error: Error?) {
        let first = lock.sidLocked { () -> Bool in
            guard answer == nil else { return false }
            answer = (value, error)
            return true
        }
        if first { done.signal() }
    }

    /// The answer, or nil if none came before `deadline`.
    func wait(until deadline: DispatchTime) -> (value: Value?, error: Error?)? {
        guard done.wait(timeout: deadline) == .success else { return nil }
        return lock.sidLocked { answer }
    }
}
#endif
