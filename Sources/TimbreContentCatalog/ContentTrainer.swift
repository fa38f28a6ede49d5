import Foundation
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreContent
import TimbreCore
import TimbreNeural
import TimbreTerminal
import TimbreInterchange

/// What `timbre content train` is asked to do.
public struct ContentTrainingRequest: Sendable {
    /// Folder with one sub-folder of audio files per class.
    public var directory: String
    public var epochs = 50
    public var segments: ContentExperiment.SegmentSource = .track
    public var batchSize = 32
    /// Seed of the split, the initial weights, the shuffling and dropout.
    public var seed: UInt64 = 0
    /// Read each file's MFCC sequence from the catalog (matched by content hash) where it has one.
    public var fromCatalog = false
    /// Store the trained model in the catalog's trained_models.
    public var store = false
    /// Also write the model to this file.
    public var modelFile: String?
    /// Also write the standardised segments as NumPy files to this folder.
    public var exportSegments: String?

    public init(directory: String) { self.directory = directory }

    /// The settings stored with the model (trained_models.parameters).
    var storedParameters: [String: String] {
        ["epochs": String(epochs), "seed": String(seed), "batchSize": String(batchSize), "segments": segments.rawValue]
    }
}

/// How a stored content model was trained (trained_models.trained_on).
struct StoredTraining: Encodable {
    var directory: String
    var classes: [String]
    var tracks: Int
    var keptEpoch: Int?
    var testSegmentAccuracy: Double
    var testClipAccuracy: Double
}

/// Trains the MFCC → LSTM content model on a labelled folder, reading stored sequences from the
/// catalog and storing the model there when asked, and reports on it (`timbre content train`).
public struct ContentTrainer {
    /// Opens the catalog; called only when the request reads from or stores into it.
    private let connect: () throws -> PostgresConnection

    public init(connect: @escaping () throws -> PostgresConnection) { self.connect = connect }

    /// Scans, analyses (only what the catalog lacks, with `fromCatalog`), splits, trains and
    /// evaluates; `onEpoch` sees each epoch's record as it ends. With `store` the catalog is
    /// opened before training, so an unreachable one fails in seconds, not after the epochs.
    public func train(_ request: ContentTrainingRequest,
                      onEpoch: (Int, SequenceClassifier.EpochRecord) -> Void = { _, _ in }) throws -> ContentTrainingSummary {
        let set = try LabelledSet.scan(request.directory)
        let analysisStart = Date()
        var mfcc = [FeatureMatrix?](repeating: nil, count: set.tracks.count)
        if request.fromCatalog { mfcc = try storedSequences(of: set, in: AudioCatalogStore(db: try connect())) }
        // Only the tracks the catalog does not have are decoded.
        let missing = set.tracks.indices.filter { mfcc[$0] == nil }
        let progress = ProgressReporter("analyse", total: missing.count, unit: "tracks")
        let analysed = try TrackFeatures.analyse(LabelledSet(classNames: set.classNames, tracks: missing.map { set.tracks[$0] }),
                                                 progress: { progress.advance() })
        progress.finish()
        for (k, t) in missing.enumerated() { mfcc[t] = analysed.mfcc[k] }
        let features = TrackFeatures(set: set, mfcc: mfcc, skipped: analysed.skipped, configuration: analysed.configuration)
        let analysisSeconds = Date().timeIntervalSince(analysisStart)

        let storeInto = request.store ? try connect() : nil
        let experiment = try ContentExperiment(features: features, seed: request.seed, segmentSource: request.segments)
        if let folder = request.exportSegments { try SegmentExport.write(experiment, to: folder) }
        let outcome = experiment.run(epochs: request.epochs, batchSize: request.batchSize, seed: request.seed, onEpoch: onEpoch)
        if let file = request.modelFile { try writeFileSafely(outcome.model.encode(), to: file) }
        var summary = ContentTrainingSummary(set: set, features: features, experiment: experiment, outcome: outcome,
                                             baseline: ClipStatisticsBaseline(experiment, seed: request.seed),
                                             analysisSeconds: analysisSeconds, seed: request.seed, model: request.modelFile)
        if request.fromCatalog { summary.tracksFromCatalog = set.tracks.count - missing.count }
        if let db = storeInto {
            let report = outcome.report
            let trainedOn = StoredTraining(directory: URL(fileURLWithPath: request.directory).standardizedFileURL.path,
                                           classes: set.classNames, tracks: set.tracks.count,
                                           keptEpoch: outcome.history.keptEpoch.map { $0 + 1 },
                                           testSegmentAccuracy: report.segmentAccuracy, testClipAccuracy: report.clipAccuracy)
            summary.storedModel = try ContentCatalog(db: db).save(outcome.model, parameters: try sortedJSON(request.storedParameters),
                                                                  trainedOn: try sortedJSON(trainedOn))
        }
        summary.styleRetrieval = StyleRetrieval(experiment, classifier: outcome.model.classifier,
                                                pieceOfClip: experiment.test.clips.map { set.tracks[$0.track].variantStem })
        return summary
    }

    /// The catalog's MFCC sequence of every file that `timbre audio ingest` stored, by content
    /// hash (files hashed on all cores); nil where the catalog has none, or one made with another
    /// coefficient count than the content model's.
    func storedSequences(of set: LabelledSet, in store: AudioCatalogStore) throws -> [FeatureMatrix?] {
        let tracks = set.tracks
        let hashes = try concurrentChunks(tracks.count) { range in
            Result { () throws(AudioError) -> [[UInt8]] in try range.map { (t: Int) throws(AudioError) in try SHA256.digest(ofFile: tracks[t].path) } }
        }.flatMap { try $0.get() }
        let wanted = MFCCConfiguration().coefficientCount
        return try hashes.map { hash in try store.mfcc(ofContent: hash).flatMap { $0.rowCount == wanted ? $0 : nil } }
    }
}

/// Everything `content train` reports (its --format json).
public struct ContentTrainingSummary: Encodable {
    public struct Part: Encodable, Sendable {
        public var name: String
        public var clips: Int
        public var segments: Int
        public var clipsPerClass: [Int]
        /// Distinct pieces (variant groups) the clips come from, per class.
        public var piecesPerClass: [Int]
    }
    public struct Skipped: Encodable, Sendable { public var path: String; public var reason: String }
    public struct Epoch: Encodable, Sendable {
        public var loss: Double
        public var trainAccuracy: Double
        public var validationAccuracy: Double?
        public var seconds: Double
    }
    public var classes: [String]
    public var tracks: Int
    public var skipped: [Skipped]
    public var shortfalls: [String]
    public var split: [Part]
    public var seed: UInt64
    public var epochs: [Epoch]
    public var keptEpoch: Int?
    public var secondsPerEpoch: Double
    public var analysisSeconds: Double
    public var parameters: Int
    public var test: ClassificationReport
    /// Logistic regression on clip MFCC mean + std, same split (tells a hard split from a weak model).
    public var baselineClipAccuracy: Double
    /// The model file written, if any.
    public var model: String?
    /// Id in the catalog's trained_models, when stored.
    public var storedModel: Int64?
    /// "More like this" among the test clips of other pieces: embeddings against MFCC statistics.
    public var styleRetrieval: StyleRetrieval?
    /// With `fromCatalog`: how many tracks' sequences came from the catalog instead of decoding.
    public var tracksFromCatalog: Int?

    init(set: LabelledSet, features: TrackFeatures, experiment: ContentExperiment, outcome: ContentExperiment.Outcome,
         baseline: ClipStatisticsBaseline, analysisSeconds: Double, seed: UInt64, model: String?) {
        classes = set.classNames
        tracks = set.tracks.count
        skipped = features.skipped.map { Skipped(path: $0.path, reason: $0.reason) }
        shortfalls = experiment.split.shortfalls
        split = [("train", experiment.train), ("validation", experiment.validation), ("test", experiment.test)].map { name, part in
            Part(name: name, clips: part.clips.count, segments: part.sequences.count,
                 clipsPerClass: set.classNames.indices.map { c in part.clipLabels.filter { $0 == c }.count },
                 piecesPerClass: set.classNames.indices.map { c in
                     Set(part.clips.map { set.tracks[$0.track] }.filter { $0.label == c }.map(\.variantStem)).count
                 })
        }
        self.seed = seed
        epochs = outcome.history.epochs.map {
            Epoch(loss: $0.loss, trainAccuracy: $0.trainingAccuracy, validationAccuracy: $0.validationAccuracy, seconds: $0.seconds)
        }
        keptEpoch = outcome.history.keptEpoch.map { $0 + 1 }
        secondsPerEpoch = outcome.secondsPerEpoch
        self.analysisSeconds = analysisSeconds
        parameters = outcome.model.classifier.parameterCount
        test = outcome.report
        baselineClipAccuracy = baseline.testAccuracy
        self.model = model
    }
}
