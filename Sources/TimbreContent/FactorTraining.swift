import Foundation
import TimbreAudio
import TimbreCore
import TimbreNeural

/// The content network trained to predict collaborative-filtering item factors from audio
/// (van den Oord, Dieleman & Schrauwen 2013), with what inference needs besides the weights: the
/// input standardisation and the target scaling (the network learns (y − targetMean)/targetScale,
/// one scale for every factor so the factors' relative sizes, which the inner product scores by,
/// are kept).
public struct FactorContentModel: Sendable, Equatable {
    public var regressor: SequenceRegressor
    public var standardisation: Standardisation
    public var targetMean: [Float]
    public var targetScale: Float

    public var factorDimension: Int { regressor.outputCount }

    public init(regressor: SequenceRegressor, standardisation: Standardisation, targetMean: [Float], targetScale: Float) {
        precondition(targetMean.count == regressor.outputCount, "\(targetMean.count) target means for \(regressor.outputCount) outputs")
        precondition(targetScale > 0 && targetScale.isFinite, "target scale \(targetScale) must be > 0")
        precondition(standardisation.mean.count == regressor.inputSize,
                     "standardisation of \(standardisation.mean.count) features for \(regressor.inputSize) inputs")
        self.regressor = regressor
        self.standardisation = standardisation
        self.targetMean = targetMean
        self.targetScale = targetScale
    }

    /// Predicted factors (in the factor model's units) of each raw segment: segments × factors.
    public func predictedFactors(ofSegments segments: [Matrix]) -> Matrix {
        var out = regressor.predictions(for: segments.map(standardisation.apply))
        let k = factorDimension
        for r in 0..<out.rows { for j in 0..<k { out.values[r * k + j] = out.values[r * k + j] * targetScale + targetMean[j] } }
        return out
    }

    /// A whole track (coefficients × frames, as `audio ingest` stores it): the mean over its 3 s
    /// segments of the predicted factors, and of the last LSTM layer's final hidden state. Nil when
    /// the track is shorter than a segment or has another coefficient count than the model reads.
    public func describe(_ mfcc: FeatureMatrix, configuration: MFCCConfiguration = MFCCConfiguration())
        -> (factors: [Float], embedding: [Float], segmentCount: Int)?
    {
        guard mfcc.rowCount == regressor.inputSize else { return nil }
        let segments = TrackFeatures.segmentSequences(of: mfcc, configuration: configuration).map(standardisation.apply)
        guard !segments.isEmpty else { return nil }
        let embeddings = regressor.embeddings(of: segments)
        var factors = regressor.predictions(ofEmbeddings: embeddings).columnMeans
        for j in factors.indices { factors[j] = factors[j] * targetScale + targetMean[j] }
        return (factors, embeddings.columnMeans, segments.count)
    }

    /// Why `describe` gives nil, or nil when it describes the track.
    public func reasonNotDescribed(_ mfcc: FeatureMatrix, configuration: MFCCConfiguration = MFCCConfiguration()) -> String? {
        TrackFeatures.reasonNotReadable(mfcc, inputSize: regressor.inputSize, configuration: configuration)
    }

    private static let format = ModelFormat("timbre.FactorContentModel", version: 1, what: "factor content model")

    public func encode() -> [UInt8] {
        var w = ModelWriter(format: Self.format)
        standardisation.write(to: &w)
        w.write(targetMean)
        w.write(targetScale)
        w.write(regressor.encode())
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = try ModelReader(bytes, format: Self.format)
        let stored = try Standardisation.Stored(reading: &r)
        let targetMean = try r.read([Float].self), targetScale = try r.read(Float.self)
        let regressor = try SequenceRegressor(decoding: try r.read([UInt8].self))
        try r.expectEnd()
        let standardisation = try stored.checked(inputSize: regressor.inputSize, in: Self.format)
        guard targetMean.count == regressor.outputCount, targetMean.allSatisfy(\.isFinite), targetScale > 0, targetScale.isFinite
        else { throw Self.format.error("bad target scaling for \(regressor.outputCount) factors") }
        self.init(regressor: regressor, standardisation: standardisation, targetMean: targetMean, targetScale: targetScale)
    }
}

/// Trains a `FactorContentModel` on the tracks that have factors (the items with plays): each
/// track's 3 s segments (at most `segmentsPerTrack`, evenly spread over the track) all regress
/// the track's factor row; a seeded share of the pieces of music (variants kept together) is
/// held out to choose the epoch by validation mean squared error. The network is the reference
/// content model's (LSTM(64) → LSTM(64) → Dense(64, ReLU) → Dropout(0.3)) with a linear head.
public struct FactorTraining: Sendable {
    public var epochs: Int
    public var batchSize = 32
    public var seed: UInt64
    public var segmentsPerTrack = 20
    public var validationShare = 0.2
    public var learningRate: Float = 1e-3

    public init(epochs: Int, seed: UInt64) {
        self.epochs = epochs
        self.seed = seed
    }

    public struct Outcome: Sendable {
        public var model: FactorContentModel
        public var history: SequenceRegressor.TrainingHistory
        public var trainingTracks: [Int]
        public var validationTracks: [Int]
        /// Validation mean squared error per factor value of the kept model, in the factors' units,
        /// each track's prediction the mean over its segments.
        public var validationError: Double
        /// The same for predicting the training tracks' mean row for every track: the bar to beat.
        public var meanRowError: Double
    }

    /// `mfcc[t]` and `pieces[t]` (variant stem) per track; `factors[t]` the track's factor row, nil
    /// for tracks without plays (left out); `weights[t]` (optional, > 0) weights its squared error,
    /// e.g. by its play count.
    public func run(mfcc: [FeatureMatrix?], pieces: [String], factors: [[Float]?], weights: [Float]? = nil,
                    configuration: MFCCConfiguration = MFCCConfiguration(),
                    onEpoch: (Int, SequenceRegressor.EpochRecord) -> Void = { _, _ in }) throws -> Outcome {
        precondition(mfcc.count == pieces.count && mfcc.count == factors.count && (weights?.count ?? mfcc.count) == mfcc.count)
        guard (1...100_000).contains(epochs), batchSize >= 1, segmentsPerTrack >= 1, (0.05...0.5).contains(validationShare) else {
            throw ContentError.badSet("factor training: epochs \(epochs) (1…100000), batch size \(batchSize) (≥ 1), segments per track \(segmentsPerTrack) (≥ 1), validation share \(validationShare) (0.05…0.5)")
        }
        let usable = mfcc.indices.filter { t in
            factors[t] != nil && mfcc[t].map { !TrackFeatures.segmentSequences(of: $0, configuration: configuration).isEmpty } ?? false
        }
        guard let k = usable.first.flatMap({ factors[$0]?.count }), k >= 2 else {
            throw ContentError.badSet("factor training: no track has both factors (≥ 2 values) and 3 s of audio")
        }
        for t in usable where factors[t]!.count != k || !factors[t]!.allSatisfy(\.isFinite) {
            throw ContentError.badSet("factor training: track \(t) has \(factors[t]!.count) factor values (others \(k)) or a non-finite one")
        }
        if let weights, let bad = usable.first(where: { !(weights[$0] > 0 && weights[$0].isFinite) }) {
            throw ContentError.badSet("factor training: track \(bad) has weight \(weights[bad]); weights must be > 0")
        }
        // Pieces, not tracks, go to validation, so no remaster of a validation track trains.
        var distinct = Array(Set(usable.map { pieces[$0] })).sorted()
        guard distinct.count >= 3 else {
            throw ContentError.badSet("factor training: \(distinct.count) piece(s) of music with factors; training and validation need ≥ 3")
        }
        var rng = SeededGenerator(seed: seed)
        rng.shuffle(&distinct)
        let heldCount = max(1, Int((Double(distinct.count) * validationShare).rounded()))
        let held = Set(distinct.prefix(heldCount))
        let validationTracks = usable.filter { held.contains(pieces[$0]) }
        let trainingTracks = usable.filter { !held.contains(pieces[$0]) }

        func segments(_ t: Int) -> [Matrix] {
            let all = TrackFeatures.segmentSequences(of: mfcc[t]!, configuration: configuration)
            guard all.count > segmentsPerTrack else { return all }
            // Evenly spread: the intro alone is not the track.
            return (0..<segmentsPerTrack).map { all[$0 * all.count / segmentsPerTrack] }
        }
        var rawTrain: [Matrix] = [], trainOf: [Int] = []
        for t in trainingTracks { let s = segments(t); rawTrain += s; trainOf += Array(repeating: t, count: s.count) }
        let standardisation = Standardisation(fitting: rawTrain)
        // One scale for all factors: the training rows' mean and overall standard deviation.
        var mean = [Double](repeating: 0, count: k)
        for t in trainingTracks { for j in 0..<k { mean[j] += Double(factors[t]![j]) } }
        mean = mean.map { $0 / Double(trainingTracks.count) }
        var variance = 0.0
        for t in trainingTracks { for j in 0..<k { let d = Double(factors[t]![j]) - mean[j]; variance += d * d } }
        let scale = Float(max((variance / Double(trainingTracks.count * k)).squareRoot(), 1e-12))
        let targetMean = mean.map(Float.init)
        func scaledRow(_ t: Int) -> [Float] { (0..<k).map { (factors[t]![$0] - targetMean[$0]) / scale } }

        let trainSequences = rawTrain.map(standardisation.apply)
        let trainTargets = Matrix(rows: trainSequences.count, columns: k, values: trainOf.flatMap(scaledRow))
        var validationSequences: [Matrix] = [], validationTargets: [Float] = []
        for t in validationTracks {
            let s = segments(t).map(standardisation.apply)
            validationSequences += s
            for _ in s { validationTargets += scaledRow(t) }
        }
        var regressor = SequenceRegressor.contentModel(inputSize: trainSequences[0].columns, outputCount: k, seed: seed)
        let history = regressor.fit(sequences: trainSequences, targets: trainTargets, weights: weights.map { w in trainOf.map { w[$0] } },
                                    validation: (validationSequences, Matrix(rows: validationSequences.count, columns: k, values: validationTargets)),
                                    epochs: epochs, batchSize: batchSize, seed: seed, optimizer: Adam(learningRate: learningRate),
                                    onEpoch: onEpoch)
        let model = FactorContentModel(regressor: regressor, standardisation: standardisation, targetMean: targetMean, targetScale: scale)
        var error = 0.0, meanError = 0.0
        for t in validationTracks {
            let predicted = model.predictedFactors(ofSegments: segments(t)).columnMeans
            for j in 0..<k {
                error += Double(predicted[j] - factors[t]![j]) * Double(predicted[j] - factors[t]![j])
                meanError += Double(targetMean[j] - factors[t]![j]) * Double(targetMean[j] - factors[t]![j])
            }
        }
        let n = Double(max(validationTracks.count * k, 1))
        return Outcome(model: model, history: history, trainingTracks: trainingTracks, validationTracks: validationTracks,
                       validationError: error / n, meanRowError: meanError / n)
    }
}
