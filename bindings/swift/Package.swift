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

let package = Package(
    name: "SmartId",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "SmartId", targets: ["SmartId"]),
    ],
    targets: [
        // The Rust library's C interface. The module map links `smartid_ffi` (libsmartid_ffi.so on
        // Linux; an XCFramework of the static library replaces this target on Apple platforms).
        .systemLibrary(name: "smartid_ffiFFI", path: "Sources/smartid_ffiFFI"),
        // The generated bindings: internal to the SDK, apps use `SmartId` only.
        .target(name: "SmartIdFFI", dependencies: ["smartid_ffiFFI"], path: "Sources/SmartIdFFI"),
        .target(name: "SmartId", dependencies: ["SmartIdFFI"], path: "Sources/SmartId"),
        .testTarget(name: "SmartIdTests", dependencies: ["SmartId", "SmartIdFFI"], path: "Tests/SmartIdTests"),
    ]
)
