import Foundation
import TimbreAudio
import TimbreCatalog
import TimbreContent
import TimbreCore
import TimbreNeural

/// The catalog side of the audio model that learns what listeners like (van den Oord et al. 2013):
/// its training targets are a cf-factors embedding set (`timbre train ials --store-factors`), its
/// stored model is a `FactorContentModel` (strategy `content-lstm-factors`), and `embed` fills
/// `item_embeddings` with every ingested track's predicted factors as a set of kind
/// predicted-factors, which `bridge`, `content` and `hybrid` can then use for tracks nobody has
/// played.
public struct FactorContentCatalog {
    public static let strategyName = "content-lstm-factors"
    private let db: PostgresConnection

    public init(db: PostgresConnection) { self.db = db }

    /// What `train` fitted and measured.
    public struct TrainingReport: Sendable, Codable {
        /// The cf-factors set the targets came from.
        public var factorSet: Int64
        public var factorDimension: Int
        public var tracks: Int
        /// Tracks in the catalog with a factor row (the ones with interactions), split by piece.
        public var trainingTracks: Int
        public var validationTracks: Int
        /// Tracks not in the catalog (never ingested), or without factors (no interactions): not trained on.
        public var notIngested: [String]
        public var withoutFactors: Int
        public var keptEpoch: Int?
        public var epochLosses: [Double]
        public var validationErrors: [Double]
        /// Validation mean squared error per factor value (tracks held out by piece), and that of
        /// predicting the training tracks' mean row for every track.
        public var validationError: Double
        public var meanRowError: Double
        public var weightedByPlays: Bool
        public var storedModel: Int64?
    }

    /// Trains on the tracks of `set` that `audio ingest` stored (matched by content hash; their
    /// MFCC sequences are read from the catalog, nothing is decoded) and that have a row in the
    /// cf-factors set `factors`. With `weightByPlays` each track's squared error is weighted by
    /// 1 + log(1 + its interactions' total value, the play count with plays). With `store` the model is saved (one
    /// transaction) and its id reported. `onEpoch` sees every epoch.
    public func train(_ set: LabelledSet, factors choice: EmbeddingChoice, training: FactorTraining, weightByPlays: Bool,
                      store: Bool, onEpoch: (Int, SequenceRegressor.EpochRecord) -> Void = { _, _ in })
        throws -> (model: FactorContentModel, report: TrainingReport)
    {
        guard let factorSet = try EmbeddingSetStore(db).resolve(choice) else {
            throw DatabaseError("--factors \(choice): \(db.target) has no cf-factors set; store one with `timbre train ials --store-factors`")
        }
        guard let described = try EmbeddingSetStore(db).list().first(where: { $0.id == factorSet }), described.kind == .cfFactors else {
            throw DatabaseError("--factors \(choice): set #\(factorSet) is not of kind cf-factors (see `timbre embeddings list`)")
        }
        let tracks = set.tracks
        let hashes = try concurrentChunks(tracks.count) { range in
            Result { () throws(AudioError) -> [[UInt8]] in try range.map { (t: Int) throws(AudioError) in try SHA256.digest(ofFile: tracks[t].path) } }
        }.flatMap { try $0.get() }
        var itemIDs: [Int64?] = [], sequences: [FeatureMatrix?] = []
        let audio = AudioCatalogStore(db: db)
        for hash in hashes {
            let found = try db.query("SELECT item_id FROM audio_features WHERE content_sha256 = $1", [hash],
                                     purpose: "find the item of a track by its content hash")
            itemIDs.append(try found.first?.int64("item_id"))
            sequences.append(try audio.mfcc(ofContent: hash))
        }
        let known = itemIDs.compactMap { $0 }
        let table = try db.loadItemEmbeddings(model: factorSet, itemIDs: known)
        var rowOf: [Int64: [Float]] = [:]
        if let table {
            for (dense, id) in known.enumerated() { if let v = table.vector(Int32(dense)) { rowOf[id] = Array(v) } }
        }
        let rows = itemIDs.map { $0.flatMap { rowOf[$0] } }
        var weights: [Float]? = nil
        if weightByPlays {
            var total: [Int64: Double] = [:]
            for row in try db.query("""
                SELECT item_id, sum(value)::double precision AS plays FROM ratings WHERE item_id = ANY ($1) GROUP BY item_id
                """, [known], purpose: "count the plays of the tracks with factors") {
                total[try row.int64("item_id")] = try row.double("plays")
            }
            weights = itemIDs.map { id in Float(1 + log1p(max(0, id.flatMap { total[$0] } ?? 0))) }
        }
        let outcome = try training.run(mfcc: sequences, pieces: tracks.map { "\($0.label)/\($0.variantStem)" }, factors: rows,
                                       weights: weights, onEpoch: onEpoch)
        var report = TrainingReport(
            factorSet: factorSet, factorDimension: outcome.model.factorDimension, tracks: tracks.count,
            trainingTracks: outcome.trainingTracks.count, validationTracks: outcome.validationTracks.count,
            notIngested: tracks.indices.filter { itemIDs[$0] == nil }.map { tracks[$0].path },
            withoutFactors: tracks.indices.filter { itemIDs[$0] != nil && rows[$0] == nil }.count,
            keptEpoch: outcome.history.keptEpoch.map { $0 + 1 }, epochLosses: outcome.history.epochs.map(\.loss),
            validationErrors: outcome.history.epochs.compactMap(\.validationError), validationError: outcome.validationError,
            meanRowError: outcome.meanRowError, weightedByPlays: weightByPlays, storedModel: nil)
        if store {
            let parameters = try sortedJSON(["epochs": String(training.epochs), "seed": String(training.seed),
                                             "batchSize": String(training.batchSize), "segmentsPerTrack": String(training.segmentsPerTrack),
                                             "weightByPlays": String(weightByPlays), "factorSet": String(factorSet)])
            let trainedOn = try sortedJSON(["factor_set": String(factorSet), "tracks": String(outcome.trainingTracks.count),
                                            "validation_tracks": String(outcome.validationTracks.count),
                                            "validation_mse": String(outcome.validationError), "mean_row_mse": String(outcome.meanRowError)])
            report.storedModel = try db.insertTrainedModel(strategy: Self.strategyName, parameters: parameters, trainedOn: trainedOn,
                                                           state: outcome.model.encode())
        }
        return (outcome.model, report)
    }

    /// The strategy (`content-lstm` or `content-lstm-factors`) of model `id`, or of the newest
    /// audio content model when `id` is nil; nil when there is none.
    public func contentModelStrategy(id: Int64?) throws -> String? {
        try db.query("""
            SELECT strategy FROM trained_models
            WHERE strategy = ANY ($1) AND ($2 IS NULL OR id = $2)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """, [[ContentCatalog.strategyName, Self.strategyName], id], purpose: "find the audio content model to embed with")
            .first?.string("strategy")
    }

    /// Factor model `id`, or the newest one.
    public func model(id: Int64? = nil) throws -> (id: Int64, model: FactorContentModel) {
        try ContentCatalog(db: db).storedModel(strategy: Self.strategyName, id: id, what: "factor content model",
                                               howToMake: "`timbre content train DIR --target factors --store`",
                                               decode: FactorContentModel.init(decoding:))
    }

    /// Every ingested track's predicted factors under model `id`'s set (kind predicted-factors),
    /// with the queue, claiming and skipping of `ContentCatalog.embed` (call
    /// `ContentCatalog.enqueueMissing` first). No style label: the model names none.
    public func embed(model id: Int64, _ model: FactorContentModel, batchSize: Int = 16,
                      progress: (Int) -> Void = { _ in }) throws -> EmbeddingTally {
        try EmbeddingSetStore(db).register(model: id, name: "\(Self.strategyName)-\(id)", kind: .predictedFactors,
                                           dimension: model.factorDimension,
                                           source: try sortedJSON(["producer": Self.strategyName]))
        return try ContentCatalog(db: db).embedQueued(model: id, batchSize: batchSize, progress: progress) { mfcc, configuration in
            guard let described = model.describe(mfcc, configuration: configuration) else {
                return .failure(.init(model.reasonNotDescribed(mfcc, configuration: configuration) ?? "not describable"))
            }
            return .success(.init(vector: described.factors))
        }
    }
}
