// swift-tools-version:5.9
//
// SmartId for Swift: the `SID` facade over the generated uniffi bindings of `smartid-ffi`.
//
// Two of the three targets hold generated code that is NOT committed (see README.md):
//   Sources/smartid_ffiFFI/   smartid_ffiFFI.h + module.modulemap   (the C declarations of the Rust library)
//   Sources/SmartIdFFI/       SmartIdFFI.swift                       (the generated Swift bindings)
// `scripts/bindgen.sh` generates them into the build tree and `scripts/test-swift.sh` assembles a
// complete copy of this package there ($CARGO_TARGET_DIR/smartid-swift); the source tree stays clean.
import PackageDescription

// Where the Rust library's C interface (module `smartid_ffiFFI`) comes from. A manifest is compiled and
// run on the machine that builds the package, so `#if os(...)` here tests the HOST, not the target:
#if os(Linux)
// Linux (the tests in the Debian chroot): a system library. scripts/test-swift.sh writes
// Sources/smartid_ffiFFI/module.modulemap with `link "smartid_ffi"` next to the generated header, and
// links against the host-built libsmartid_ffi.so.
let ffiTarget: Target = .systemLibrary(name: "smartid_ffiFFI", path: "Sources/smartid_ffiFFI")
#else
// macOS with Xcode (building for iOS): the XCFramework of the static library that
// scripts/build-xcframework.sh writes next to this file: one slice per platform, each with
// libsmartid_ffi.a and Headers/ (smartid_ffiFFI.h and a module.modulemap declaring `smartid_ffiFFI`).
// It is a build product, not committed: build it before resolving this package. Only the platforms it
// has slices for can be built (iOS devices, and the simulator if the script adds that slice).
let ffiTarget: Target = .binaryTarget(name: "smartid_ffiFFI", path: "SmartIdFFI.xcframework")
#endif

let package = Package(
    name: "SmartId",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "SmartId", targets: ["SmartId"]),
    ],
    targets: [
        // The Rust library's C interface (see above).
        ffiTarget,
        // The generated bindings: internal to the SDK, apps use `SmartId` only.
        .target(name: "SmartIdFFI", dependencies: ["smartid_ffiFFI"], path: "Sources/SmartIdFFI"),
        // The facade; Sources/SmartId/iOS holds the camera screen and the iOS platform signals
        // (compiled for iOS only, `#if os(iOS)`).
        .target(name: "SmartId", dependencies: ["SmartIdFFI"], path: "Sources/SmartId"),
        .testTarget(name: "SmartIdTests", dependencies: ["SmartId", "SmartIdFFI"], path: "Tests/SmartIdTests"),
    ]
)
