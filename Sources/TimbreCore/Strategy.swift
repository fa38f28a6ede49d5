/// What a strategy knows about the user it scores for: their rated items (dense indices, sorted)
/// and the ratings. `user` is their training index, or nil for a user the model has never seen,
/// which every strategy must handle (new users are served without retraining).
public struct UserProfile: Sendable {
    public var user: Int32?
    public var items: [Int32]
    public var ratings: [Float]

    public init(user: Int32?, items: [Int32], ratings: [Float]) {
        precondition(items.count == ratings.count)
        self.user = user
        self.items = items
        self.ratings = ratings
    }

    public var meanRating: Float? {
        ratings.isEmpty ? nil : ratings.reduce(0, +) / Float(ratings.count)
    }
}

/// What the values of a rating matrix mean. Explicit ratings sit on the catalog's scale; plays are
/// per user–item totals (counts ≥ 1), which a strategy turns into confidence itself.
public enum FeedbackKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case ratings
    case plays

    public var description: String { rawValue }
}

/// Everything a strategy may learn from. Interactions always (`ratings`: explicit ratings or play
/// counts, as `feedback` says); item embeddings (e.g. from the audio model) where the catalog has
/// them, rows aligned with `ratings.items`.
public struct TrainingData: Sendable {
    public let ratings: RatingMatrix
    public let itemEmbeddings: EmbeddingTable?
    public let feedback: FeedbackKind

    public init(ratings: RatingMatrix, itemEmbeddings: EmbeddingTable? = nil, feedback: FeedbackKind = .ratings) {
        self.ratings = ratings
        self.itemEmbeddings = itemEmbeddings
        self.feedback = feedback
    }
}

/// Training data lacks something a strategy needs (e.g. item embeddings).
public struct TrainingDataError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Dense item embeddings: `vectors[item * dimension ..< (item + 1) * dimension]`; `present[item]`
/// is false for items without one.
public struct EmbeddingTable: Sendable {
    public let dimension: Int
    public let vectors: [Float]
    public let present: [Bool]

    public init(dimension: Int, vectors: [Float], present: [Bool]) {
        precondition(vectors.count == dimension * present.count)
        self.dimension = dimension
        self.vectors = vectors
        self.present = present
    }

    public func vector(_ item: Int32) -> ArraySlice<Float>? {
        guard present[Int(item)] else { return nil }
        let start = Int(item) * dimension
        return vectors[start..<start + dimension]
    }
}

/// A fitted model. Scores are "higher is better" and only comparable within one call;
/// `-Float.infinity` marks an item the model cannot score.
public protocol TrainedModel: Sendable {
    /// Fills `scores` (one slot per item of the training vocabulary) for `user`.
    func score(_ user: UserProfile, into scores: inout [Float])

    /// A rating estimate, or nil where the model has no basis for one (no neighbours, unknown item).
    /// The evaluator records which fallback it used instead. Not clipped: the host holds every
    /// prediction to the rating scale in one place (`predictions(_:items:on:)`).
    func predict(_ user: UserProfile, item: Int32) -> Float?

    /// True when `score` fills rating estimates (explicit neighbourhood models, the baseline,
    /// biased MF), so a host may show a score as a rating, held to the scale like a prediction.
    var scoresAreRatings: Bool { get }

    /// Why `item` scored as it did for `user`: at most `limit` of the user's rated items that
    /// contributed most, with their share of the score, largest first; nil when the strategy
    /// cannot say (the default). See Explanation.swift.
    func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]?

    func encode(to writer: inout ModelWriter)
    init(decoding reader: inout ModelReader) throws

    /// The version of `encode`'s layout. Raise it when the layout changes: a stored model of
    /// another version is then refused with a message saying so, never misread.
    static var formatVersion: UInt32 { get }
}

extension TrainedModel {
    public func predict(_ user: UserProfile, item: Int32) -> Float? { nil }
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? { nil }
    public var scoresAreRatings: Bool { false }
    public static var formatVersion: UInt32 { 1 }
}

/// A model that scores by an inner product, score(u, i) = userFactorRow(u) · row i of
/// `itemFactorRows` (a bias, where the model has one, is a last column with 1 in the user's row).
/// What the cold-start bridge learns to predict from content, and what a host may store as
/// "CF factors" embeddings.
public protocol ItemFactorModel: TrainedModel {
    /// Width of a row, bias column included.
    var itemFactorDimension: Int { get }
    /// items × `itemFactorDimension`, row-major, one row per training item.
    var itemFactorRows: [Float] { get }
    /// The user's row, or nil when the model cannot place the profile (no known item).
    func userFactorRow(_ user: UserProfile) -> [Float]?
}

/// A recommendation strategy, in the spirit of Surprise's AlgoBase: a name, its parameters,
/// and `fit`, which returns the trained model. Register it in Plugins/Registry.
public protocol Strategy: Sendable {
    associatedtype Model: TrainedModel

    static var name: String { get }
    static var summary: String { get }
    static var parameters: [ParameterSpec] { get }

    init(parameters: Parameters) throws
    func fit(_ data: TrainingData) throws -> Model

    /// True when `fit` reads `TrainingData.itemEmbeddings` (for a strategy built from others: when
    /// one of them does, hence per instance). A host then loads them for it, records which
    /// embedding model a stored model was trained with (and serves it only while that is still
    /// the one asked for), and leaves it out of default lists when there are none.
    var usesItemEmbeddings: Bool { get }
}

extension Strategy {
    public static var parameters: [ParameterSpec] { [] }
    public var usesItemEmbeddings: Bool { false }

    /// Erases the model type so a host can hold models of any strategy.
    public func fitAny(_ data: TrainingData) throws -> any TrainedModel { try fit(data) }

    /// Whether this strategy's models expose item factors (`ItemFactorModel`).
    public static var hasItemFactors: Bool { Model.self is any ItemFactorModel.Type }

    /// The layout version of this strategy's models (`Model.formatVersion`).
    public static var modelFormatVersion: UInt32 { Model.formatVersion }

    public static func decodeModel(_ bytes: [UInt8]) throws -> any TrainedModel {
        var reader = ModelReader(bytes)
        let model = try decodeModel(from: &reader)
        try reader.expectEnd()
        return model
    }

    public static func decodeModel(from reader: inout ModelReader) throws -> any TrainedModel {
        try Model(decoding: &reader)
    }
}

/// A model's own bytes, without the header (what `Strategy.decodeModel(_:)` reads).
public func encodeModel(_ model: any TrainedModel) -> [UInt8] {
    var writer = ModelWriter()
    model.encode(to: &writer)
    return writer.bytes
}

/// A model of `strategy` with its header (strategy name, layout version) in front, as stored and
/// as `StrategyRegistry.decodeModel` reads it.
public func writeModel(_ model: any TrainedModel, of strategy: any Strategy.Type, to writer: inout ModelWriter) {
    writer.write(strategy.name)
    writer.write(strategy.modelFormatVersion)
    model.encode(to: &writer)
}

public func encodeModel(_ model: any TrainedModel, of strategy: any Strategy.Type) -> [UInt8] {
    var writer = ModelWriter()
    writeModel(model, of: strategy, to: &writer)
    return writer.bytes
}

/// A stored model whose header names another strategy or layout version than this build has.
public struct ModelFormatError: Error, CustomStringConvertible, Equatable {
    public let strategy: String
    public let found: String
    public var description: String { "the model bytes hold \(found), but this Timbre reads \(strategy)" }
}
