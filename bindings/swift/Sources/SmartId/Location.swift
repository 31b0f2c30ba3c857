import Foundation
import SmartIdFFI

#if os(iOS) && canImport(CoreLocation)
import CoreLocation

/// The minimal location feed behind `SID.startLocation()`: when-in-use authorization, coarse updates
/// (100 m), the last fix remembered with iOS's simulated-location flag. Nothing is stored beyond the
/// last fix, which lives in memory only and is read by the RASP checks.
final class SIDLocationProvider: NSObject, CLLocationManagerDelegate, @unchecked Sendable {
    private let manager = CLLocationManager() // created on the main thread (SID.startLocation)
    private let lock = NSLock()
    private var last: Location?

    var lastFix: Location? { lock.sidLocked { last } }

    func start() {
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyHundredMeters
        manager.requestWhenInUseAuthorization()
        manager.startUpdatingLocation() // delivers nothing until authorized
    }

    func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let fix = locations.last, fix.horizontalAccuracy >= 0 else { return }
        let mock = fix.sourceInformation?.isSimulatedBySoftware ?? false
        let location = Location(
            latitude: fix.coordinate.latitude,
            longitude: fix.coordinate.longitude,
            accuracyM: fix.horizontalAccuracy,
            mock: mock
        )
        lock.sidLocked { last = location }
    }

    func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        // No fix (denied, unavailable): the RASP checks see "don't know".
    }
}
#else
/// No location feed on this platform: `SID.startLocation()` does nothing and the RASP checks see
/// only what `SIDPlatformSignals.location()` returns.
final class SIDLocationProvider: @unchecked Sendable {
    var lastFix: Location? { nil }
}
#endif
