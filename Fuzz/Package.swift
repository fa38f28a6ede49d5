// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets for Timbre's input front doors. Not part of the main package's build or
/// tests: `scripts/fuzz` builds them with `-sanitize=fuzzer,address` (each main.swift hands its test
/// function to libFuzzer's driver) and runs each on its corpus in Fuzz/corpus/<target>/ for a bounded time.
let driver: Target.Dependency = "CFuzzerDriver"

let package = Package(
    name: "TimbreFuzz",
    dependencies: [.package(name: "Timbre", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "FuzzDelimitedTable", dependencies: [driver, .product(name: "TimbreInterchange", package: "Timbre")]),
        .executableTarget(name: "FuzzStrategySpec", dependencies: [
            driver, .product(name: "TimbreCore", package: "Timbre"), .product(name: "TimbreStrategies", package: "Timbre"),
        ]),
        .executableTarget(name: "FuzzModelDecoder", dependencies: [
            driver, .product(name: "TimbreCore", package: "Timbre"), .product(name: "TimbreStrategies", package: "Timbre"),
            .product(name: "TimbreContent", package: "Timbre"),
        ]),
        .executableTarget(name: "FuzzSoundFile", dependencies: [driver, .product(name: "TimbreAudio", package: "Timbre")]),
    ]
)
