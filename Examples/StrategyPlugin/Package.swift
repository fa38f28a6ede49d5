// swift-tools-version:6.0
import PackageDescription

/// A Timbre strategy plugin built outside Timbre: one dynamic library, libTimbreRP3beta.so, that
/// `timbre --plugins .build/debug …` loads. It depends only on Timbre's TimbreStrategyKit, by path
/// here (a copy of this folder elsewhere points `path:` at its Timbre checkout).
let package = Package(
    name: "TimbreRP3beta",
    products: [
        // .dynamic: the library timbre opens. It links the kit's own dynamic library to be built;
        // when timbre opens it, its kit symbols bind to timbre's copy, so types are shared.
        .library(name: "TimbreRP3beta", type: .dynamic, targets: ["RP3beta"]),
    ],
    dependencies: [
        .package(name: "Timbre", path: "../.."),
    ],
    targets: [
        .target(name: "RP3beta", dependencies: [.product(name: "TimbreStrategyKit", package: "Timbre")]),
        .testTarget(name: "RP3betaTests", dependencies: ["RP3beta"]),
    ]
)
