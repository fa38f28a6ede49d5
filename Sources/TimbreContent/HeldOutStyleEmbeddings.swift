import Foundation
import TimbreAudio
import TimbreCore
import TimbreNeural

/// Style-model embeddings of every track by a model that never saw the track's piece of music,
/// for scoring the LSTM beside fixed embeddings (MFCC statistics, musicnn) on one set: the tracks
/// are dealt into folds by piece (`PieceFolds`); for each fold, a content model is trained as
/// `content train` trains one (`ContentExperiment`: 30 s clips, 3 s segments, 56 / 12 / 12 clips
/// per class dealt by piece, standardisation from the training segments, the epoch of best
/// validation accuracy kept) on the other folds' tracks only, and the fold's tracks are embedded
/// whole as `content embed` does (`ContentModel.describe`: the mean over a track's 3 s segments of
/// the last LSTM layer's final hidden state).
///
/// Vectors of different folds come from different models and are not comparable, so retrieval
/// with them is scored within a fold only (`pools`); the linear probe of fold f is fitted on fold
/// f's model's embeddings of the other folds' tracks (which that model trained on) and predicts
/// the fold's tracks, so no scored track was seen by the LSTM or the probe.
public struct HeldOutStyleEmbeddings: Sendable {
    /// Row t: track t's embedding by the model of its fold.
    public var embeddings: Matrix
    public var foldOfTrack: [Int]
    /// The probe's label for each track (logistic regression on its fold model's embeddings of the other folds).
    public var probePredictions: [Int]
    /// The fold model's own label for each track (the mean of its segments' class probabilities).
    public var modelPredictions: [Int]
    /// Per fold: the epoch kept (1-based) and the wall time of training and embedding.
    public var keptEpochs: [Int]
    public var seconds: [Double]

    /// The tracks of each fold: the pools within which retrieval with `embeddings` is scored.
    public var pools: [[Int]] { Set(foldOfTrack).sorted().map { f in foldOfTrack.indices.filter { foldOfTrack[$0] == f } } }

    /// `features.mfcc[t]` must be present and at least one 3 s segment long for every track.
    /// Fold f trains with seed `seed + f`; `onFold` is called after each fold with its index.
    public init(features: TrackFeatures, foldOfTrack: [Int], epochs: Int, seed: UInt64, quota: ClipQuota = ClipQuota(),
                onFold: (Int) -> Void = { _ in }) throws {
        let tracks = features.set.tracks
        precondition(foldOfTrack.count == tracks.count, "\(foldOfTrack.count) folds for \(tracks.count) tracks")
        guard (1...10_000).contains(epochs) else { throw ContentError.badSet("held-out embeddings: epochs \(epochs) (allowed 1…10000)") }
        for (t, mfcc) in features.mfcc.enumerated() {
            guard let mfcc else { throw ContentError.badSet("\(tracks[t].path): no MFCC sequence") }
            if let reason = TrackFeatures.reasonNotReadable(mfcc, inputSize: features.configuration.coefficientCount,
                                                            configuration: features.configuration) {
                throw ContentError.badSet("\(tracks[t].path): \(reason)")
            }
        }
        let classCount = features.set.classNames.count
        var embeddings: Matrix?
        var probe = [Int](repeating: -1, count: tracks.count), own = probe
        var kept: [Int] = [], seconds: [Double] = []
        for fold in Set(foldOfTrack).sorted() {
            let started = Date()
            let foldSeed = seed &+ UInt64(fold)
            let split = Self.split(heldOut: fold, features: features, foldOfTrack: foldOfTrack, quota: quota, seed: foldSeed)
            let experiment: ContentExperiment
            do { experiment = try ContentExperiment(features: features, split: split) } catch {
                throw ContentError.badSet("fold \(fold + 1) (its pieces held out): \(error)")
            }
            let outcome = experiment.run(epochs: epochs, seed: foldSeed)
            let descriptions = features.mfcc.map { outcome.model.describe($0!, configuration: features.configuration)! }
            let width = descriptions[0].embedding.count
            if embeddings == nil { embeddings = Matrix(rows: tracks.count, columns: width) }
            let all = Matrix(rows: tracks.count, columns: width, values: descriptions.flatMap(\.embedding))
            let heldOut = all.rows(where: { foldOfTrack[$0] == fold }), seen = all.rows(where: { foldOfTrack[$0] != fold })
            let guesses = LinearProbe.predict(train: all.selecting(seen), labels: seen.map { tracks[$0].label },
                                              test: all.selecting(heldOut), classCount: classCount)
            for (t, guess) in zip(heldOut, guesses) {
                embeddings!.values.replaceSubrange((t * width)..<((t + 1) * width), with: descriptions[t].embedding)
                probe[t] = guess
                own[t] = descriptions[t].label
            }
            kept.append((outcome.history.keptEpoch ?? 0) + 1)
            seconds.append(Date().timeIntervalSince(started))
            onFold(fold)
        }
        self.embeddings = embeddings!
        self.foldOfTrack = foldOfTrack
        probePredictions = probe
        modelPredictions = own
        keptEpochs = kept
        self.seconds = seconds
    }

    /// Fold `heldOut`'s training split: `ClipSplit` deals the other folds' tracks (the held-out
    /// tracks given no clips) into train, validation and test by piece; its test part joins
    /// training, since the held-out fold's clips are the test here. No clip of a held-out track
    /// is in training or validation.
    public static func split(heldOut: Int, features: TrackFeatures, foldOfTrack: [Int], quota: ClipQuota, seed: UInt64) -> ClipSplit {
        var counts = features.clipCounts
        for t in counts.indices where foldOfTrack[t] == heldOut { counts[t] = 0 }
        let inner = ClipSplit(tracks: features.set.tracks, clipCounts: counts, classNames: features.set.classNames, quota: quota, seed: seed)
        let test = features.clipCounts.indices.filter { foldOfTrack[$0] == heldOut }.flatMap { t in
            (0..<features.clipCounts[t]).map { ClipReference(track: t, window: $0) }
        }
        return ClipSplit(train: (inner.train + inner.test).sorted(), validation: inner.validation, test: test,
                         shortfalls: inner.shortfalls)
    }
}
