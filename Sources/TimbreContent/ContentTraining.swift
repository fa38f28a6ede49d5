import Foundation
import TimbreNeural

/// Segments of the clips of one part of a split, standardised, ready for the classifier.
public struct ClipSegments: Sendable {
    public var clips: [ClipReference]
    public var sequences: [Matrix]
    /// Class of each segment.
    public var labels: [Int]
    /// Index into `clips` of each segment.
    public var clipOfSegment: [Int]
    public var clipLabels: [Int]
}

/// The reference protocol end to end: split by piece, 3 s segments, standardisation with training
/// statistics, LSTM(64) → LSTM(64) → Dense(64, ReLU) → Dropout(0.3) → Dense(classes), best epoch by
/// validation segment accuracy, test figures per segment and per clip.
public struct ContentExperiment: Sendable {
    public var split: ClipSplit
    public var standardisation: Standardisation
    public var train: ClipSegments
    public var validation: ClipSegments
    public var test: ClipSegments
    public var classNames: [String]

    /// Where a clip's segments come from.
    public enum SegmentSource: String, Sendable, CaseIterable {
        /// Cut from the track's stored MFCC sequence (what the catalog holds).
        case track
        /// Each 3 s excerpt decoded and analysed on its own, as the reference protocol does.
        case excerpt
    }

    /// Splits with `seed` and cuts the chosen clips into standardised segments.
    public init(features: TrackFeatures, quota: ClipQuota = ClipQuota(), seed: UInt64,
                segmentSource: SegmentSource = .track) throws {
        let split = ClipSplit(tracks: features.set.tracks, clipCounts: features.clipCounts, classNames: features.set.classNames,
                              quota: quota, seed: seed)
        try Self.requireEveryClass(in: split, parts: ["train", "validation", "test"], features: features)
        try self.init(features: features, split: split, segmentSource: segmentSource)
    }

    /// A split made by the caller (e.g. `HeldOutStyleEmbeddings`, whose test part is a held-out
    /// fold); training and validation must hold every class.
    public init(features: TrackFeatures, split: ClipSplit, segmentSource: SegmentSource = .track) throws {
        try Self.requireEveryClass(in: split, parts: ["train", "validation"], features: features)
        let excerpts = segmentSource == .excerpt
            ? try features.excerptSegments(of: split.train + split.validation + split.test) : [:]
        func raw(_ clips: [ClipReference]) -> ClipSegments {
            var part = ClipSegments(clips: clips, sequences: [], labels: [], clipOfSegment: [], clipLabels: [])
            for (c, clip) in clips.enumerated() {
                let label = features.set.tracks[clip.track].label
                let segments = segmentSource == .excerpt ? excerpts[clip] ?? [] : features.segments(of: clip)
                part.sequences += segments
                part.labels += Array(repeating: label, count: segments.count)
                part.clipOfSegment += Array(repeating: c, count: segments.count)
                part.clipLabels.append(label)
            }
            return part
        }
        var train = raw(split.train), validation = raw(split.validation), test = raw(split.test)
        let standardisation = Standardisation(fitting: train.sequences)
        train.sequences = train.sequences.map(standardisation.apply)
        validation.sequences = validation.sequences.map(standardisation.apply)
        test.sequences = test.sequences.map(standardisation.apply)
        self.split = split
        self.standardisation = standardisation
        self.train = train
        self.validation = validation
        self.test = test
        classNames = features.set.classNames
    }

    /// A class needs clips in every named part (pieces are never shared between parts, so at
    /// least one piece per part): a class missing from training would be scored unseen.
    static func requireEveryClass(in split: ClipSplit, parts: [String], features: TrackFeatures) throws {
        let clipsOf = ["train": split.train, "validation": split.validation, "test": split.test]
        for (label, name) in features.set.classNames.enumerated() {
            for partName in parts where !clipsOf[partName]!.contains(where: { features.set.tracks[$0.track].label == label }) {
                let pieces = Set(features.set.tracks.indices.filter {
                    features.set.tracks[$0].label == label && features.clipCounts[$0] > 0
                }.map { features.set.tracks[$0].variantStem }).count
                throw ContentError.badSet("class '\(name)' has no \(partName) clips: \(parts.joined(separator: ", ")) each need a piece "
                                          + "of music with 30 s or more of usable audio, and the class has \(pieces)")
            }
        }
    }

    public struct Outcome: Sendable {
        public var model: ContentModel
        public var history: SequenceClassifier.TrainingHistory
        public var report: ClassificationReport
        /// Mean wall time of an epoch (training plus the validation pass).
        public var secondsPerEpoch: Double
    }

    public func run(epochs: Int, batchSize: Int = 32, seed: UInt64,
                    onEpoch: (Int, SequenceClassifier.EpochRecord) -> Void = { _, _ in }) -> Outcome {
        var classifier = SequenceClassifier.contentModel(inputSize: train.sequences[0].columns, classCount: classNames.count, seed: seed)
        let history = classifier.fit(sequences: train.sequences, labels: train.labels,
                                     validation: (validation.sequences, validation.labels),
                                     epochs: epochs, batchSize: batchSize, seed: seed, onEpoch: onEpoch)
        let report = ClassificationReport(probabilities: classifier.probabilities(for: test.sequences), clipOfSegment: test.clipOfSegment,
                                          clipLabels: test.clipLabels, classNames: classNames)
        let seconds = history.epochs.map(\.seconds)
        return Outcome(model: ContentModel(classifier: classifier, standardisation: standardisation, classNames: classNames),
                       history: history, report: report,
                       secondsPerEpoch: seconds.isEmpty ? 0 : seconds.reduce(0, +) / Double(seconds.count))
    }
}
