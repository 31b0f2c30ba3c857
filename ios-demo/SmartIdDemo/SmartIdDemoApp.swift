import SmartId
import SwiftUI

/// The SmartId demo: one screen, an Enroll button running the enrollment guide's call.
@main
struct SmartIdDemoApp: App {
    /// Why the SDK could not be configured (a missing server key or models), shown on the screen.
    private let setupProblem: String?

    init() {
        // As the enrollment guide does, once at app start: the RASP location checks get a fix
        // (when-in-use permission, NSLocationWhenInUseUsageDescription in Info.plist).
        SID.shared.startLocation()
        setupProblem = DemoSetup.configureSDK()
    }

    var body: some Scene {
        WindowGroup {
            EnrollView(setupProblem: setupProblem)
        }
    }
}

/// The SDK's configuration, from the app bundle.
enum DemoSetup {
    /// Configures `SID.shared` with the bank server's public key (`server.pk` in the bundle, as
    /// `smartid keygen` or `smartid-server init` writes it), the models the build phase copied into the
    /// bundle's `models` folder, and the iOS platform signals. Returns what is missing, if anything.
    static func configureSDK() -> String? {
        guard let keyURL = Bundle.main.url(forResource: "server", withExtension: "pk"),
              let keyText = try? String(contentsOf: keyURL, encoding: .utf8) else {
            return "server.pk is not in the app: copy the server's public key to ios-demo/SmartIdDemo/Resources/server.pk and build again."
        }
        guard let models = Bundle.main.resourceURL?.appendingPathComponent("models", isDirectory: true),
              FileManager.default.fileExists(atPath: models.appendingPathComponent("manifest.toml").path) else {
            return "The models are not in the app: the \"Copy SmartId models\" build phase did not run."
        }
        var config = SIDConfig(
            serverPublicKey: keyText.trimmingCharacters(in: .whitespacesAndNewlines),
            models: .folder(path: models.path),
            platformSignals: SIDIOSPlatformSignals()
        )
        #if DEBUG
        // Run from Xcode, the debugger is attached (and the simulator is one): the mobile RASP policy
        // would refuse every capture with 6001. Debug builds only report; release builds block.
        config.raspPolicy = .reportOnly
        #endif
        SID.shared.configure(config)
        return nil
    }
}
