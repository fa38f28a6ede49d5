import Foundation
import TimbreCore

/// How two rating vectors are compared. `cosine` uses full-vector norms (missing = 0) on the
/// centred values; `pearson`, `msd` and `pearson-baseline` use only co-rated entries, as Surprise does.
public enum SimilarityKind: String, CaseIterable, Sendable {
    case cosine
    /// Cosine after subtracting the *other* side's mean (user means for item-kNN, Sarwar et al.).
    case adjustedCosine = "adjusted-cosine"
    case pearson
    /// 1 / (1 + mean squared difference over co-rated entries).
    case msd
    /// Co-rated cosine of baseline residuals r − (μ + b_u + b_i) (Surprise's pearson_baseline).
    case pearsonBaseline = "pearson-baseline"

    /// Needs per-pair sums beyond the dot product and co-rating count.
    public var needsMoments: Bool { self == .pearson || self == .msd || self == .pearsonBaseline }
    public var needsBaseline: Bool { self == .pearsonBaseline }
}

/// What a rating is measured against before neighbours' opinions are averaged.
public enum Centring: String, CaseIterable, Sendable {
    case none, mean, baseline
}

/// `explicit` predicts ratings; `implicit` ranks from the set of items a user interacted with,
/// ignoring rating values, by summing similarities (LensKit's implicit kNN).
public enum FeedbackMode: String, CaseIterable, Sendable {
    case explicit, implicit
}

/// The parameters both neighbourhood strategies share, resolved and checked once.
public struct NeighbourhoodSettings: Sendable, Equatable {
    public var k: Int
    public var minNeighbours: Int
    public var similarity: SimilarityKind
    public var shrinkage: Float
    public var minSimilarity: Float
    public var centring: Centring
    public var mode: FeedbackMode
    /// Similarities are raised to this power once computed (Breese et al.'s case amplification):
    /// above 1 it lets the closest neighbours dominate.
    public var amplification: Float

    public static func specs(k: Int, similarity: SimilarityKind, shrinkage: Double, centring: Centring,
                             mode: FeedbackMode, amplification: Double = 1) -> [ParameterSpec] {
        [
            ParameterSpec("k", .int(k), "neighbours used for one prediction", range: 1...100_000),
            ParameterSpec("min-neighbours", .int(1), "fewer usable neighbours than this: no prediction (the evaluator falls back)",
                          range: 1...100_000),
            ParameterSpec("similarity", .string(similarity.rawValue), "how neighbours are compared",
                          choices: SimilarityKind.allCases.map(\.rawValue)),
            ParameterSpec("shrinkage", .double(shrinkage), "damps similarities with n co-ratings by (n−1)/(n−1+shrinkage); 0 = off",
                          range: 0...1e9),
            ParameterSpec("min-similarity", .double(0), "neighbours must be more similar than this", range: -1...1),
            ParameterSpec("centring", .string(centring.rawValue), "ratings are averaged as offsets from none, the mean, or the bias baseline",
                          choices: Centring.allCases.map(\.rawValue)),
            ParameterSpec("mode", .string(mode.rawValue), "explicit predicts ratings; implicit ranks by summed similarity of interacted items",
                          choices: FeedbackMode.allCases.map(\.rawValue)),
            ParameterSpec("amplification", .double(amplification), "similarities are raised to this power (1 = unchanged)",
                          range: 0.01...100),
        ]
    }

    public init(k: Int, minNeighbours: Int = 1, similarity: SimilarityKind, shrinkage: Float = 0,
                minSimilarity: Float = 0, centring: Centring, mode: FeedbackMode, amplification: Float = 1) {
        self.amplification = amplification
        self.k = k
        self.minNeighbours = minNeighbours
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.minSimilarity = minSimilarity
        self.centring = centring
        self.mode = mode
    }

    public init(_ p: Parameters, strategy: String) throws {
        func choice<T: RawRepresentable<String>>(_ name: String) throws -> T {
            guard let v = T(rawValue: p.string(name)) else { throw ParameterError("\(strategy): bad \(name) '\(p.string(name))'") }
            return v
        }
        self.init(k: p.int("k"), minNeighbours: p.int("min-neighbours"), similarity: try choice("similarity"),
                  shrinkage: Float(p.double("shrinkage")), minSimilarity: Float(p.double("min-similarity")),
                  centring: try choice("centring"), mode: try choice("mode"),
                  amplification: Float(p.double("amplification")))
        guard amplification > 0 else { throw ParameterError("\(strategy): amplification must be > 0") }
        guard k >= 1 else { throw ParameterError("\(strategy): k must be ≥ 1") }
        guard minNeighbours >= 1, minNeighbours <= k else { throw ParameterError("\(strategy): min-neighbours must be in 1...k") }
        guard shrinkage >= 0 else { throw ParameterError("\(strategy): shrinkage must be ≥ 0") }
        if mode == .implicit, similarity != .cosine {
            throw ParameterError("\(strategy): implicit mode compares interaction sets, so similarity must be cosine")
        }
    }

    /// The bias baseline is fitted only when something uses it.
    public var needsBaseline: Bool {
        mode == .explicit && (centring == .baseline || similarity.needsBaseline)
    }

    public func encode(to w: inout ModelWriter) {
        w.write(Int64(k))
        w.write(Int64(minNeighbours))
        w.write(similarity.rawValue)
        w.write(shrinkage)
        w.write(minSimilarity)
        w.write(centring.rawValue)
        w.write(mode.rawValue)
        w.write(amplification)
    }

    /// The similarity as neighbours use it, after amplification.
    @inline(__always) public func amplified(_ sim: Float) -> Float {
        amplification == 1 ? sim : pow(sim, amplification)
    }

    public init(decoding r: inout ModelReader) throws {
        func choice<T: RawRepresentable<String>>(_ text: String) throws -> T {
            guard let v = T(rawValue: text) else { throw ModelDecodingError(description: "unknown setting '\(text)'") }
            return v
        }
        k = Int(try r.read(Int64.self))
        minNeighbours = Int(try r.read(Int64.self))
        similarity = try choice(try r.read(String.self))
        shrinkage = try r.read()
        minSimilarity = try r.read()
        centring = try choice(try r.read(String.self))
        mode = try choice(try r.read(String.self))
        amplification = try r.read()
    }
}
