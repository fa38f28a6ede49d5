import TimbreCore

/// A weighted blend of two registered strategies, each given by spec (`item-knn(mode=implicit,k=20)`):
/// `first` weighs 1 − weight, `second` weighs `weight`. More than two: nest, `first=hybrid(…)`.
///
/// Scores: each component's scores for the user are normalised over the items it can score (its
/// scales differ: summed similarities, cosines, counts), then mixed with the weights of the
/// components that speak about the item (see `Unscored` for what a component's silence means).
/// A component that scores nothing for this user adds the same to every item and is left out.
/// A component of weight 0 is not fitted at all, so weight 0 and 1 give the other component's
/// scores unchanged. Predictions: the weighted mean of the components' predictions that exist.
public struct Hybrid: ComposedStrategy {
    public static let name = "hybrid"
    public static let summary = "Weighted blend of two strategies' normalised scores and predictions"
    public static let first = Setting("first", default: "item-knn(mode=implicit,similarity=cosine,centring=none,k=20,shrinkage=0)",
                               help: "first component, a strategy spec NAME(key=value,…)")
    public static let second = Setting("second", default: "popularity", help: "second component, a strategy spec NAME(key=value,…)")
    // 0.1: with popularity as the second component, a light popularity prior keeps item-kNN's
    // NDCG on MovieLens-100K (0.3756 vs 0.3755) where 0.3 already costs 0.013 (docs/evaluation.md).
    public static let weight = Setting("weight", default: 0.1, range: 0...1, help: "weight of the second component (the first gets 1 − weight)")
    // z by default: it keeps how far a component's favourites stand out (a confident component
    // outweighs a flat one), where rank spreads every list evenly over 0…1, so a weak
    // component's arbitrary order moves the blend as much as a strong one's. z also needs no
    // sort per user and gave the best blend of each pair measured (docs/evaluation.md).
    public static let normalisation = Setting("normalise", default: Normalisation.z,
                                   help: "per-user scaling of each component's scores before mixing: z-score, or rank (1 − rank/n)")
    public static let unscored = Setting("unscored", default: Unscored.cold,
                                  help: "an item a component cannot score: cold (an item without training ratings is judged by the components that can score it, weights renormalised; any other gets that component's lowest score), lowest (always the lowest) or others (always renormalised)")
    public static let parameters = [first.spec, second.spec, weight.spec, normalisation.spec, unscored.spec]

    /// What a component's silence about an item means. For an item nobody has rated in training,
    /// nothing: a CF component cannot know it, so only the components that can score it (content)
    /// judge it. For a rated item, it is evidence against: CF saw the item and did not link it to
    /// this user's items, so it takes that component's lowest score. Measured on MovieLens-100K
    /// with genre vectors (docs/evaluation.md): `others` for every item floods warm lists with
    /// unlinked items (NDCG 0.375 → 0.28), `lowest` for every item never lets a cold item in.
    public enum Unscored: String, CaseIterable, Sendable, SettingChoice {
        case cold, lowest, others
    }

    public enum Normalisation: String, CaseIterable, Sendable, SettingChoice {
        case z, rank
    }

    struct Component: Sendable {
        let strategy: any Strategy
        /// Every parameter value, resolved.
        let parameters: Parameters
        let weight: Float
    }

    let components: [Component]
    let normalisation: Normalisation
    let unscored: Unscored

    public init(parameters: Parameters, registry: StrategyRegistry) throws {
        let weight = parameters[Self.weight]
        normalisation = parameters[Self.normalisation]
        unscored = parameters[Self.unscored]
        components = try [(Self.first, 1 - weight), (Self.second, weight)].compactMap { slot, weight in
            guard weight > 0 else { return nil }
            do {
                let (strategy, resolved) = try registry.make(try StrategySpec.parse(parameters[slot]))
                return Component(strategy: strategy, parameters: resolved, weight: Float(weight))
            } catch {
                throw ParameterError("hybrid: \(slot.name): \(error)")
            }
        }
    }

    /// Each component spec in full (`item-knn(amplification=1,centring=none,…)`): the default
    /// `first`, its settings in another order, or with a default spelled out are one configuration.
    public static func canonical(_ parameters: Parameters, registry: StrategyRegistry) throws -> Parameters {
        try [first, second].reduce(parameters) { p, slot in
            do {
                let spec = try StrategySpec.parse(p[slot])
                let (_, resolved) = try registry.make(spec)
                return p.setting(slot, to: StrategySpec(name: spec.name, parameters: resolved).description)
            } catch {
                throw ParameterError("hybrid: \(slot.name): \(error)")
            }
        }
    }

    /// A component that reads item embeddings (e.g. `content`) gets them from the host only if the
    /// hybrid asks for them.
    public var usesItemEmbeddings: Bool { components.contains { $0.strategy.usesItemEmbeddings } }

    /// Components are fitted one after the other: each already spreads its own fit over every core.
    public func fit(_ data: TrainingData) throws -> Model {
        let ratings = data.ratings
        return Model(components: try components.map {
            .init(strategy: type(of: $0.strategy), parameters: $0.parameters, weight: $0.weight, model: try $0.strategy.fitAny(data))
        }, normalisation: normalisation, unscored: unscored,
        coldItems: (0..<Int32(ratings.itemCount)).filter { ratings.byItem.count($0) == 0 })
    }

    public static func decodeModel(from reader: inout ModelReader, registry: StrategyRegistry) throws -> Model {
        guard let normalisation = Normalisation(rawValue: try reader.read(String.self)) else {
            throw ModelDecodingError(description: "hybrid: unknown normalisation")
        }
        guard let unscored = Unscored(rawValue: try reader.read(String.self)) else {
            throw ModelDecodingError(description: "hybrid: unknown treatment of unscored items")
        }
        let count = try reader.read(Int64.self)
        guard count >= 1 else { throw ModelDecodingError(description: "hybrid: \(count) components") }
        // One at a time, not `(0..<count).map`, which would reserve room for a corrupt count
        // (2⁶⁰ components) before the first read runs out of bytes.
        var components: [Model.Component] = []
        for _ in 0..<count {
            let name = try reader.read(String.self)
            let strategy = try registry.named(name)
            let (parameters, weight) = (try reader.read(parametersOf: strategy), try reader.read(Float.self))
            components.append(Model.Component(strategy: strategy, parameters: parameters, weight: weight,
                                              model: try registry.decodeModel(of: strategy, from: &reader)))
        }
        let coldItems = try reader.read([Int32].self)
        guard zip(coldItems, coldItems.dropFirst()).allSatisfy({ $0 < $1 }), (coldItems.first ?? 0) >= 0 else {
            throw ModelDecodingError(description: "hybrid: cold items are not ascending item indices")
        }
        guard components.allSatisfy({ $0.weight > 0 && $0.weight <= 1 }) else {
            throw ModelDecodingError(description: "hybrid: a component weight outside (0, 1]")
        }
        return Model(components: components, normalisation: normalisation, unscored: unscored, coldItems: coldItems)
    }

    public struct Model: TrainedModel, BatchRatingPredictor {
        /// A fitted component: the strategy's name and resolved parameters, its weight and model.
        public struct Component: Sendable {
            public let strategy: any Strategy.Type
            public var name: String { strategy.name }
            public let parameters: Parameters
            public let weight: Float
            public let model: any TrainedModel
        }

        /// Only components of non-zero weight.
        public let components: [Component]
        public let normalisation: Normalisation
        public let unscored: Unscored
        /// Items without a rating in the training data, ascending.
        let coldItems: [Int32]
        private let isCold: [Bool]

        init(components: [Component], normalisation: Normalisation, unscored: Unscored, coldItems: [Int32]) {
            self.components = components
            self.normalisation = normalisation
            self.unscored = unscored
            self.coldItems = coldItems
            var isCold = [Bool](repeating: false, count: Int(coldItems.last.map { $0 + 1 } ?? 0))
            for i in coldItems { isCold[Int(i)] = true }
            self.isCold = isCold
        }

        /// Whether an item a component cannot score keeps that component's lowest score.
        private func takesLowest(_ item: Int) -> Bool {
            switch unscored {
            case .lowest: true
            case .others: false
            case .cold: !(item < isCold.count && isCold[item])
            }
        }

        public func score(_ user: UserProfile, into scores: inout [Float]) {
            // One component: its own scores (normalising would not change their order).
            if components.count == 1 { return components[0].model.score(user, into: &scores) }
            var blend = [Float](repeating: 0, count: scores.count)
            // Weight of the components that scored each item.
            var weights = [Float](repeating: 0, count: scores.count)
            // Weight of the components whose lowest score an item took.
            var lowWeights = [Float](repeating: 0, count: scores.count)
            var own = [Float](repeating: 0, count: scores.count)
            for c in components {
                for i in own.indices { own[i] = -.infinity }
                c.model.score(user, into: &own)
                guard let lowest = normalise(&own, normalisation) else { continue }
                for i in own.indices {
                    if own[i] > -.infinity {
                        blend[i] += c.weight * own[i]
                        weights[i] += c.weight
                    } else if takesLowest(i) {
                        blend[i] += c.weight * lowest
                        lowWeights[i] += c.weight
                    }
                }
            }
            for i in scores.indices {
                scores[i] = weights[i] == 0 ? -.infinity : blend[i] / (weights[i] + lowWeights[i])
            }
        }

        public func predict(_ user: UserProfile, item: Int32) -> Float? { predict(user, items: [item])[0] }

        /// Σ wᵢ pᵢ / Σ wᵢ over the components with a prediction (batched where a component batches).
        public func predict(_ user: UserProfile, items: [Int32]) -> [Float?] {
            var sum = [Double](repeating: 0, count: items.count), weights = sum
            for c in components {
                for (k, p) in c.model.predictAll(user, items: items).enumerated() {
                    guard let p else { continue }
                    sum[k] += Double(c.weight) * Double(p)
                    weights[k] += Double(c.weight)
                }
            }
            return zip(sum, weights).map { s, w in w > 0 ? Float(s / w) : nil }
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(normalisation.rawValue)
            writer.write(unscored.rawValue)
            writer.write(Int64(components.count))
            for c in components {
                writer.write(c.name)
                writer.write(c.parameters)
                writer.write(c.weight)
                writeModel(c.model, of: c.strategy, to: &writer)
            }
            writer.write(coldItems)
        }

        public init(decoding reader: inout ModelReader) throws {
            throw ModelDecodingError(description: "a hybrid model decodes its components through the registry: use StrategyRegistry.decodeModel")
        }
    }
}

/// Normalises the finite scores in place (z-score, or 1 − rank/n with ties sharing their mean
/// rank), sets the rest to -inf, and returns the lowest normalised score (nil if none is finite).
func normalise(_ scores: inout [Float], _ kind: Hybrid.Normalisation) -> Float? {
    var count = 0, sum = 0.0
    for i in scores.indices {
        if scores[i].isFinite { count += 1; sum += Double(scores[i]) } else { scores[i] = -.infinity }
    }
    guard count > 0 else { return nil }
    var lowest = Float.infinity
    switch kind {
    case .z:
        let mean = sum / Double(count)
        var squares = 0.0
        for s in scores where s > -.infinity { squares += (Double(s) - mean) * (Double(s) - mean) }
        let sd = (squares / Double(count)).squareRoot()
        for i in scores.indices where scores[i] > -.infinity {
            scores[i] = sd > 0 ? Float((Double(scores[i]) - mean) / sd) : 0
            lowest = min(lowest, scores[i])
        }
    case .rank:
        let order = scores.indices.filter { scores[$0] > -.infinity }.sorted { scores[$0] > scores[$1] }
        let sorted = order.map { scores[$0] }
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, sorted[end] == sorted[start] { end += 1 }
            let rank = Double(start + end - 1) / 2 // 0-based, the mean over the tie
            for k in start..<end { scores[order[k]] = Float(1 - rank / Double(count)) }
            start = end
        }
        lowest = scores[order.last!]
    }
    return lowest
}
