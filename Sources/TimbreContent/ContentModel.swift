import TimbreCore
import TimbreNeural

/// A trained content classifier with what inference needs besides the weights: the input
/// standardisation (training statistics) and the class names.
public struct ContentModel: Sendable, Equatable {
    public var classifier: SequenceClassifier
    public var standardisation: Standardisation
    public var classNames: [String]

    public init(classifier: SequenceClassifier, standardisation: Standardisation, classNames: [String]) {
        precondition(classNames.count == classifier.classCount, "\(classNames.count) names for \(classifier.classCount) classes")
        precondition(standardisation.mean.count == classifier.inputSize,
                     "standardisation of \(standardisation.mean.count) features for \(classifier.inputSize) inputs")
        self.classifier = classifier
        self.standardisation = standardisation
        self.classNames = classNames
    }

    /// Class probabilities of raw (unstandardised) time-major MFCC sequences.
    public func probabilities(for sequences: [Matrix]) -> Matrix {
        classifier.probabilities(for: sequences.map(standardisation.apply))
    }

    /// Embeddings (the last LSTM layer's final hidden state) of raw sequences.
    public func embeddings(of sequences: [Matrix]) -> Matrix {
        classifier.embeddings(of: sequences.map(standardisation.apply))
    }

    private static let format = "timbre.ContentModel"
    private static let formatVersion: UInt32 = 1

    public func encode() -> [UInt8] {
        var w = ModelWriter()
        w.writeFormat(Self.format, version: Self.formatVersion)
        w.write(classNames)
        w.write(standardisation.mean)
        w.write(standardisation.deviation)
        w.write(classifier.encode())
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ModelReader(bytes)
        func fail(_ message: String) -> ModelDecodingError { ModelDecodingError(description: "content model: \(message)") }
        try r.readFormat(Self.format, version: Self.formatVersion, what: "content model")
        let names = try r.read([String].self)
        let mean = try r.read([Float].self), deviation = try r.read([Float].self)
        let classifier = try SequenceClassifier(decoding: try r.read([UInt8].self))
        try r.expectEnd()
        guard names.count == classifier.classCount else { throw fail("\(names.count) class names for \(classifier.classCount) classes") }
        guard mean.count == classifier.inputSize, deviation.count == classifier.inputSize,
              mean.allSatisfy(\.isFinite), deviation.allSatisfy({ $0 > 0 && $0.isFinite })
        else { throw fail("bad standardisation for \(classifier.inputSize) inputs") }
        self.init(classifier: classifier, standardisation: Standardisation(mean: mean, deviation: deviation), classNames: names)
    }
}
