import Foundation
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

/// One audio file's style according to a content model (`timbre content classify`).
public struct StyleClassification: Encodable, Sendable {
    public var file: String
    public var style: String
    public var probability: Float
    public var segments: Int
    /// Every class's mean probability, by class name.
    public var probabilities: [String: Float]
}

extension ContentModel {
    /// The model in a file written by `content train --out`.
    public init(file: String) throws {
        guard let bytes = FileManager.default.contents(atPath: file) else { throw ContentError.badModel("cannot read the model file \(file)") }
        do { try self.init(decoding: Array(bytes)) } catch { throw ContentError.badModel("\(file): not a content model (\(error))") }
    }

    /// Decodes, analyses and describes each file in turn; a file that cannot be read or is
    /// shorter than one segment goes to `failures` with its path and reason, the rest are still
    /// classified.
    public func classify(files: [String]) throws -> (classified: [StyleClassification], failures: [String]) {
        let analyser = try TrackAnalyser()
        var classified: [StyleClassification] = [], failures: [String] = []
        for file in files {
            do {
                let track = try analyser.analyse(path: file)
                guard let description = describe(track.mfcc, configuration: track.configuration) else {
                    failures.append("\(file): " + (reasonNotDescribed(track.mfcc, configuration: track.configuration) ?? "not describable"))
                    continue
                }
                let label = description.label
                classified.append(StyleClassification(
                    file: file, style: classNames[label], probability: description.probabilities[label], segments: description.segmentCount,
                    probabilities: Dictionary(uniqueKeysWithValues: zip(classNames, description.probabilities))))
            } catch {
                failures.append("\(error)")
            }
        }
        return (classified, failures)
    }
}
