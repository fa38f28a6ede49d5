import TimbreAudio
import TimbreNeural

/// What the content model says about one whole track: its embedding (the mean over the track's 3 s
/// segments of the last LSTM layer's final hidden state) and its style (the mean of the segments'
/// class probabilities, as a clip's class is judged in testing).
public struct TrackDescription: Sendable, Equatable {
    public var embedding: [Float]
    public var probabilities: [Float]
    public var segmentCount: Int

    /// Index of the most probable class (the first on a tie).
    public var label: Int { probabilities.offsetOfMaximum! }
}

extension ContentModel {
    /// Describes a track from its whole MFCC sequence (coefficients × frames, as `audio ingest`
    /// stores it), cut into the non-overlapping 3 s segments the model was trained on. Nil when the
    /// track is shorter than one segment or has another number of coefficients than the model reads.
    public func describe(_ mfcc: FeatureMatrix, configuration: MFCCConfiguration = MFCCConfiguration()) -> TrackDescription? {
        guard mfcc.rowCount == classifier.inputSize else { return nil }
        let segments = TrackFeatures.segmentSequences(of: mfcc, configuration: configuration)
        guard !segments.isEmpty else { return nil }
        let embeddings = classifier.embeddings(of: segments.map(standardisation.apply))
        let probabilities = classifier.probabilities(ofEmbeddings: embeddings)
        return TrackDescription(embedding: embeddings.columnMeans, probabilities: probabilities.columnMeans,
                                segmentCount: segments.count)
    }
}

extension ContentModel {
    /// Why `describe` gives nil for this sequence, or nil when it gives a description.
    public func reasonNotDescribed(_ mfcc: FeatureMatrix, configuration: MFCCConfiguration = MFCCConfiguration()) -> String? {
        TrackFeatures.reasonNotReadable(mfcc, inputSize: classifier.inputSize, configuration: configuration)
    }
}

extension TrackFeatures {
    /// Why a network reading `inputSize` coefficients per step cannot describe this sequence (another
    /// coefficient count, or no whole 3 s segment), or nil when it can.
    public static func reasonNotReadable(_ mfcc: FeatureMatrix, inputSize: Int, configuration: MFCCConfiguration) -> String? {
        if mfcc.rowCount != inputSize {
            return "stored with \(mfcc.rowCount) coefficients, the model reads \(inputSize)"
        }
        if segmentSequences(of: mfcc, configuration: configuration).isEmpty {
            return "shorter than one \(Int(segmentSeconds)) s segment (\(mfcc.columnCount) frames)"
        }
        return nil
    }
}

extension Matrix {
    /// Mean of each column, accumulated in Double.
    var columnMeans: [Float] {
        var sums = [Double](repeating: 0, count: columns)
        for r in 0..<rows { for c in 0..<columns { sums[c] += Double(values[r * columns + c]) } }
        return sums.map { Float($0 / Double(max(rows, 1))) }
    }
}
