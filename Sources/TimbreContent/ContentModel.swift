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

    private static let format = ModelFormat("timbre.ContentModel", version: 1, what: "content model")

    public func encode() -> [UInt8] {
        var w = ModelWriter(format: Self.format)
        w.write(classNames)
        standardisation.write(to: &w)
        w.write(classifier.encode())
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = try ModelReader(bytes, format: Self.format)
        let names = try r.read([String].self)
        let standardisation = try Standardisation.Stored(reading: &r)
        let classifier = try SequenceClassifier(decoding: try r.read([UInt8].self))
        try r.expectEnd()
        guard names.count == classifier.classCount else { throw Self.format.error("\(names.count) class names for \(classifier.classCount) classes") }
        self.init(classifier: classifier, standardisation: try standardisation.checked(inputSize: classifier.inputSize, in: Self.format),
                  classNames: names)
    }
}
