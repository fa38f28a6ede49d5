// swift-tools-version:6.0
import PackageDescription

/// A strategy is one target under Plugins/<Name>, depending on TimbreCore (and whatever else it needs).
/// Registering it with the host is one line in Plugins/Registry/RegisteredStrategies.swift.
func strategy(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .target(name: name, dependencies: ["TimbreCore"] + extra, path: "Plugins/\(name)")
}

let strategies: [Target] = [
    strategy("Popularity"),
    strategy("Bias"),
    strategy("UserKNN", ["Neighbourhood"]),
    strategy("ItemKNN", ["Neighbourhood"]),
]

let package = Package(
    name: "Timbre",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "timbre", targets: ["timbre"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries, each behind a tiny module and wrapped once in a Swift type.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        .target(name: "TimbreCore"),
        .target(name: "TimbreCatalog", dependencies: ["TimbreCore", "CLibPQ"], resources: [.copy("Migrations")]),
        // Similarity, centring and scratch code shared by the neighbourhood strategies.
        .target(name: "Neighbourhood", dependencies: ["TimbreCore", "Bias"], path: "Plugins/Neighbourhood"),
        .target(name: "TimbreEvaluation", dependencies: ["TimbreCore"]),
        .executableTarget(name: "CFBench", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies"],
                          path: "Benchmarks/CFBench"),
        .target(name: "TimbreStrategies", dependencies: ["TimbreCore"] + strategies.map { .target(name: $0.name) },
                path: "Plugins/Registry"),
        .executableTarget(name: "timbre", dependencies: [
            "TimbreCore", "TimbreCatalog", "TimbreStrategies", "TimbreEvaluation",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TimbreCoreTests", dependencies: ["TimbreCore", "TimbreStrategies"]),
        .testTarget(name: "TimbreEvaluationTests", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies"]),
        .testTarget(name: "StrategyTests", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies", "Neighbourhood", "UserKNN", "ItemKNN", "Bias"]),
        .testTarget(name: "TimbreCatalogTests", dependencies: ["TimbreCore", "TimbreCatalog", "TimbreStrategies"]),
    ] + strategies
)
