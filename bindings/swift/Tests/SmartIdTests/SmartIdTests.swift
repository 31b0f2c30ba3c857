import Dispatch
import Foundation
import XCTest

import SmartId
// Only the test-only exports and the raw error, from the generated module (the facade re-exports
// everything else under its own names).
import enum SmartIdFFI.SmartIdError
import func SmartIdFFI.sdkVersion
import func SmartIdFFI.testingOpenCapture
import func SmartIdFFI.testingPanic
import func SmartIdFFI.testingServerKey

/// The facade end to end on Linux, against the real native library, models and recordings. Mirrors
/// bindings/kotlin/src/test/kotlin/com/smartid/sdk/SmartIdTest.kt.
final class SmartIdTests: XCTestCase {
    private let env = ProcessInfo.processInfo.environment
    private lazy var repo = env["SMARTID_REPO"] ?? "/repo"
    private lazy var carphone: String = env["SMARTID_CARPHONE_Y4M"] ?? "\(repo)/fixtures/faces/carphone.y4m"
    private lazy var serverKey = try! testingServerKey(keyId: "swift-test")
    private let callbackKey = DispatchSpecificKey<String>()
    private lazy var callbacks: DispatchQueue = {
        let q = DispatchQueue(label: "app-callbacks")
        q.setSpecific(key: callbackKey, value: "app-callbacks")
        return q
    }()

    private func config(
        fixed: [ChallengeKind]? = [.blink],
        signals: SIDPlatformSignals = SIDNoPlatformSignals(),
        policy: SIDRaspPolicy = .reportOnly,
        overrides: [Threat: SIDRaspAction] = [:],
        challengeTimeoutMs: Int = 8_000,
        listener: ((Guidance) throws -> Void)? = nil
    ) -> SIDConfig {
        SIDConfig(
            serverPublicKey: serverKey.publicText,
            models: .folder(path: "\(repo)/models"),
            challengeTimeoutMs: challengeTimeoutMs,
            raspPolicy: policy,
            raspOverrides: overrides,
            platformSignals: signals,
            guidanceListener: listener,
            callbackQueue: callbacks,
            fixedChallenges: fixed
        )
    }

    private func recording() throws -> SIDFrameSource {
        try SIDRecordedFrames.y4m(path: carphone, fps: 29.97)
    }

    /// What one capture delivered, waited for on the test thread.
    private final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var _calls = 0
        var template: String?
        var payload: String?
        var message: String?
        var code: Int?
        var queue: String?

        var calls: Int { lock.lock(); defer { lock.unlock() }; return _calls }

        func record(_ body: () -> Void) {
            lock.lock()
            body()
            _calls += 1
            lock.unlock()
            done.signal()
        }
    }

    private func capture(_ config: SIDConfig, frames: SIDFrameSource? = nil,
                         file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let out = Outcome()
        let key = callbackKey
        SID.shared.configure(config)
            .captureBiometric(frames: try frames ?? recording())
            .onSuccess(success: { template, payload in
                out.record { out.template = template; out.payload = payload; out.queue = DispatchQueue.getSpecific(key: key) }
            })
            .onFailure(failure: { message, errorCode in
                out.record { out.message = message; out.code = errorCode; out.queue = DispatchQueue.getSpecific(key: key) }
            })
            .start()
        XCTAssertEqual(out.done.wait(timeout: .now() + 180), .success, "the capture ends", file: file, line: line)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(out.calls, 1, "exactly one callback", file: file, line: line)
        return out
    }

    /// A thread-safe list for what listeners see.
    private final class Seen<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [T] = []
        func add(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
        var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
    }

    /// A counter callable from any thread.
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        @discardableResult func increment() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
        var value: Int { lock.lock(); defer { lock.unlock() }; return n }
    }

    func testTheAntiSpoofSetChosenByItsManifestFileMeasuresPassiveLiveness() throws {
        var antispoof = config()
        antispoof.models = .folder(path: "\(repo)/models/manifest-antispoof.toml")
        let out = try capture(antispoof)
        XCTAssertNil(out.code, "no failure: \(out.message ?? "")")
        let template = try XCTUnwrap(out.template), payload = try XCTUnwrap(out.payload)
        let opened = try testingOpenCapture(privateText: serverKey.privateText, template: template, payload: payload)
        XCTAssertTrue(opened.payloadJson.contains("\"status\":\"measured\""), "passive scores in the payload")
        XCTAssertTrue(opened.payloadJson.contains("faceplugin/fr_liveness"), "the anti-spoof model is listed")
    }

    /// Returns `att:` + the request hash it was asked for (hex).
    private struct EchoAttestation: SIDPlatformSignals {
        func attestationToken(requestHash: Data) throws -> String? {
            "att:" + requestHash.map { String(format: "%02x", $0) }.joined()
        }
    }

    func testACaptureTokenAndTheAppsAttestationAreBoundIntoTheSealedCapture() throws {
        // SIDCT1 token text built here from docs/payload-format.md: nonce, expiry (LE), no challenges.
        var raw = Data(repeating: 0x5a, count: 16)
        withUnsafeBytes(of: UInt64(Date().timeIntervalSince1970 + 300).littleEndian) { raw.append(contentsOf: $0) }
        raw.append(0)
        let b64 = raw.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let out = Outcome()
        SID.shared.configure(config(signals: EchoAttestation()))
            .captureBiometric(frames: try recording())
            .captureToken("SIDCT1:" + b64)
            .onSuccess(success: { t, p in out.record { out.template = t; out.payload = p } })
            .onFailure(failure: { m, c in out.record { out.message = m; out.code = c } })
            .start()
        XCTAssertEqual(out.done.wait(timeout: .now() + 180), .success)
        XCTAssertNil(out.code, "no failure: \(out.message ?? "")")
        let opened = try testingOpenCapture(
            privateText: serverKey.privateText, template: try XCTUnwrap(out.template), payload: try XCTUnwrap(out.payload))
        XCTAssertEqual(opened.tokenNonce, String(repeating: "5a", count: 16))
        XCTAssertTrue(opened.payloadJson.contains("\"att:\(opened.attestationRequestHash)\""), "attested for this capture")
        XCTAssertEqual(opened.evidenceFrames, 4, "template frame + neutral/action/return of the blink")
    }

    // (a)
    func testRecordedCaptureSucceedsAndTheServerOpensIt() throws {
        let steps = Seen<Step>()
        let out = try capture(config(listener: { steps.add($0.step) }))
        XCTAssertNil(out.code, "no failure: \(out.message ?? "")")
        XCTAssertEqual(out.queue, "app-callbacks", "callbacks run on the configured queue")
        let template = try XCTUnwrap(out.template), payload = try XCTUnwrap(out.payload)
        let opened = try testingOpenCapture(privateText: serverKey.privateText, template: template, payload: payload)
        XCTAssertEqual(opened.templateDim, 128, "the default set's dlib embedder")
        XCTAssertTrue(opened.payloadJson.contains("\"status\":\"no_model\""), "no anti-spoof model, and the payload says so")
        XCTAssertTrue(opened.testMode, "fixed challenges are marked test_mode")
        XCTAssertTrue(opened.payloadJson.contains("\"blink\""), "the payload carries the passed blink")
        let seen = Set(steps.all)
        for step: Step in [.positioning, .challenge, .capturing, .done] {
            XCTAssertTrue(seen.contains(step), "step \(step) seen")
        }
        // Swapping template and payload does not open.
        XCTAssertThrowsError(try testingOpenCapture(privateText: serverKey.privateText, template: payload, payload: template)) {
            XCTAssertTrue($0 is SmartIdError, "\($0)")
        }
    }

    /// The enrollment guide's call, exactly as written, with frames from the configured factory and
    /// the default callback queue (on Linux: the capture thread).
    func testTheEnrollmentGuideCallWorksAsWritten() throws {
        final class Recording: SIDFrameSource {
            let inner: SIDFrameSource
            let closed: DispatchSemaphore
            init(_ inner: SIDFrameSource, closed: DispatchSemaphore) { self.inner = inner; self.closed = closed }
            func nextFrame() throws -> CameraFrame? { try inner.nextFrame() }
            func close() { inner.close(); closed.signal() }
        }
        let closed = DispatchSemaphore(value: 0)
        let path = carphone
        var guide = config()
        guide.callbackQueue = nil
        guide.frameSource = { Recording(try SIDRecordedFrames.y4m(path: path, fps: 29.97), closed: closed) }
        SID.shared.configure(guide)

        SID.shared.startLocation()
        SID.shared.captureBiometric()
            .onSuccess(success: { template, payload in })
            .onFailure(failure: { message, errorCode in })
            .start()

        XCTAssertEqual(closed.wait(timeout: .now() + 180), .success, "the configured source was used and closed")
        // The same chain with the outcome checked.
        let out = Outcome()
        let key = callbackKey
        SID.shared.captureBiometric()
            .onSuccess(success: { template, payload in
                out.record { out.template = template; out.payload = payload; out.queue = DispatchQueue.getSpecific(key: key) }
            })
            .onFailure(failure: { message, errorCode in out.record { out.message = message; out.code = errorCode } })
            .start()
        XCTAssertEqual(out.done.wait(timeout: .now() + 180), .success)
        XCTAssertNil(out.code, "no failure: \(out.message ?? "")")
        XCTAssertNotNil(out.template)
        XCTAssertNil(out.queue, "no queue configured: the capture thread delivers on Linux")
    }

    // (b)
    func testARecordingThatNeverTurnsFailsTheChallengeWith5002() throws {
        let out = try capture(config(fixed: [.turnLeft], challengeTimeoutMs: 2_000))
        XCTAssertEqual(out.code, 5002)
        XCTAssertTrue(out.message?.contains("turn-left") == true, out.message ?? "")
        XCTAssertNil(out.template)
        XCTAssertEqual(out.queue, "app-callbacks", "failures run on the configured queue too")
    }

    // (c)
    func testAHookingFrameworkReportedMidCaptureFailsItWith6001() throws {
        final class LateXposed: SIDPlatformSignals, @unchecked Sendable {
            let calls = Counter()
            // Clean at the start and at the step change into the challenge, then the platform layer sees
            // Xposed. The recording never turns left, so no later step change happens: only the
            // session's random re-checks can catch it (otherwise the frames run out: 5006).
            func instrumentation() -> [String] { calls.increment() > 2 ? ["xposed"] : [] }
        }
        let signals = LateXposed()
        // Report everything (this test machine is a VM), block hooking as the mobile policy does.
        let out = try capture(config(fixed: [.turnLeft], signals: signals, overrides: [.hooking: .block],
                                     challengeTimeoutMs: 60_000))
        XCTAssertEqual(out.code, 6001, out.message ?? "")
        XCTAssertTrue(out.message?.contains("hooking") == true, out.message ?? "")
    }

    // (d)
    func testAMalformedFrameFailsWith1002() throws {
        final class Bad: SIDFrameSource {
            func nextFrame() -> CameraFrame? {
                CameraFrame(format: .nv21, width: 176, height: 144, rowStride: 176, chromaStride: 176,
                            rotationDegrees: 0, timestampMs: 0, data: Data(count: 100))
            }
        }
        let out = try capture(config(), frames: Bad())
        XCTAssertEqual(out.code, 1002, out.message ?? "")
    }

    // (e)
    func testARustPanicArrivesAsAnErrorAndTheProcessLivesOn() throws {
        XCTAssertThrowsError(try testingPanic()) { error in
            guard case let SmartIdError.Internal(code, detail) = error else {
                return XCTFail("not an Internal error: \(error)")
            }
            XCTAssertEqual(code, 9001)
            XCTAssertFalse(detail.contains("forced panic"), "no panic text crosses: \(detail)")
        }
        // Still usable afterwards.
        XCTAssertFalse(try sdkVersion().isEmpty)
        XCTAssertNotEqual(SID.version(), "unknown")
    }

    // (f)
    func testErrorsThrownInTheAppsCallbacksDoNotBreakTheCapture() throws {
        struct AppBug: Error {}
        final class Throwing: SIDPlatformSignals {
            func buildProperties() throws -> [String: String] { throw AppBug() }
            func vpnActive() throws -> Bool? { throw AppBug() }
        }
        let listenerCalls = Counter()
        let out = try capture(config(signals: Throwing(), listener: { _ in
            listenerCalls.increment()
            throw AppBug()
        }))
        XCTAssertNil(out.code, "no failure: \(out.message ?? "")")
        XCTAssertNotNil(out.template)
        XCTAssertGreaterThan(listenerCalls.value, 40, "the listener kept being called")
    }

    // (g)
    func testCancelReports5005Once() throws {
        let firstGuidance = DispatchSemaphore(value: 0)
        let once = Counter()
        let out = Outcome()
        let request = SID.shared.configure(config())
            .captureBiometric()
            .frames(try recording())
            .onGuidance { _ in if once.increment() == 1 { firstGuidance.signal() } }
            .onFailure(failure: { message, code in out.record { out.message = message; out.code = code } })
            .onSuccess(success: { _, _ in out.record {} })
            .start()
        XCTAssertEqual(firstGuidance.wait(timeout: .now() + 60), .success)
        request.cancel()
        XCTAssertEqual(out.done.wait(timeout: .now() + 60), .success)
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(out.calls, 1)
        XCTAssertEqual(out.code, 5005, out.message ?? "")
        request.cancel() // after the end: nothing more
        request.start() // a request starts once
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(out.calls, 1)
    }

    // (h)
    func testTheAsyncFormReturnsTheSealedPair() async throws {
        SID.shared.configure(config())
        let sealed = try await SID.shared.capture(frames: try recording())
        XCTAssertEqual(sealed.summary.challengesPassed, [.blink])
        _ = try testingOpenCapture(privateText: serverKey.privateText, template: sealed.template, payload: sealed.payload)

        SID.shared.configure(config(fixed: [.smile], challengeTimeoutMs: 1_000))
        do {
            _ = try await SID.shared.capture(frames: try recording())
            XCTFail("a smile the recording never shows must fail")
        } catch let error as SIDError {
            XCTAssertEqual(error.errorCode, 5002, error.message)
        }
    }

    // (h') Cancelling the task cancels the capture.
    func testCancellingTheTaskCancelsTheCapture() async throws {
        SID.shared.configure(config())
        let frames = try recording()
        let task = Task { try await SID.shared.capture(frames: frames) }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled task must not seal")
        } catch let error as SIDError {
            XCTAssertEqual(error.errorCode, SIDError.cancelled, error.message)
        }
    }

    // (i)
    func testABadServerKeyOrModelsFailWithTheirCodes() throws {
        var badKey = config()
        badKey.serverPublicKey = "SIDPK1:k:AAAA"
        let key = try capture(badKey)
        XCTAssertEqual(key.code, 7001, key.message ?? "")
        var noModels = config()
        noModels.models = .folder(path: "\(repo)/no-such-dir")
        let models = try capture(noModels)
        XCTAssertEqual(models.code, 2002, models.message ?? "")
        var notAKey = config()
        notAKey.serverPublicKey = "not a key"
        let invalid = try capture(notAKey)
        XCTAssertEqual(invalid.code, SIDError.configInvalid, invalid.message ?? "")
        XCTAssertEqual(invalid.queue, "app-callbacks", "an invalid configuration still names its queue")
        XCTAssertEqual(SIDError(message: "m", errorCode: 1).localizedDescription, "m")
    }

    // (j)
    func testY4MRecordingsAreReadAndBadOnesRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("y4m-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var good = Data("YUV4MPEG2 W4 H2 F30:1 C420jpeg\n".utf8)
        for _ in 0..<2 {
            good.append(Data("FRAME\n".utf8))
            good.append(Data(repeating: 100, count: 12))
        }
        let goodPath = dir.appendingPathComponent("grey.y4m").path
        try good.write(to: URL(fileURLWithPath: goodPath))

        let source = try SIDRecordedFrames.y4m(path: goodPath)
        let first = try XCTUnwrap(try source.nextFrame())
        XCTAssertEqual(first.format, .i420)
        XCTAssertEqual(first.width, 4)
        XCTAssertEqual(first.height, 2)
        XCTAssertEqual(first.rowStride, 4)
        XCTAssertEqual(first.chromaStride, 2)
        XCTAssertEqual(first.data.count, 12)
        XCTAssertEqual(first.timestampMs, 0)
        XCTAssertEqual(try source.nextFrame()?.timestampMs, 33)
        XCTAssertNil(try source.nextFrame())
        source.close()

        let cutPath = dir.appendingPathComponent("cut.y4m").path
        try good.prefix(good.count - 5).write(to: URL(fileURLWithPath: cutPath))
        let cut = try SIDRecordedFrames.y4m(path: cutPath)
        _ = try cut.nextFrame()
        XCTAssertThrowsError(try cut.nextFrame()) { XCTAssertEqual(($0 as? SIDError)?.errorCode, 1004) }

        let notPath = dir.appendingPathComponent("not.y4m").path
        try Data("RIFF....\n".utf8).write(to: URL(fileURLWithPath: notPath))
        XCTAssertThrowsError(try SIDRecordedFrames.y4m(path: notPath)) { XCTAssertEqual(($0 as? SIDError)?.errorCode, 1004) }

        let oddPath = dir.appendingPathComponent("odd.y4m").path
        try Data("YUV4MPEG2 W3 H2 F30:1\n".utf8).write(to: URL(fileURLWithPath: oddPath))
        XCTAssertThrowsError(try SIDRecordedFrames.y4m(path: oddPath)) { XCTAssertEqual(($0 as? SIDError)?.errorCode, 1001) }

        let deepPath = dir.appendingPathComponent("deep.y4m").path
        try Data("YUV4MPEG2 W4 H2 F30:1 C420p10\n".utf8).write(to: URL(fileURLWithPath: deepPath))
        XCTAssertThrowsError(try SIDRecordedFrames.y4m(path: deepPath)) { XCTAssertEqual(($0 as? SIDError)?.errorCode, 1003) }

        let longPath = dir.appendingPathComponent("long.y4m").path
        try Data(("YUV4MPEG2 " + String(repeating: "X", count: 1000) + "\n").utf8).write(to: URL(fileURLWithPath: longPath))
        XCTAssertThrowsError(try SIDRecordedFrames.y4m(path: longPath)) { XCTAssertEqual(($0 as? SIDError)?.errorCode, 1004) }

        // The recording the capture tests use is well-formed all the way through.
        let carphoneFrames = try recording()
        var count = 0
        while try carphoneFrames.nextFrame() != nil { count += 1 }
        XCTAssertEqual(count, 120)
    }

    /// Log lines reach an installed sink (lifecycle only: the started capture's id); frames that end
    /// before the capture completes fail with 5006.
    func testLogLinesReachTheInstalledSink() throws {
        let lines = Seen<String>()
        try SIDLog.install(level: .info) { _, target, message in lines.add("\(target): \(message)") }
        final class NoFrames: SIDFrameSource {
            func nextFrame() -> CameraFrame? { nil }
        }
        let out = try capture(config(), frames: NoFrames())
        XCTAssertEqual(out.code, SIDError.captureIncomplete, out.message ?? "")
        XCTAssertTrue(lines.all.contains { $0.hasPrefix("smartid: capture") }, "\(lines.all)")
    }
}
