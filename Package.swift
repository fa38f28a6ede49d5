// swift-tools-version:6.0
import PackageDescription

/// A strategy is one target under Plugins/<Name>, depending on TimbreCore (and whatever else it needs).
/// Registering it with the host is one line in Plugins/Registry/RegisteredStrategies.swift.
func strategy(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .target(name: name, dependencies: ["TimbreCore"] + extra, path: "Plugins/\(name)")
}

let strategies: [Target] = [
    strategy("Popularity"),
    strategy("Bias", ["TimbreBaselines"]),
    strategy("UserKNN", ["Neighbourhood", "TimbreBaselines"]),
    strategy("ItemKNN", ["Neighbourhood", "TimbreBaselines"]),
    strategy("Content", ["TimbreBaselines"]),
    strategy("Hybrid"),
    strategy("EASE", ["TimbreNeural"]),
    strategy("IALS", ["TimbreNeural", "LatentFactors"]),
    strategy("BPR", ["LatentFactors"]),
    strategy("BiasedMF", ["LatentFactors", "TimbreNeural"]),
    strategy("Bridge", ["TimbreNeural"]),
]

let package = Package(
    name: "Timbre",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "timbre", targets: ["timbre"]),
        // For the fuzz package in Fuzz/ (scripts/fuzz), which builds these with libFuzzer and ASan.
        .library(name: "TimbreCore", targets: ["TimbreCore"]),
        .library(name: "TimbreStrategies", targets: ["TimbreStrategies"]),
        .library(name: "TimbreAudio", targets: ["TimbreAudio"]),
        .library(name: "TimbreContent", targets: ["TimbreContent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries, each behind a tiny module and wrapped once in a Swift type.
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSoxr", path: "Sources/CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        .target(name: "TimbreCore"),
        .target(name: "TimbreAudio", dependencies: ["TimbreCore", "CSndFile", "CFFTW", "CSoxr", "CPNG", "COpenSSL"]),
        // Ingest's storage: TimbreAudio's AudioFeatureStore on the catalog's PostgresConnection.
        .target(name: "TimbreAudioCatalog", dependencies: ["TimbreAudio", "TimbreCatalog", "TimbreContent", "TimbreMusicnn", "TimbreNeural"]),
        // The catalog's migrations stay in the top-level sql/ folder; EmbedMigrations compiles them into it.
        .target(name: "TimbreCatalog", dependencies: ["TimbreCore", "CLibPQ", "COpenSSL"], plugins: ["EmbedMigrations"]),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"], path: "BuildTools/EmbedMigrations"),
        .executableTarget(name: "MigrationEmbedder", path: "BuildTools/MigrationEmbedder"),
        // Code strategies share lives in libraries under Sources/, never in a strategy: no plugin
        // depends on another plugin. The bias baseline, rating centres and feedback modes:
        .target(name: "TimbreBaselines", dependencies: ["TimbreCore"]),
        // Similarity, pair sums and settings shared by the neighbourhood strategies.
        .target(name: "Neighbourhood", dependencies: ["TimbreCore", "TimbreBaselines"], path: "Sources/Neighbourhood"),
        // Profile fingerprints, Hogwild buffers and scoring shared by the latent-factor strategies.
        .target(name: "LatentFactors", dependencies: ["TimbreCore"], path: "Sources/LatentFactors"),
        .target(name: "TimbreEvaluation", dependencies: ["TimbreCore"]),
        // The MFCC → LSTM content model's numerical core.
        .target(name: "TimbreNeural", dependencies: ["TimbreCore", "COpenBLAS"]),
        // The content model's data and protocol: labelled folders, split by piece, training, evaluation.
        .target(name: "TimbreContent", dependencies: ["TimbreCore", "TimbreAudio", "TimbreNeural"]),
        // Pretrained musicnn audio embeddings: TensorFlow checkpoint reader, front end, network.
        .target(name: "TimbreMusicnn", dependencies: ["TimbreCore", "TimbreAudio", "TimbreNeural"]),
        // Serving: the recommender service (get-or-train, rules, explanations), the stream mode and the publisher.
        .target(name: "TimbreServing", dependencies: ["TimbreCore", "TimbreCatalog", "TimbreStrategies"]),
        .executableTarget(name: "CFBench", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies", "Bridge"],
                          path: "Benchmarks/CFBench"),
        .executableTarget(name: "MusicnnBench", dependencies: ["TimbreCore", "TimbreAudio", "TimbreContent", "TimbreNeural", "TimbreMusicnn"],
                          path: "Benchmarks/MusicnnBench"),
        .executableTarget(name: "AudioBridgeBench", dependencies: ["TimbreCore", "TimbreAudio", "TimbreContent", "TimbreNeural", "TimbreEvaluation", "TimbreStrategies"],
                          path: "Benchmarks/AudioBridgeBench"),
        .executableTarget(name: "CatalogBench", dependencies: ["TimbreCore", "TimbreCatalog", "TimbreEvaluation"],
                          path: "Benchmarks/CatalogBench"),
        .target(name: "TimbreStrategies", dependencies: ["TimbreCore"] + strategies.map { .target(name: $0.name) },
                path: "Plugins/Registry"),
        .executableTarget(name: "timbre", dependencies: [
            "TimbreCore", "TimbreCatalog", "TimbreStrategies", "TimbreEvaluation", "TimbreAudio", "TimbreAudioCatalog", "TimbreContent", "TimbreServing",
            "TimbreMusicnn",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TimbreCoreTests", dependencies: ["TimbreCore", "TimbreStrategies"]),
        .testTarget(name: "TimbreAudioTests", dependencies: ["TimbreAudio"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreAudioCatalogTests", dependencies: ["TimbreAudio", "TimbreAudioCatalog", "TimbreCatalog", "TimbreContent", "TimbreNeural", "TimbreCore", "TimbreMusicnn", "TimbreTestSupport"]),
        .testTarget(name: "TimbreMusicnnTests", dependencies: ["TimbreMusicnn", "TimbreAudio", "TimbreCore", "TimbreTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreNeuralTests", dependencies: ["TimbreNeural", "TimbreCore"]),
        .testTarget(name: "TimbreContentTests", dependencies: ["TimbreContent", "TimbreNeural", "TimbreAudio", "TimbreCore", "TimbreTestSupport"]),
        .testTarget(name: "TimbreEvaluationTests", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies"]),
        .testTarget(name: "StrategyTests", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies", "TimbreBaselines", "Neighbourhood", "UserKNN", "ItemKNN", "Bias", "Content", "Hybrid", "EASE", "IALS", "BPR", "BiasedMF", "LatentFactors", "Bridge"]),
        // A private migrated schema per test, test data locations, running the built CLI.
        .target(name: "TimbreTestSupport", dependencies: ["TimbreCatalog", "TimbreEvaluation"], path: "Tests/Support"),
        .testTarget(name: "TimbreServingTests", dependencies: ["TimbreCore", "TimbreCatalog", "TimbreServing", "TimbreStrategies", "ItemKNN", "Content", "TimbreTestSupport"]),
        .testTarget(name: "TimbreCatalogTests", dependencies: ["TimbreCore", "TimbreCatalog", "TimbreStrategies", "TimbreTestSupport"]),
    ] + strategies
)
