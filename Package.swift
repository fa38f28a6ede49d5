// swift-tools-version:6.0
import PackageDescription

/// A strategy is one target under Plugins/<Name>, depending on TimbreCore (what TimbreStrategyKit
/// re-exports to out-of-tree plugins; not on the kit target itself: SwiftPM recompiles a target
/// when a direct dependency's module changes, and the re-exporting kit's module is not rewritten
/// when TimbreCore's is, which left built-ins compiled against an older TimbreCore) and whatever
/// else it needs. Registering it with the host is one line in Plugins/Registry/RegisteredStrategies.swift.
func strategy(_ name: String, _ extra: [Target.Dependency] = []) -> Target {
    .target(name: name, dependencies: ["TimbreCore"] + extra, path: "Plugins/\(name)")
}

/// Strategy plugins (Examples/StrategyPlugin) link the kit's dynamic library only to be built: a
/// process that loads them must export its own kit symbols, so theirs bind to the host's copy
/// when opened and Swift types (the Strategy protocol, model conformances) are one across both.
let exportsKitToPlugins: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "--export-dynamic"], .when(platforms: [.linux]))]

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
        .library(name: "TimbreInterchange", targets: ["TimbreInterchange"]),
        .library(name: "TimbreStrategies", targets: ["TimbreStrategies"]),
        .library(name: "TimbreAudio", targets: ["TimbreAudio"]),
        .library(name: "TimbreContent", targets: ["TimbreContent"]),
        // What a strategy plugin builds against (Examples/StrategyPlugin); dynamic, see exportsKitToPlugins.
        .library(name: "TimbreStrategyKit", type: .dynamic, targets: ["TimbreStrategyKit"]),
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

        // The domain: ratings, strategies and their settings, model coding. No files, no terminal.
        .target(name: "TimbreCore"),
        // Files in and out: delimited tables, catalog records, external ids, .npy arrays.
        .target(name: "TimbreInterchange", dependencies: ["TimbreCore"]),
        // Terminal output: progress on stderr, text tables, CSV fields.
        .target(name: "TimbreTerminal"),
        .target(name: "TimbreStrategyKit", dependencies: ["TimbreCore"]),
        .target(name: "TimbreAudio", dependencies: ["TimbreCore", "TimbreInterchange", "CSndFile", "CFFTW", "CSoxr", "CPNG", "COpenSSL"]),
        // Ingest's storage: TimbreAudio's AudioFeatureStore on the catalog's PostgresConnection.
        .target(name: "TimbreAudioCatalog", dependencies: ["TimbreAudio", "TimbreCatalog", "TimbreTerminal"]),
        // Catalog embedding sets made from ingested audio: stored content models, `ContentTrainer`, `ContentEmbedder`, `MusicnnCatalog`.
        .target(name: "TimbreContentCatalog", dependencies: ["TimbreAudioCatalog", "TimbreCatalog", "TimbreContent", "TimbreNeural", "TimbreMusicnn", "TimbreTerminal"]),
        // The catalog's migrations stay in the top-level sql/ folder; EmbedMigrations compiles them into it.
        .target(name: "TimbreCatalog", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreTerminal", "TimbreEvaluation", "CLibPQ", "COpenSSL"], plugins: ["EmbedMigrations"]),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"], path: "BuildTools/EmbedMigrations"),
        .executableTarget(name: "MigrationEmbedder", path: "BuildTools/MigrationEmbedder"),
        // Code strategies share lives in libraries under Sources/, never in a strategy: no plugin
        // depends on another plugin. The bias baseline, rating centres and feedback modes:
        .target(name: "TimbreBaselines", dependencies: ["TimbreCore"]),
        // Similarity, pair sums and settings shared by the neighbourhood strategies.
        .target(name: "Neighbourhood", dependencies: ["TimbreCore", "TimbreBaselines"], path: "Sources/Neighbourhood"),
        // Profile fingerprints, Hogwild buffers and scoring shared by the latent-factor strategies.
        .target(name: "LatentFactors", dependencies: ["TimbreCore"], path: "Sources/LatentFactors"),
        .target(name: "TimbreEvaluation", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreTerminal"]),
        // The MFCC → LSTM content model's numerical core.
        .target(name: "TimbreNeural", dependencies: ["TimbreCore", "COpenBLAS"]),
        // The content model's data and protocol: labelled folders, split by piece, training, evaluation.
        .target(name: "TimbreContent", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreAudio", "TimbreNeural"]),
        // Pretrained musicnn audio embeddings: TensorFlow checkpoint reader, front end, network.
        .target(name: "TimbreMusicnn", dependencies: ["TimbreCore", "TimbreAudio", "TimbreNeural"]),
        // Serving: the recommender service (get-or-train, rules, explanations), the stream mode and the publisher.
        .target(name: "TimbreServing", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreTerminal", "TimbreCatalog", "TimbreStrategies"]),
        .executableTarget(name: "CFBench", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies", "Bridge", "TimbreTestSupport"],
                          path: "Benchmarks/CFBench"),
        .executableTarget(name: "MusicnnBench", dependencies: ["TimbreCore", "TimbreAudio", "TimbreContent", "TimbreNeural", "TimbreMusicnn"],
                          path: "Benchmarks/MusicnnBench"),
        .executableTarget(name: "AudioBridgeBench", dependencies: ["TimbreCore", "TimbreAudio", "TimbreContent", "TimbreNeural", "TimbreEvaluation", "TimbreStrategies"],
                          path: "Benchmarks/AudioBridgeBench"),
        .executableTarget(name: "CatalogBench", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreTerminal", "TimbreCatalog", "TimbreEvaluation", "TimbreTestSupport"],
                          path: "Benchmarks/CatalogBench"),
        .target(name: "TimbreStrategies", dependencies: ["TimbreCore", "TimbreStrategyKit"] + strategies.map { .target(name: $0.name) },
                path: "Plugins/Registry"),
        .executableTarget(name: "timbre", dependencies: [
            "TimbreCore", "TimbreInterchange", "TimbreTerminal", "TimbreCatalog", "TimbreStrategies", "TimbreEvaluation", "TimbreAudio", "TimbreAudioCatalog", "TimbreContentCatalog", "TimbreContent", "TimbreServing",
            "TimbreMusicnn",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: exportsKitToPlugins),

        .testTarget(name: "TimbreCoreTests", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreTerminal", "TimbreStrategies"]),
        .testTarget(name: "TimbreAudioTests", dependencies: ["TimbreAudio", "TimbreInterchange"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreAudioCatalogTests", dependencies: ["TimbreAudio", "TimbreAudioCatalog", "TimbreCatalog", "TimbreCore", "TimbreTestSupport"]),
        .testTarget(name: "TimbreContentCatalogTests", dependencies: ["TimbreInterchange", "TimbreAudio", "TimbreAudioCatalog", "TimbreContentCatalog", "TimbreCatalog", "TimbreContent", "TimbreNeural", "TimbreCore", "TimbreMusicnn", "TimbreTestSupport"]),
        .testTarget(name: "TimbreMusicnnTests", dependencies: ["TimbreMusicnn", "TimbreAudio", "TimbreCore", "TimbreTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreNeuralTests", dependencies: ["TimbreNeural", "TimbreCore"], exclude: ["Fixtures"]),
        .testTarget(name: "TimbreContentTests", dependencies: ["TimbreContent", "TimbreNeural", "TimbreAudio", "TimbreCore", "TimbreTestSupport"]),
        .testTarget(name: "TimbreEvaluationTests", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreEvaluation", "TimbreStrategies", "TimbreTestSupport"]),
        .testTarget(name: "StrategyTests", dependencies: ["TimbreCore", "TimbreEvaluation", "TimbreStrategies", "TimbreBaselines", "Neighbourhood", "UserKNN", "ItemKNN", "Bias", "Content", "Hybrid", "EASE", "IALS", "BPR", "BiasedMF", "LatentFactors", "Bridge", "TimbreTestSupport"]),
        // A private migrated schema per test, test data and fixtures (MovieLens-100K, synthetic catalogues; the
        // benchmarks use these too), running the built CLI.
        .target(name: "TimbreTestSupport", dependencies: ["TimbreInterchange", "TimbreCatalog", "TimbreEvaluation"], path: "Tests/Support"),
        .testTarget(name: "TimbreServingTests", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreCatalog", "TimbreServing", "TimbreStrategies", "ItemKNN", "Content", "TimbreTestSupport"]),
        .testTarget(name: "TimbreCatalogTests", dependencies: ["TimbreCore", "TimbreInterchange", "TimbreCatalog", "TimbreEvaluation", "TimbreStrategies", "TimbreTestSupport"]),
        // Loads the example plugin that scripts/test builds into the test process (hence the export).
        .testTarget(name: "TimbrePluginTests", dependencies: ["TimbreCore", "TimbreStrategyKit", "TimbreStrategies", "Popularity", "TimbreCatalog", "TimbreServing",
                                                              "TimbreEvaluation", "TimbreTestSupport"],
                    linkerSettings: exportsKitToPlugins),
    ] + strategies
)
