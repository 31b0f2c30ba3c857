import Dispatch
import Foundation
import XCTest

@testable import SmartId

/// The queue between the iOS camera's delivery thread and the capture thread (`SIDFrameChannel`): it
/// runs on Linux too, so its hand-over rules are tested here, without a camera.
final class FrameChannelTests: XCTestCase {
    private func frame(_ t: UInt64) -> CameraFrame {
        CameraFrame(format: .rgb8, width: 2, height: 2, rowStride: 6, chromaStride: 0, rotationDegrees: 0,
                    timestampMs: t, data: Data(count: 12))
    }

    func testABusyCaptureThreadGetsTheNewestFramesInOrder() throws {
        let channel = SIDFrameChannel(capacity: 2)
        for t in 1...5 { XCTAssertTrue(channel.offer(frame(UInt64(t)))) }
        XCTAssertEqual(try channel.next()?.timestampMs, 4)
        XCTAssertEqual(try channel.next()?.timestampMs, 5)
    }

    func testAFailureWakesAWaitingCaptureThreadAndWins() throws {
        let channel = SIDFrameChannel()
        let woke = expectation(description: "next() throws the failure")
        DispatchQueue.global().async {
            do {
                _ = try channel.next()
            } catch let e as SIDError {
                if e.errorCode == SIDError.cancelled { woke.fulfill() }
            } catch {}
        }
        Thread.sleep(forTimeInterval: 0.1) // let it block
        channel.fail(SIDError(message: "cancelled", errorCode: SIDError.cancelled))
        channel.fail(SIDError(message: "camera", errorCode: SIDError.cameraUnavailable)) // the first wins
        wait(for: [woke], timeout: 5)
        XCTAssertFalse(channel.offer(frame(1)), "no frame is taken after a failure")
        XCTAssertThrowsError(try channel.next()) { e in
            XCTAssertEqual((e as? SIDError)?.errorCode, SIDError.cancelled)
        }
    }

    func testClosingEndsTheFrames() throws {
        let channel = SIDFrameChannel()
        channel.offer(frame(1))
        channel.close()
        XCTAssertNil(try channel.next())
        XCTAssertFalse(channel.isOpen)
    }

    func testACameraThatNeverDeliversEndsTheCaptureInsteadOfHoldingIt() {
        let channel = SIDFrameChannel(idleLimit: 0.2)
        XCTAssertThrowsError(try channel.next()) { e in
            XCTAssertEqual((e as? SIDError)?.errorCode, SIDError.captureTimeout)
        }
        XCTAssertFalse(channel.isOpen)
    }
}
