import Foundation
import TimbreAudio
import TimbreContent
import TimbreCore
import TimbreEvaluation
import TimbreNeural
import TimbreStrategies

/// Issue 13's semi-synthetic audio benchmark: real audio (the Debian game soundtracks), synthetic
/// listeners whose tastes are over hidden properties of that audio, and item cold start — can a
/// model that sees only the MFCC sequences recommend tracks nobody has played yet? Figures, not
/// assertions; docs/content-model.md ("Audio that learns what listeners like") describes the
/// protocol and the last figures. Build with -c release.
///
///   AudioBridgeBench ROOT [--users 600] [--epochs 15] [--folds 5] [--seed 0] [--segments 20] [--factors 16]
///
/// ROOT/<soundtrack>/… as `content train` reads it. One track per piece of music (variants such as
/// track3 / track3_enhanced are one piece: the first by path is kept, so no new track has its
/// remaster among the warm ones); tracks under 10 s (jingles, silence) are left out.
///
/// What the listeners like (hidden from every model): four descriptors computed here from the
/// decoded audio (22 050 Hz mono, 2048-sample frames) — loudness (mean frame energy, dB),
/// dynamics (standard deviation of frame energy in dB over non-silent frames), brightness (zero
/// crossings per second, which rises with the spectral centroid) and onset rate (frames whose
/// energy jumps by more than 3 dB over the previous, per second: a tempo/density proxy) —
/// standardised over the tracks, plus the soundtrack. User u draws a preference θ_u ~ N(μ, I) over
/// the four (μ = (0.5, 0, 0, 0): on average listeners lean to louder tracks, so popularity has a
/// content part too) and an affinity a_u ~ N(0, I) per soundtrack; track i's appeal is
/// s_ui = θ_u·z_i + a_u[soundtrack of i] + 0.7·ε_ui, ε_ui ~ N(0, 1) the taste audio does not
/// explain. The user makes 10–60 plays (uniform), each drawn from softmax(1.5·s_u·) over all
/// tracks, with replacement; the play counts are the feedback.
///
/// What each model sees: the fold's training plays, and per track one vector computed from its
/// MFCC sequence only (never the descriptors, except the oracle row):
/// - style LSTM: the content model trained (on the fold's warm tracks only) to name the soundtrack;
///   its embedding is the mean over the track's 3 s segments of the last LSTM layer's state.
/// - factor LSTM: the same network with a linear head trained (on the warm tracks) to regress the
///   fold's ials item factors (van den Oord 2013); its vector is the mean predicted factor row.
/// - MFCC mean + std: 40 numbers per track, the bag-of-frames reference.
/// - oracle: the hidden descriptors and soundtrack themselves (how far a perfect ear could get).
/// Split: `--split cold-items`, tracks in folds, every play of a fold's tracks held out; the
/// ranking is among the fold's new tracks only (new NDCG@10), any held-out play relevant.

struct Settings {
    var root = "/tmp/soundtracks"
    var users = 600
    var epochs = 15
    var folds = 5
    var seed: UInt64 = 0
    var segments = 20
    var factors = 16

    init(_ arguments: [String]) {
        var i = 0
        while i < arguments.count {
            let value = i + 1 < arguments.count ? arguments[i + 1] : ""
            switch arguments[i] {
            case "--users": users = Int(value) ?? users; i += 2
            case "--epochs": epochs = Int(value) ?? epochs; i += 2
            case "--folds": folds = Int(value) ?? folds; i += 2
            case "--seed": seed = UInt64(value) ?? seed; i += 2
            case "--segments": segments = Int(value) ?? segments; i += 2
            case "--factors": factors = Int(value) ?? factors; i += 2
            default: root = arguments[i]; i += 1
            }
        }
    }
}

func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
let settings = Settings(Array(CommandLine.arguments.dropFirst()))
let configuration = MFCCConfiguration()
let started = Date()

// MARK: Tracks

let scanned = try LabelledSet.scan(settings.root)
var seenPieces = Set<String>()
let firstOfPiece = scanned.tracks.filter { seenPieces.insert("\($0.label)/\($0.variantStem)").inserted }
let candidateSet = LabelledSet(classNames: scanned.classNames, tracks: firstOfPiece)
let analysed = try TrackFeatures.analyse(candidateSet, configuration: configuration)
let framesPerSecond = Double(configuration.sampleRate) / Double(configuration.hopLength)
let kept = candidateSet.tracks.indices.filter { t in analysed.mfcc[t].map { Double($0.columnCount) / framesPerSecond >= 10 } ?? false }
let tracks = kept.map { candidateSet.tracks[$0] }
let mfcc = kept.map { analysed.mfcc[$0]! }
let pieces = tracks.map { "\($0.label)/\($0.variantStem)" }
let soundtrack = tracks.map(\.label)
let classNames = candidateSet.classNames
note("\(tracks.count) tracks (one per piece, ≥ 10 s) of \(scanned.tracks.count) files in \(classNames.count) soundtracks; analysed in \(Int(Date().timeIntervalSince(started))) s")

// MARK: Hidden descriptors, from the decoded audio

/// Loudness, dynamics, brightness, onset rate (see the header).
func descriptors(_ samples: [Float], sampleRate: Int) -> [Double] {
    let frame = 2048
    var energies: [Double] = []
    var crossings = 0
    for start in stride(from: 0, to: samples.count - frame, by: frame) {
        var sum = 0.0
        for i in start..<(start + frame) {
            sum += Double(samples[i]) * Double(samples[i])
            if i > start, (samples[i] >= 0) != (samples[i - 1] >= 0) { crossings += 1 }
        }
        energies.append(10 * log10(sum / Double(frame) + 1e-10))
    }
    let seconds = Double(samples.count) / Double(sampleRate)
    let loudness = energies.reduce(0, +) / Double(max(energies.count, 1))
    let audible = energies.filter { $0 > -60 }
    let mean = audible.reduce(0, +) / Double(max(audible.count, 1))
    let dynamics = (audible.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(audible.count, 1))).squareRoot()
    let onsets = zip(energies.dropFirst(), energies).filter { $0 - $1 > 3 }.count
    return [loudness, dynamics, Double(crossings) / seconds, Double(onsets) / seconds]
}
let descriptorNames = ["loudness", "dynamics", "brightness", "onset rate"]
let rawDescriptors: [[Double]] = try concurrentChunks(tracks.count, chunksPerCore: 2) { range in
    Result { try range.map { t in
        let audio = try AudioDecoder(targetSampleRate: configuration.sampleRate).decode(path: tracks[t].path)
        return descriptors(audio.samples, sampleRate: audio.sampleRate)
    } }
}.flatMap { try $0.get() }
let descriptorCount = descriptorNames.count
let hidden: [[Double]] = {
    var z = rawDescriptors
    for j in 0..<descriptorCount {
        let column = rawDescriptors.map { $0[j] }
        let mean = column.reduce(0, +) / Double(column.count)
        let sd = max((column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count)).squareRoot(), 1e-12)
        for t in z.indices { z[t][j] = (rawDescriptors[t][j] - mean) / sd }
    }
    return z
}()

// MARK: Listeners

var rng = SeededGenerator(seed: settings.seed &+ 1)
let populationMean: [Double] = [0.5, 0, 0, 0]
var triples: [RatingTriple] = []
for u in 0..<settings.users {
    let theta = populationMean.map { $0 + rng.gaussian() }
    let affinity = classNames.map { _ in rng.gaussian() }
    let appeal = tracks.indices.map { i in
        zip(theta, hidden[i]).reduce(0) { $0 + $1.0 * $1.1 } + affinity[soundtrack[i]] + 0.7 * rng.gaussian()
    }
    let top = appeal.max()!
    let weights = appeal.map { exp(1.5 * ($0 - top)) }
    let total = weights.reduce(0, +)
    var counts = [Int](repeating: 0, count: tracks.count)
    for _ in 0..<(10 + rng.below(51)) {
        var x = rng.unit() * total, i = 0
        while i < tracks.count - 1 && x >= weights[i] { x -= weights[i]; i += 1 }
        counts[i] += 1
    }
    for (i, c) in counts.enumerated() where c > 0 { triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: Float(c))) }
}
let plays = try RatingMatrix(users: Vocabulary((0..<settings.users).map { "u\($0)" }), items: Vocabulary(pieces), ratings: triples)
let playTotal = triples.reduce(0) { $0 + Int($1.value) }
note("\(settings.users) listeners, \(playTotal) plays over \(triples.count) user–track pairs")

// MARK: Per-fold audio models

/// MFCC mean and standard deviation per coefficient over the whole track.
func statistics(_ m: FeatureMatrix) -> [Float] {
    (0..<m.rowCount).flatMap { c -> [Float] in
        let row = (0..<m.columnCount).map { Double(m[c, $0]) }
        let mean = row.reduce(0, +) / Double(row.count)
        let sd = (row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(row.count)).squareRoot()
        return [Float(mean), Float(sd)]
    }
}

enum Producer: String, Sendable, CaseIterable {
    case style = "style LSTM", factors = "factor LSTM", factorHidden = "factor LSTM state", statistics = "MFCC mean+std", oracle = "oracle"
}

/// Each fold's audio models, trained once and shared by the strategies of that fold (they all see
/// the same training plays); keyed by the fold's warm tracks.
final class FoldModels: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [String: [Producer: EmbeddingTable]] = [:]
    private(set) var warmSets: [String: [Bool]] = [:]
    private(set) var factorErrors: [String: (model: Double, meanRow: Double, keptEpoch: Int)] = [:]
    private(set) var styleAccuracy: [String: Double] = [:]

    func table(_ producer: Producer, for data: TrainingData) throws -> EmbeddingTable {
        let warm = (0..<Int32(data.ratings.itemCount)).map { data.ratings.byItem.count($0) > 0 }
        let key = warm.map { $0 ? "1" : "0" }.joined()
        lock.lock(); defer { lock.unlock() }
        if tables[key] == nil {
            tables[key] = try train(data, warm: warm, key: key)
            warmSets[key] = warm
        }
        return tables[key]![producer]!
    }

    func allTables() -> [(warm: [Bool], tables: [Producer: EmbeddingTable])] {
        tables.keys.sorted().map { (warmSets[$0]!, tables[$0]!) }
    }

    private func train(_ data: TrainingData, warm: [Bool], key: String) throws -> [Producer: EmbeddingTable] {
        let foldStart = Date()
        let n = tracks.count
        func table(_ rows: [[Float]]) -> EmbeddingTable {
            EmbeddingTable(dimension: rows[0].count, vectors: rows.flatMap { $0 }, present: [Bool](repeating: true, count: n))
        }
        // The factor model the bridge's base fits, fitted the same way (same spec, same seed).
        let (base, _) = try registeredStrategies.make(StrategySpec.parse(baseSpec))
        guard let factorModel = try base.fitAny(data) as? any ItemFactorModel else { fatalError("\(baseSpec) has no item factors") }
        let d = factorModel.itemFactorDimension, rows = factorModel.itemFactorRows
        let targets: [[Float]?] = (0..<n).map { warm[$0] ? Array(rows[$0 * d..<($0 + 1) * d]) : nil }
        var training = FactorTraining(epochs: settings.epochs, seed: settings.seed)
        training.segmentsPerTrack = settings.segments
        let outcome = try training.run(mfcc: mfcc.map { Optional($0) }, pieces: pieces, factors: targets, configuration: configuration)
        factorErrors[key] = (outcome.validationError, outcome.meanRowError, (outcome.history.keptEpoch ?? 0) + 1)
        let described = mfcc.map { outcome.model.describe($0, configuration: configuration)! }

        // The style model on the warm tracks' soundtracks, the last fifth of their pieces validating.
        let warmTracks = (0..<n).filter { warm[$0] }
        var warmPieces = Array(Set(warmTracks.map { pieces[$0] })).sorted()
        var g = SeededGenerator(seed: settings.seed)
        g.shuffle(&warmPieces)
        let heldPieces = Set(warmPieces.prefix(max(1, warmPieces.count / 5)))
        func segments(_ t: Int) -> [Matrix] {
            let all = TrackFeatures.segmentSequences(of: mfcc[t], configuration: configuration)
            return all.count <= settings.segments ? all : (0..<settings.segments).map { all[$0 * all.count / settings.segments] }
        }
        var trainX: [Matrix] = [], trainY: [Int] = [], validX: [Matrix] = [], validY: [Int] = []
        for t in warmTracks {
            let s = segments(t)
            if heldPieces.contains(pieces[t]) { validX += s; validY += Array(repeating: soundtrack[t], count: s.count) }
            else { trainX += s; trainY += Array(repeating: soundtrack[t], count: s.count) }
        }
        let standardisation = Standardisation(fitting: trainX)
        var classifier = SequenceClassifier.contentModel(inputSize: trainX[0].columns, classCount: classNames.count, seed: settings.seed)
        let history = classifier.fit(sequences: trainX.map(standardisation.apply), labels: trainY,
                                     validation: (validX.map(standardisation.apply), validY),
                                     epochs: settings.epochs, seed: settings.seed)
        styleAccuracy[key] = history.keptEpoch.flatMap { history.epochs[$0].validationAccuracy } ?? .nan
        let style = ContentModel(classifier: classifier, standardisation: standardisation, classNames: classNames)
        note(String(format: "fold models (%d warm tracks): factor LSTM validation MSE %.4f vs %.4f for the mean row; style LSTM validation accuracy %.3f; %.0f s",
                    warmTracks.count, outcome.validationError, outcome.meanRowError, styleAccuracy[key]!, Date().timeIntervalSince(foldStart)))
        return [
            .style: table(mfcc.map { style.describe($0, configuration: configuration)!.embedding }),
            .factors: table(described.map(\.factors)),
            .factorHidden: table(described.map(\.embedding)),
            .statistics: table(mfcc.map(statistics)),
            .oracle: table(tracks.indices.map { t in hidden[t].map(Float.init) + classNames.indices.map { Float($0 == soundtrack[t] ? 1 : 0) } }),
        ]
    }
}
let baseSpec = "ials(factors=\(settings.factors))"
let foldModels = FoldModels()

/// A strategy fitted on the fold's audio vectors of one producer: the vectors are made (once per
/// fold) from the fold's training data, then the inner strategy fits with them.
struct WithFoldAudio: Strategy {
    static let name = "with-fold-audio"
    static let summary = "benchmark only: an inner strategy on vectors trained on the fold"
    let producer: Producer
    let inner: any Strategy

    init(parameters: Parameters) throws { throw ParameterError("benchmark only") }
    init(producer: Producer, inner: any Strategy) { self.producer = producer; self.inner = inner }

    var usesItemEmbeddings: Bool { true }

    struct Model: TrainedModel {
        let inner: any TrainedModel
        func score(_ user: UserProfile, into scores: inout [Float]) { inner.score(user, into: &scores) }
        func encode(to writer: inout ModelWriter) {}
        init(inner: any TrainedModel) { self.inner = inner }
        init(decoding reader: inout ModelReader) throws { throw ModelDecodingError(description: "benchmark only") }
    }

    func fit(_ data: TrainingData) throws -> Model {
        let table = try foldModels.table(producer, for: data)
        return Model(inner: try inner.fitAny(TrainingData(ratings: data.ratings, itemEmbeddings: table, feedback: data.feedback)))
    }
}

func candidate(_ label: String, _ producer: Producer, _ spec: String) throws -> StrategyUnderTest {
    let parsed = try StrategySpec.parse(spec)
    let (inner, parameters) = try registeredStrategies.make(parsed)
    return StrategyUnderTest(label: label, name: parsed.name, parameters: parameters,
                             strategy: WithFoldAudio(producer: producer, inner: inner))
}

let bridge = "bridge:base=\(baseSpec)"
let candidates = [
    try candidate("popularity (ridge, style LSTM)", .style, "bridge:target=popularity"),
    try candidate("content cosine (style LSTM)", .style, "content"),
    try candidate("bridge (style LSTM)", .style, bridge),
    try candidate("bridge (predicted factors)", .factors, bridge),
    try candidate("bridge (factor LSTM state)", .factorHidden, bridge),
    try candidate("bridge (MFCC mean+std)", .statistics, bridge),
    try candidate("oracle: bridge (hidden descriptors)", .oracle, bridge),
]
let evaluation = Evaluation(split: SplitSpec(.coldItems(folds: settings.folds), seed: settings.seed),
                            options: EvaluationOptions(ratingMetrics: false))
let report = try evaluation.run(TrainingData(ratings: plays, feedback: .plays), strategies: candidates,
                                dataset: "Debian soundtracks, semi-synthetic listeners")
print(report.table())

// MARK: More like this, on each fold's new tracks

print("\n\"More like this\" on each fold's new tracks (models trained on its warm tracks): share of the 10 nearest other")
print("new tracks (cosine, other pieces) from the same soundtrack; mean over the new tracks of all folds, 95 % interval")
var perProducer: [Producer: [Double]] = [:]
for fold in foldModels.allTables() {
    let newTracks = tracks.indices.filter { !fold.warm[$0] }
    for producer in [Producer.style, .factors, .factorHidden, .statistics] {
        let table = fold.tables[producer]!
        let vectors = Matrix(rows: newTracks.count, columns: table.dimension,
                             values: newTracks.flatMap { Array(table.vector(Int32($0))!) })
        perProducer[producer, default: []] += StyleRetrieval.precisions(vectors, labels: newTracks.map { soundtrack[$0] },
                                                                        pieces: newTracks.map { pieces[$0] }, k: 10).compactMap { $0 }
    }
}
for producer in [Producer.style, .factors, .factorHidden, .statistics] {
    let i = MeanInterval(perProducer[producer]!)
    print(String(format: "  %-20@ P@10 %.3f [%.3f, %.3f] over %d tracks", producer.rawValue, i.mean, i.lower, i.upper, perProducer[producer]!.count))
}
let errors = foldModels.factorErrors.values
print(String(format: "\nfactor LSTM, validation tracks (warm, held out by piece): MSE %.4f against %.4f for predicting the mean row (mean of %d folds)",
             errors.map(\.model).reduce(0, +) / Double(errors.count), errors.map(\.meanRow).reduce(0, +) / Double(errors.count), errors.count))
print(String(format: "style LSTM, validation segment accuracy: %.3f (mean of folds; %d soundtracks)",
             foldModels.styleAccuracy.values.reduce(0, +) / Double(foldModels.styleAccuracy.count), classNames.count))
print("settings: \(settings.users) listeners, \(settings.epochs) epochs, \(settings.segments) segments per track, base \(baseSpec), seed \(settings.seed); \(Int(Date().timeIntervalSince(started))) s in all")
