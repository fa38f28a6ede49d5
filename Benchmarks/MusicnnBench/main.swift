import Foundation
import TimbreAudio
import TimbreContent
import TimbreCore
import TimbreMusicnn
import TimbreNeural

/// Issue 16's figures: musicnn speed beside TensorFlow measured in the same run, peak memory, and
/// "more like this" retrieval on labelled soundtracks. Figures, not assertions. Build with -c release.
///
///   MusicnnBench speed FILE...    s per audio-minute incl. decode: ours on 1 and 2 threads, TensorFlow
///                                 (scripts/musicnn-reference.py bench, one thread) when --python is given
///   MusicnnBench memory FILE      peak resident memory of embedding one (long) track
///   MusicnnBench retrieval ROOT   P@10 [95 % bootstrap interval] and the linear probe's accuracy of
///                                 MFCC mean + std, musicnn MSD / MTT penultimate and the style LSTM
///                                 trained with each fold's pieces held out (`HeldOutStyleEmbeddings`);
///                                 P@10 over the whole set and within each fold's held-out pool;
///                                 ROOT/<soundtrack>/… as `content` reads it; tracks of 10 s or less
///                                 (jingles, silence) are left out
/// Options: --python PATH (a venv with TensorFlow, see scripts/musicnn-reference.py), --script PATH,
/// --weights DIR, --excerpt SECONDS (retrieval on each track's first seconds only, for a quick check),
/// --folds N (grouped by piece, default 5), --epochs N (each fold's LSTM, default 20).

struct Settings: Sendable {
    var python: String?
    var script = "scripts/musicnn-reference.py"
    var weights = MusicnnEmbedder.defaultWeightsDirectory
    /// Seconds from each track's start (retrieval); nil = whole tracks, the issue's protocol.
    var excerpt: Double?
    /// Grouped folds (by piece) of the probe and of the LSTM's held-out training.
    var folds = 5
    /// Epochs of each fold's LSTM (`content train` defaults to 50; validation accuracy peaks early on this set).
    var epochs = 20
    var positional: [String] = []

    init(_ arguments: [String]) {
        var i = 0
        while i < arguments.count {
            let value = i + 1 < arguments.count ? arguments[i + 1] : ""
            switch arguments[i] {
            case "--python": python = value; i += 2
            case "--script": script = value; i += 2
            case "--weights": weights = value; i += 2
            case "--excerpt": excerpt = Double(value); i += 2
            case "--folds": folds = Int(value) ?? 0; i += 2
            case "--epochs": epochs = Int(value) ?? 0; i += 2
            default: positional.append(arguments[i]); i += 1
            }
        }
    }
}
let settings = Settings(Array(CommandLine.arguments.dropFirst()))
guard let command = settings.positional.first else {
    FileHandle.standardError.write(Data("usage: MusicnnBench speed FILE… | memory FILE | retrieval ROOT [--python P]\n".utf8))
    exit(2)
}
let inputs = Array(settings.positional.dropFirst())
let python = settings.python, script = settings.script, weights = settings.weights, excerpt = settings.excerpt
let folds = settings.folds, epochs = settings.epochs

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = (ContinuousClock.now - start).components
    return Double(d.seconds) + Double(d.attoseconds) * 1e-18
}

func peakMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func audioMinutes(_ files: [String]) throws -> Double {
    try files.reduce(0) { $0 + (try SoundFile(path: $1).duration) / 60 }
}

func runTensorFlow(_ files: [String]) -> [String: Double]? {
    guard let python else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, "--weights", weights, "bench"] + files + ["--threads", "1"]
    var environment = ProcessInfo.processInfo.environment
    for name in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] { environment[name] = "1" }
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Double]
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
}

/// Wall and CPU time per audio-minute. On a shared machine the wall time of one thread can be
/// inflated by other processes; its CPU time is the steadier figure for the 1-thread comparison.
func speed(_ files: [String]) throws {
    let embedder = try MusicnnEmbedder(model: .msd, weightsDirectory: weights)
    let minutes = try audioMinutes(files)
    _ = try embedder.embed(path: files[0], workers: 1)  // warm-up: FFTW plans, page cache
    let cpuBefore = cpuSeconds()
    let one = try seconds { for file in files { _ = try embedder.embed(path: file, workers: 1) } } / minutes
    let oneCPU = (cpuSeconds() - cpuBefore) / minutes
    let two = try seconds { for file in files { _ = try embedder.embed(path: file, workers: 2) } } / minutes
    var decode = 0.0
    for file in files { decode += try seconds { _ = try AudioDecoder(targetSampleRate: 16_000).decode(path: file) } }
    print(String(format: "%.1f audio-minutes in %d files; seconds per audio-minute, decode and resampling included; OpenBLAS kernels %@",
                 minutes, files.count, BLAS.coreName))
    print(String(format: "  Timbre, 1 thread     wall %.3f  CPU %.3f   (decode + resample alone: wall %.3f)", one, oneCPU, decode / minutes))
    print(String(format: "  Timbre, 2 threads    wall %.3f   (%.2f× one thread)", two, one / two))
    if let tf = runTensorFlow(files), let total = tf["seconds_per_audio_minute"], let network = tf["network_seconds_per_audio_minute"],
       let cpu = tf["cpu_seconds_per_audio_minute"] {
        print(String(format: "  TensorFlow, 1 thread wall %.3f  CPU %.3f   (network alone: wall %.3f)", total, cpu, network))
        print(String(format: "  TensorFlow time / Timbre time, 1 thread: wall %.2f, CPU %.2f", total / one, cpu / oneCPU))
    } else {
        print("  TensorFlow: not measured (give --python with a venv as in scripts/musicnn-reference.py)")
    }
}

func memory(_ file: String) throws {
    let embedder = try MusicnnEmbedder(model: .msd, weightsDirectory: weights)
    var patches = 0
    let time = try seconds { patches = try embedder.embed(path: file).patches.count }
    print(String(format: "%@: %.1f audio-minutes, %d patches, %.1f s on %d threads, peak resident %.0f MiB",
                 file, try audioMinutes([file]), patches, time, availableCores, peakMemoryMiB()))
}

/// Mean and 95 % percentile interval over 2000 bootstrap resamples of the queries.
func interval(_ values: [Double]) -> (Double, Double, Double) {
    var generator = SeededGenerator(seed: 16)
    let mean = values.reduce(0, +) / Double(values.count)
    let means = (0..<2000).map { _ in
        (0..<values.count).reduce(0.0) { sum, _ in sum + values[generator.below(values.count)] } / Double(values.count)
    }.sorted()
    return (mean, means[49], means[1949])
}

/// One row of the retrieval table: P@10 per query over the whole set (nil for vectors that are
/// comparable only within a fold), within the held-out pools, and the probe's hits per track.
struct RetrievalRow {
    var name: String
    var wholeSet: [Double]?
    var pools: [Double]
    var probeHits: [Double]
}

/// The machine's 1-minute load average: the figures of a shared machine need it beside them.
func loadAverage() -> Double {
    var load = [0.0, 0.0, 0.0]
    return getloadavg(&load, 3) > 0 ? load[0] : .nan
}

func retrieval(_ root: String) throws {
    let loadAtStart = loadAverage()
    let set = try LabelledSet.scan(root)
    let tracks = try set.tracks.filter { try SoundFile(path: $0.path).duration > 10 }
    let labels = tracks.map(\.label), pieces = tracks.map(\.variantStem)
    let classCount = set.classNames.count
    let counts = set.classNames.indices.map { c in labels.filter { $0 == c }.count }
    let foldOfTrack = try PieceFolds.assign(pieces: pieces, folds: folds)
    print("\(tracks.count) tracks\(excerpt.map { String(format: ", first %.0f s of each", $0) } ?? "") (\(zip(set.classNames, counts).map { "\($0) \($1)" }.joined(separator: ", "))), \(Set(pieces).count) pieces, \(folds) folds by piece")
    var vectors: [(String, Matrix)] = []
    let extractor = try MFCCExtractor()
    var mfcc: [FeatureMatrix] = []
    var statistics = Matrix(rows: tracks.count, columns: 40)
    for (t, track) in tracks.enumerated() {
        mfcc.append(extractor.mfcc(try AudioDecoder().decode(path: track.path, duration: excerpt).samples))
        for c in 0..<20 {
            let row = mfcc[t].row(c).map(Double.init)
            let mean = row.reduce(0, +) / Double(row.count)
            statistics[t, c] = Float(mean)
            statistics[t, 20 + c] = Float((row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)).squareRoot())
        }
    }
    // Both as librosa gives them (the issue's "librosa defaults" reference) and standardised over
    // the tracks, so the loudness coefficient does not decide the cosine alone.
    vectors.append(("MFCC mean + std (librosa defaults, raw)", statistics))
    for c in 0..<40 {
        let column = (0..<tracks.count).map { Double(statistics[$0, c]) }
        let mean = column.reduce(0, +) / Double(column.count)
        let sd = max((column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count)).squareRoot(), 1e-12)
        for t in 0..<tracks.count { statistics[t, c] = Float((Double(statistics[t, c]) - mean) / sd) }
    }
    vectors.append(("MFCC mean + std (librosa defaults, standardised)", statistics))
    for model in MusicnnModelName.allCases {
        let embedder = try MusicnnEmbedder(model: model, weightsDirectory: weights)
        var embedded = Matrix(rows: tracks.count, columns: MusicnnLayer.penultimate.width)
        let time = try seconds {
            for (t, track) in tracks.enumerated() {
                let audio = try AudioDecoder(targetSampleRate: MusicnnSpectrogram.sampleRate).decode(path: track.path, duration: excerpt)
                for (j, v) in try embedder.embed(samples: audio.samples).mean(.penultimate).enumerated() { embedded[t, j] = v }
            }
        }
        FileHandle.standardError.write(Data(String(format: "%@: %.0f s\n", model.rawValue, time).utf8))
        vectors.append(("\(model.rawValue) penultimate (200)", embedded))
    }
    // The LSTM: per fold, a content model trained on the other folds' pieces embeds the fold's tracks.
    let features = TrackFeatures(set: LabelledSet(classNames: set.classNames, tracks: tracks), mfcc: mfcc, skipped: [],
                                 configuration: extractor.configuration)
    var lstm: HeldOutStyleEmbeddings?
    let lstmTime = try seconds {
        lstm = try HeldOutStyleEmbeddings(features: features, foldOfTrack: foldOfTrack, epochs: epochs, seed: 16) { fold in
            FileHandle.standardError.write(Data("LSTM fold \(fold + 1) of \(folds) trained\n".utf8))
        }
    }
    guard let lstm else { return }
    print(String(format: "load average (1 min) at the start %.1f, at the end %.1f", loadAtStart, loadAverage()))
    let pools = lstm.pools

    func hits(_ predicted: [Int]) -> [Double] { zip(predicted, labels).map { $0 == $1 ? 1 : 0 } }
    var rows = vectors.map { name, v in
        RetrievalRow(name: name,
                     wholeSet: StyleRetrieval.precisions(v, labels: labels, pieces: pieces, k: 10).compactMap { $0 },
                     pools: StyleRetrieval.pooled(v, labels: labels, pieces: pieces, k: 10, pools: pools).precisions.compactMap { $0 },
                     probeHits: hits(LinearProbe.predictions(v, labels: labels, classCount: classCount, foldOfRow: foldOfTrack)))
    }
    let pooled = StyleRetrieval.pooled(lstm.embeddings, labels: labels, pieces: pieces, k: 10, pools: pools)
    rows.append(RetrievalRow(name: "LSTM style model (64), its fold's pieces held out", wholeSet: nil,
                             pools: pooled.precisions.compactMap { $0 }, probeHits: hits(lstm.probePredictions)))

    print(String(format: "whole set: chance %.3f. Held-out pools (each fold's %@ tracks; queries and candidates from one fold): chance %.3f, best possible %.3f",
                 StyleRetrieval.chanceLevel(labels: labels, pieces: pieces), pools.map { String($0.count) }.joined(separator: "/"),
                 pooled.chance, pooled.ceiling))
    func cell(_ values: [Double]?) -> String {
        guard let values, !values.isEmpty else { return "—" }
        let (mean, low, high) = interval(values)
        return String(format: "%.3f [%.3f, %.3f]", mean, low, high)
    }
    print("| embedding | P@10 whole set [95 % CI] | P@10 held-out pools [95 % CI] | probe, \(folds) folds by piece [95 % CI] |")
    print("|---|---|---|---|")
    for row in rows { print("| \(row.name) | \(cell(row.wholeSet)) | \(cell(row.pools)) | \(cell(row.probeHits)) |") }
    print(String(format: "LSTM: %d epochs per fold (seeds 16…%d), kept epochs %@, own classifier right on %.3f of the held-out tracks; %.0f s for %d folds",
                 epochs, 16 + folds - 1, lstm.keptEpochs.map(String.init).joined(separator: ", "),
                 hits(lstm.modelPredictions).reduce(0, +) / Double(tracks.count), lstmTime, folds))
}

do {
    switch command {
    case "speed": try speed(inputs)
    case "memory": try memory(inputs[0])
    case "retrieval": try retrieval(inputs[0])
    default: throw MusicnnError.invalidArgument("unknown command \(command): speed, memory or retrieval")
    }
} catch {
    FileHandle.standardError.write(Data("MusicnnBench: \(error)\n".utf8))
    exit(1)
}
