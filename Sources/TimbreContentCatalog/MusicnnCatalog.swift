import Foundation
import TimbreAudio
import TimbreCatalog
import TimbreCore
import TimbreMusicnn
import TimbreTerminal

/// One musicnn embedding set in the catalog: which checkpoint, which layer, and the
/// `trained_models` row standing for it (its id is the set's id in `item_embeddings`).
public struct MusicnnSet: Sendable, Equatable {
    public let id: Int64
    public let model: MusicnnModelName
    public let layer: MusicnnLayer
    /// The set's name, what `--embedding-model NAME` takes: `musicnn-msd`, `musicnn-mtt-max_pool`, ….
    public var name: String { MusicnnCatalog.setName(model: model, layer: layer) }
}

/// The catalog side of musicnn (`timbre content embed --model musicnn-msd|musicnn-mtt`): every
/// ingested track's embedding from the pretrained network, stored as an embedding set of kind
/// audio-model that `content`, `--like`, the hybrid and the bridge use like any other, and the
/// track's 50 tag probabilities in its item metadata.
///
/// Unlike the LSTM, musicnn needs the audio itself, not the stored MFCC sequence: each track is
/// decoded again from the path `audio ingest` recorded, checked against the content hash stored
/// then (a file that is gone or changed is reported for that track and the batch goes on), and
/// resampled once, straight from its own rate to musicnn's 16 kHz.
///
/// Metadata written per track (one key pair per checkpoint, so both can coexist):
/// - `musicnn_<msd|mtt>_tags`: the five most probable tags, most probable first — a JSON array,
///   so `content embed-metadata musicnn_mtt_tags` makes multi-hot vectors of them and rules can
///   filter on them;
/// - `musicnn_<msd|mtt>_tag_probabilities`: every tag's probability (mean over the track's 3 s
///   patches, like `timbre audio embed --layer tags`), an object tag → probability.
public struct MusicnnCatalog {
    public static let strategyName = "musicnn"
    /// How many tags go into `musicnn_<model>_tags`.
    public static let topTagCount = 5
    private let db: PostgresConnection

    public init(db: PostgresConnection) { self.db = db }

    public static func setName(model: MusicnnModelName, layer: MusicnnLayer) -> String {
        layer == .penultimate ? model.rawValue : "\(model.rawValue)-\(layer.rawValue)"
    }

    /// `musicnn_msd` or `musicnn_mtt`: the prefix of the metadata keys this checkpoint writes.
    public static func metadataPrefix(_ model: MusicnnModelName) -> String {
        model == .msd ? "musicnn_msd" : "musicnn_mtt"
    }

    /// The set for (`model`, `layer`): the same trained_models row on every run (so reruns add only
    /// missing tracks), created and registered on first use. Concurrent first runs take a lock so
    /// they agree on one row.
    public func set(model: MusicnnModelName, layer: MusicnnLayer) throws -> MusicnnSet {
        struct Parameters: Encodable { var model: String; var layer: String }
        struct Source: Encodable { var producer: String; var model: String; var layer: String; var weights: String }
        let parameters = try sortedJSON(Parameters(model: model.rawValue, layer: layer.rawValue))
        return try db.transaction {
            try db.query("SELECT pg_advisory_xact_lock(hashtext('timbre musicnn set ' || $1))", [parameters],
                         purpose: "wait for other runs creating musicnn set \(parameters)")
            let found = try db.query("SELECT min(id) AS id FROM trained_models WHERE strategy = $1 AND parameters = $2",
                                     [Self.strategyName, PostgresJSONB(parameters)], purpose: "find musicnn set \(parameters)")
            let id: Int64
            if let existing = try found.one().optionalInt64("id") {
                id = existing
            } else {
                // The weights are not copied into the catalog: the checkpoint (fetched and checked
                // by scripts/fetch-musicnn) is named instead.
                let weights = "musicnn==0.1.0 wheel, \(model.checkpointFolder)"
                id = try db.insertTrainedModel(strategy: Self.strategyName, parameters: parameters,
                                               trainedOn: try sortedJSON(["weights": weights]), state: [])
                try EmbeddingSetStore(db).register(
                    model: id, name: Self.setName(model: model, layer: layer), kind: .audioModel, dimension: layer.width,
                    source: try sortedJSON(Source(producer: Self.strategyName, model: model.rawValue, layer: layer.rawValue, weights: weights)))
            }
            return MusicnnSet(id: id, model: model, layer: layer)
        }
    }

    /// Queues every ingested track without a vector in `set`; returns how many are queued for it.
    @discardableResult
    public func enqueueMissing(_ set: MusicnnSet) throws -> Int {
        try ContentCatalog(db: db).enqueueMissing(model: set.id)
    }

    /// Embeds queued tracks of `set` (see `enqueueMissing`) until none is left, through the
    /// `EmbeddingWorker` loop `ContentCatalog.embed` uses too (any number of workers on their own
    /// connections split the work queue; a killed worker's batch rolls back and stays queued). Each
    /// track's vector, its tags in the item's metadata and its finished key are written in the
    /// claiming transaction. Tracks that cannot be embedded (file gone or changed since ingest,
    /// undecodable, shorter than one 3 s patch) are skipped with their reason, which the queue
    /// keeps; a rerun queues them again and reports them again. `threadsPerTrack` spreads one
    /// track's patches over threads; with several workers, 1.
    public func embed(_ set: MusicnnSet, with embedder: MusicnnEmbedder, batchSize: Int = 4, threadsPerTrack: Int = 1,
                      progress: (Int) -> Void = { _ in }) throws -> EmbeddingTally {
        precondition(batchSize >= 1 && threadsPerTrack >= 1)
        precondition(embedder.model == set.model, "the embedder's checkpoint must be the set's")
        let prefix = Self.metadataPrefix(set.model)
        return try EmbeddingWorker(db: db, model: set.id).run(batchSize: batchSize, progress: progress) { item in
            let found = try db.query("""
                SELECT a.source_path, a.content_sha256,
                       EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = $1 AND e.item_id = a.item_id) AS embedded
                FROM audio_features a WHERE a.item_id = $2
                """, [set.id, item], purpose: "find the audio file of item \(item)")
            // Its audio row gone since it was queued, or embedded already (by an earlier run).
            guard let track = found.first, try !track.bool("embedded") else { return .nothingToDo }
            let outputs: MusicnnTrackEmbedding
            do {
                outputs = try Self.embedIngestedFile(path: try track.string("source_path"), sha256: try track.bytes("content_sha256"),
                                                      with: embedder, threads: threadsPerTrack)
            } catch {
                return .skip("\(error)")
            }
            return .store(vector: outputs.mean(set.layer), metadata: try Self.tagMetadata(outputs.mean(.tags), model: set.model, prefix: prefix))
        }
    }

    /// What `run` did: the set, the tracks embedded now, and those skipped with their reason.
    public struct Run: Sendable {
        public let set: MusicnnSet
        public let tally: EmbeddingTally
        public let seconds: Double
    }

    /// All of `timbre content embed --model musicnn-…`: the set (created on first use), every
    /// ingested track without a vector in it queued, and `jobs` workers on their own connections
    /// (`connect`) claiming from the work queue until it is empty. One embedder (the checkpoint is read
    /// once) serves every worker; each worker's track spreads its patches over the cores left to it.
    public static func run(model: MusicnnModelName, layer: MusicnnLayer, weightsDirectory: String, jobs: Int, batchSize: Int,
                           connect: @escaping @Sendable () throws -> PostgresConnection,
                           progress: ((_ total: Int) -> ProgressReporter)? = nil) throws -> Run {
        precondition(jobs >= 1)
        let embedder = try MusicnnEmbedder(model: model, weightsDirectory: weightsDirectory)
        let catalog = MusicnnCatalog(db: try connect())
        let set = try catalog.set(model: model, layer: layer)
        let pending = try catalog.enqueueMissing(set)
        let reporter = progress?(pending)
        let started = Date()
        let threadsPerTrack = max(1, availableCores / jobs)
        let tallies = onThreads(jobs) { _ in
            Result {
                try MusicnnCatalog(db: try connect()).embed(set, with: embedder, batchSize: batchSize, threadsPerTrack: threadsPerTrack) {
                    reporter?.advance(by: $0)
                }
            }
        }
        reporter?.finish()
        var tally = EmbeddingTally()
        for t in tallies { tally.add(try t.get()) }
        return Run(set: set, tally: tally, seconds: Date().timeIntervalSince(started))
    }

    /// Why an ingested track's audio cannot be read again.
    public struct AudioUnavailable: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The musicnn outputs of the file `audio ingest` read at `path`, provided it still holds the
    /// same bytes (`sha256`).
    static func embedIngestedFile(path: String, sha256: [UInt8], with embedder: MusicnnEmbedder, threads: Int) throws -> MusicnnTrackEmbedding {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AudioUnavailable(path: path, reason: "the file is gone; its MFCC sequence is stored, but musicnn needs the audio "
                                   + "(ingest the track again from where it is now)")
        }
        guard try SHA256.digest(ofFile: path) == sha256 else {
            throw AudioUnavailable(path: path, reason: "the file changed since it was ingested (its SHA-256 differs); "
                                   + "ingest it again to embed the new audio as its own item")
        }
        return try embedder.embed(path: path, workers: threads)
    }

    /// The metadata object for a track's mean tag probabilities (see the type's comment).
    static func tagMetadata(_ probabilities: [Float], model: MusicnnModelName, prefix: String) throws -> String {
        let names = model.tags
        let top = probabilities.indices.sorted { (probabilities[$0], $1) > (probabilities[$1], $0) }.prefix(topTagCount).map { names[$0] }
        struct Entry: Encodable {
            var top: [String]
            var all: [String: Double]
            let prefix: String
            struct Key: CodingKey {
                var stringValue: String
                init(stringValue: String) { self.stringValue = stringValue }
                var intValue: Int? { nil }
                init?(intValue: Int) { nil }
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(top, forKey: Key(stringValue: prefix + "_tags"))
                try container.encode(all, forKey: Key(stringValue: prefix + "_tag_probabilities"))
            }
        }
        // Probabilities as the Float they are (not its widened binary expansion).
        let all = Dictionary(uniqueKeysWithValues: zip(names, probabilities.map { Double("\($0)")! }))
        return try sortedJSON(Entry(top: Array(top), all: all, prefix: prefix))
    }
}
