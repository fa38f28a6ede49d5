import Foundation
import TimbreBaselines
import TimbreCore

/// How two rating vectors are compared. `cosine` uses full-vector norms (missing = 0) on the
/// centred values; `pearson`, `msd` and `pearson-baseline` use only co-rated entries, as Surprise does.
public enum SimilarityKind: String, CaseIterable, Sendable, SettingChoice {
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

    /// The settings from parameters resolved against `keys` (their ranges and choices are
    /// checked there); what is left are the relations between settings.
    public init(_ p: Parameters, keys: Keys, strategy: String) throws {
        self.init(k: p[keys.k], minNeighbours: p[keys.minNeighbours], similarity: p[keys.similarity],
                  shrinkage: Float(p[keys.shrinkage]), minSimilarity: Float(p[keys.minSimilarity]),
                  centring: p[keys.centring], mode: p[keys.mode], amplification: Float(p[keys.amplification]))
        guard minNeighbours <= k else { throw ParameterError("\(strategy): min-neighbours (\(minNeighbours)) must be ≤ k (\(k))") }
        if mode == .implicit, similarity != .cosine {
            throw ParameterError("\(strategy): implicit mode compares interaction sets, so similarity must be cosine")
        }
    }

    /// The settings both neighbourhood strategies declare, each with the strategy's own defaults.
    public struct Keys: Sendable {
        public let k: Setting<Int>
        public let minNeighbours = Setting("min-neighbours", default: 1, range: 1...100_000,
                                           help: "fewer usable neighbours than this: no prediction (the evaluator falls back)")
        public let similarity: Setting<SimilarityKind>
        public let shrinkage: Setting<Double>
        public let minSimilarity = Setting("min-similarity", default: 0.0, range: -1...1, help: "neighbours must be more similar than this")
        public let centring: Setting<Centring>
        public let mode: Setting<FeedbackMode>
        public let amplification: Setting<Double>

        public init(k: Int, similarity: SimilarityKind, shrinkage: Double, centring: Centring, mode: FeedbackMode, amplification: Double = 1) {
            self.k = Setting("k", default: k, range: 1...100_000, help: "neighbours used for one prediction")
            self.similarity = Setting("similarity", default: similarity, help: "how neighbours are compared")
            self.shrinkage = Setting("shrinkage", default: shrinkage, range: 0...1e9,
                                     help: "damps similarities with n co-ratings by (n−1)/(n−1+shrinkage); 0 = off")
            self.centring = Setting("centring", default: centring,
                                    help: "ratings are averaged as offsets from none, the mean, or the bias baseline")
            self.mode = Setting("mode", default: mode, help: "explicit predicts ratings; implicit ranks by summed similarity of interacted items")
            self.amplification = Setting("amplification", default: amplification, range: 0.01...100,
                                         help: "similarities are raised to this power (1 = unchanged)")
        }

        public var specs: [ParameterSpec] {
            [k.spec, minNeighbours.spec, similarity.spec, shrinkage.spec, minSimilarity.spec, centring.spec, mode.spec, amplification.spec]
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

extension RatingCentres {
    /// The value a rating contributes to similarity computations.
    @inlinable
    public func similarityInput(_ rating: Float, _ user: UserCentre, _ item: Int32,
                                _ s: NeighbourhoodSettings, _ side: Orientation) -> Float {
        if s.mode == .implicit { return 1 }
        switch s.similarity {
        case .cosine: return rating - centre(user, item, s.centring, side)
        case .adjustedCosine: return rating - (side == .items ? user.mean : itemMean(item))
        case .pearson, .msd: return rating
        case .pearsonBaseline: return rating - baselineEstimate(user, item)
        }
    }
}
