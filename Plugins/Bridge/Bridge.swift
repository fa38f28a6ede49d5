import Foundation
import TimbreCore
import TimbreNeural

/// The cold-start bridge (van den Oord, Dieleman & Schrauwen 2013): learn, from item content, the
/// collaborative-filtering factors an item *would* have if people had used it. A factor model
/// (`base`, any strategy whose models expose item factors: `ials`, `bpr`) is fitted on the
/// interactions; a ridge regression from each item's embedding (`TrainingData.itemEmbeddings`,
/// the embedding set the host loads: genre vectors, audio-model embeddings, imported vectors) to
/// its factor row is fitted on the items with interactions; items without interactions get the
/// predicted row. Every item is then scored x_u · y_i with the base model's user row x_u, so warm
/// and new items sit on one scale and one model ranks them together.
///
/// The features are what the embedding set holds, nothing added (MovieLens `genres` vectors carry
/// no release year). They are centred (the intercept is the mean factor row, not penalised) and
/// not rescaled. `ridge=auto` picks λ from a grid relative to the features' mean variance, by the
/// squared error of the predicted rows on a seeded `validation` share of the warm items, then
/// refits on every warm item.
///
/// `target=popularity` is the non-personalised baseline: ridge from content to log(1 + number of
/// interactions); warm items keep their own log popularity, new items get the prediction, every
/// user gets the same order. `base` is not fitted then.
public struct Bridge: ComposedStrategy {
    public static let name = "bridge"
    public static let summary = "Cold-start bridge: ridge regression from item embeddings to a factor model's item factors, new items scored with predicted factors (van den Oord et al. 2013)"
    public static let base = Setting("base", default: "ials(factors=64)", help: "factor model whose item factors are predicted, a strategy spec (ials, bpr)")
    public static let target = Setting("target", default: Target.factors,
                                help: "what the content predicts: the base model's item factors, or log popularity (a non-personalised baseline)")
    public static let ridge = Setting("ridge", default: "auto",
                               help: "ridge penalty λ ≥ 0 on the centred features, or auto (chosen on the validation items from \(ridgeGrid.map { String($0) }.joined(separator: ", ")) × the features' mean variance × warm items)")
    public static let validation = Setting("validation", default: 0.2, range: 0.05...0.5, help: "share of the warm items held out to choose λ (ridge=auto)")
    public static let seed = Setting("seed", default: 0, range: 0...4_294_967_295, help: "seed of the validation items")
    public static let parameters = [base.spec, target.spec, ridge.spec, validation.spec, seed.spec]

    public enum Target: String, CaseIterable, Sendable, SettingChoice {
        case factors, popularity
    }

    /// Relative penalties tried by ridge=auto: a decade apart, wide enough for one-hot genre
    /// vectors (few, strong features) and dense audio embeddings alike.
    static let ridgeGrid: [Double] = [0.001, 0.01, 0.1, 1, 10]

    let base: (strategy: any Strategy, parameters: Parameters)?
    let target: Target
    /// nil: auto.
    let ridge: Double?
    let validation: Double
    let seed: UInt64

    public init(parameters: Parameters, registry: StrategyRegistry) throws {
        target = parameters[Self.target]
        let ridgeText = parameters[Self.ridge]
        if ridgeText == "auto" {
            ridge = nil
        } else {
            guard let value = Double(ridgeText), value.isFinite, value >= 0 else {
                throw ParameterError("bridge: ridge must be auto or a number in 0…∞, got '\(ridgeText)'")
            }
            ridge = value
        }
        validation = parameters[Self.validation]
        seed = UInt64(parameters[Self.seed])
        guard target == .factors else { base = nil; return }
        do {
            let (strategy, resolved) = try registry.make(try StrategySpec.parse(parameters[Self.base]))
            guard type(of: strategy).hasItemFactors else {
                throw ParameterError("'\(type(of: strategy).name)' has no item factors (factor models: ials, bpr)")
            }
            base = (strategy, resolved)
        } catch {
            throw ParameterError("bridge: base: \(error)")
        }
    }

    /// The base spec in full, so two spellings of one configuration are one stored model.
    public static func canonical(_ parameters: Parameters, registry: StrategyRegistry) throws -> Parameters {
        do {
            let spec = try StrategySpec.parse(parameters[base])
            let (_, resolved) = try registry.make(spec)
            return parameters.setting(base, to: StrategySpec(name: spec.name, parameters: resolved).description)
        } catch {
            throw ParameterError("bridge: base: \(error)")
        }
    }

    public var usesItemEmbeddings: Bool { true }

    public func fit(_ data: TrainingData) throws -> Model {
        let ratings = data.ratings, items = ratings.itemCount
        guard let table = data.itemEmbeddings else {
            throw TrainingDataError("bridge needs item embeddings and the training data has none: choose a set with --embedding-model (e.g. `timbre content embed-metadata genres` first)")
        }
        guard table.present.count == items else {
            throw TrainingDataError("bridge: the item embeddings have \(table.present.count) rows, the ratings \(items) items")
        }
        let warm = (0..<Int32(items)).map { ratings.byItem.count($0) > 0 }
        let fitted: FittedBase?
        let rows: [Float], width: Int
        switch target {
        case .factors:
            let (strategy, parameters) = base!
            guard let model = try strategy.fitAny(data) as? any ItemFactorModel else {
                preconditionFailure("bridge: \(type(of: strategy).name) was checked to have item factors")
            }
            fitted = FittedBase(strategy: type(of: strategy), parameters: parameters, model: model)
            rows = model.itemFactorRows
            width = model.itemFactorDimension
        case .popularity:
            fitted = nil
            rows = (0..<Int32(items)).map { Float(log1p(Double(ratings.byItem.count($0)))) }
            width = 1
        }
        let learnt = (0..<items).filter { warm[$0] && table.present[$0] }
        guard learnt.count >= 2 else {
            throw TrainingDataError("bridge: \(learnt.count) item(s) have both interactions and an embedding; the map needs at least 2")
        }
        let d = table.dimension
        func gather(_ source: [Float], _ width: Int, _ picked: [Int]) -> [Float] {
            var out = [Float](); out.reserveCapacity(picked.count * width)
            for i in picked { out += source[i * width..<(i + 1) * width] }
            return out
        }
        let lambda: Double
        if let ridge {
            lambda = ridge
        } else {
            lambda = try chooseRidge(learnt, gather: { gather(table.vectors, d, $0) }, targets: { gather(rows, width, $0) },
                                     dimension: d, width: width)
        }
        let map = try RidgeMap(inputs: gather(table.vectors, d, learnt), targets: gather(rows, width, learnt),
                               count: learnt.count, inputDimension: d, outputDimension: width, lambda: lambda)
        // Warm items keep their own rows; new items with an embedding get predicted ones, computed
        // here for every embedding the host loaded.
        let newItems = (0..<items).filter { !warm[$0] && table.present[$0] }
        var combined = rows
        let predicted = map.predict(gather(table.vectors, d, newItems), count: newItems.count)
        for (k, i) in newItems.enumerated() {
            combined.replaceSubrange(i * width..<(i + 1) * width, with: predicted[k * width..<(k + 1) * width])
        }
        var scorable = warm
        for i in newItems { scorable[i] = true }
        return Model(base: fitted, target: target, map: map, rows: combined, scorable: scorable)
    }

    /// λ from the grid with the least squared error of the predicted rows on a seeded share of the
    /// items, the rest fitting the map; grid values are relative to tr(XᵀX) of the fitting items'
    /// centred features over their dimension (so the choice does not depend on the features' scale).
    func chooseRidge(_ items: [Int], gather: ([Int]) -> [Float], targets: ([Int]) -> [Float],
                     dimension d: Int, width: Int) throws -> Double {
        var order = items
        var g = SeededGenerator(seed: seed)
        g.shuffle(&order)
        let held = max(1, min(order.count - 1, Int((Double(order.count) * validation).rounded())))
        let test = Array(order[..<held]), train = Array(order[held...])
        let x = gather(train), y = targets(train)
        let scale = RidgeMap.meanVariance(x, count: train.count, dimension: d) * Double(train.count)
        let testX = gather(test), testY = targets(test)
        var best: (error: Double, lambda: Double)?
        for relative in Self.ridgeGrid {
            let lambda = relative * max(scale, .leastNormalMagnitude)
            let map = try RidgeMap(inputs: x, targets: y, count: train.count, inputDimension: d, outputDimension: width, lambda: lambda)
            let predicted = map.predict(testX, count: test.count)
            let error = zip(predicted, testY).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            if best == nil || error < best!.error { best = (error, lambda) }
        }
        // The final map fits on every warm item: scale λ with the item count as the data term grows.
        return best!.lambda * Double(items.count) / Double(train.count)
    }

    struct FittedBase: Sendable {
        let strategy: any Strategy.Type
        let parameters: Parameters
        let model: any ItemFactorModel
    }

    public static func decodeModel(from reader: inout ModelReader, registry: StrategyRegistry) throws -> Model {
        guard let target = Target(rawValue: try reader.read(String.self)) else {
            throw ModelDecodingError(description: "bridge: unknown target")
        }
        var fitted: FittedBase?
        if target == .factors {
            let name = try reader.read(String.self)
            let strategy = try registry.named(name)
            let parameters = try reader.read(parametersOf: strategy)
            guard let model = try registry.decodeModel(of: strategy, from: &reader) as? any ItemFactorModel else {
                throw ModelDecodingError(description: "bridge: the base model of '\(name)' has no item factors")
            }
            fitted = FittedBase(strategy: strategy, parameters: parameters, model: model)
        }
        let map = try RidgeMap(decoding: &reader)
        let rows: [Float] = try reader.read()
        let scorable = try reader.read([UInt8].self).map { $0 != 0 }
        guard rows.count == scorable.count * map.outputDimension,
              fitted.map({ $0.model.itemFactorDimension == map.outputDimension }) ?? (map.outputDimension == 1) else {
            throw ModelDecodingError(description: "bridge: \(rows.count) row values for \(scorable.count) items × \(map.outputDimension)")
        }
        return Model(base: fitted, target: target, map: map, rows: rows, scorable: scorable)
    }

    public struct Model: ItemFactorModel {
        let base: FittedBase?
        public let target: Target
        /// The content → factors map, kept so a new embedding's factors need no refit.
        public let map: RidgeMap
        /// items × width: the base model's rows for warm items, predicted rows for new items with an
        /// embedding at fit time, zero for the rest (not scorable).
        let rows: [Float]
        let scorable: [Bool]

        init(base: FittedBase?, target: Target, map: RidgeMap, rows: [Float], scorable: [Bool]) {
            self.base = base
            self.target = target
            self.map = map
            self.rows = rows
            self.scorable = scorable
        }

        public var itemFactorDimension: Int { map.outputDimension }
        public var itemFactorRows: [Float] { rows }

        /// The base model's user row; for target=popularity, [1] for everyone.
        public func userFactorRow(_ user: UserProfile) -> [Float]? {
            guard let base else { return [1] }
            return base.model.userFactorRow(user)
        }

        /// The factor row the map predicts for one embedding (e.g. an item whose embedding appeared
        /// after the fit): no retraining, d × width multiply-adds.
        public func predictedFactors(_ embedding: [Float]) -> [Float] {
            map.predict(embedding, count: 1)
        }

        /// x_u · y_i for every warm item and every new item with an embedding; −inf for the rest,
        /// and for every item when the base model cannot place the profile.
        public func score(_ user: UserProfile, into scores: inout [Float]) {
            BLAS.scoreRows(rows, by: userFactorRow(user), scorable: scorable, into: &scores)
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(target.rawValue)
            if let base {
                writer.write(base.strategy.name)
                writer.write(base.parameters)
                writeModel(base.model, of: base.strategy, to: &writer)
            }
            map.encode(to: &writer)
            writer.write(rows)
            writer.write(scorable.map { UInt8($0 ? 1 : 0) })
        }

        public init(decoding reader: inout ModelReader) throws {
            throw ModelDecodingError(description: "a bridge model decodes its base model through the registry: use StrategyRegistry.decodeModel")
        }
    }
}

/// Ridge regression with an unpenalised intercept: ŷ = ȳ + Wᵀ(x − x̄), with
/// W = (X̃ᵀX̃ + λI)⁻¹ X̃ᵀỸ on the centred inputs X̃ and targets Ỹ, solved by Cholesky (LAPACK
/// sposv, every output column in one factorisation).
public struct RidgeMap: Sendable, Equatable {
    public let inputDimension: Int
    public let outputDimension: Int
    public let lambda: Double
    public let inputMean: [Float]
    public let outputMean: [Float]
    /// Wᵀ: outputDimension × inputDimension, row-major.
    public let weights: [Float]

    /// `inputs` count × inputDimension and `targets` count × outputDimension, row-major.
    public init(inputs: [Float], targets: [Float], count: Int, inputDimension d: Int, outputDimension k: Int, lambda: Double) throws {
        precondition(inputs.count == count * d && targets.count == count * k && count > 0 && d > 0 && k > 0)
        inputDimension = d
        outputDimension = k
        self.lambda = lambda
        inputMean = Self.columnMeans(inputs, count: count, dimension: d)
        outputMean = Self.columnMeans(targets, count: count, dimension: k)
        var x = inputs, y = targets
        for r in 0..<count {
            for j in 0..<d { x[r * d + j] -= inputMean[j] }
            for j in 0..<k { y[r * k + j] -= outputMean[j] }
        }
        var gram = [Float](repeating: 0, count: d * d)
        var rhs = [Float](repeating: 0, count: k * d)
        x.withUnsafeBufferPointer { xv in
            y.withUnsafeBufferPointer { yv in
                gram.withUnsafeMutableBufferPointer { g in BLAS.gramUpper(xv.baseAddress!, rows: count, columns: d, into: g.baseAddress!) }
                // Ỹᵀ X̃ (k × d): each output's right-hand side contiguous, as sposv takes them.
                rhs.withUnsafeMutableBufferPointer { b in
                    BLAS.multiply(yv.baseAddress!, rows: count, columns: k, transposeA: true, by: xv.baseAddress!, rows: count, columns: d,
                                  into: b.baseAddress!)
                }
            }
        }
        // A tiny floor keeps λ = 0 solvable when features are collinear (one-hot sets summing to 1).
        let floor = 1e-6 * max(1, (0..<d).map { Double(gram[$0 * d + $0]) }.max() ?? 1)
        for j in 0..<d { gram[j * d + j] += Float(max(lambda, floor)) }
        try gram.withUnsafeMutableBufferPointer { g in
            try rhs.withUnsafeMutableBufferPointer { b in
                try BLAS.solvePositiveDefinite(g.baseAddress!, n: d, b.baseAddress!, rightHandSides: k)
            }
        }
        weights = rhs
    }

    /// Predicted rows (count × outputDimension) for `inputs` (count × inputDimension).
    public func predict(_ inputs: [Float], count: Int) -> [Float] {
        precondition(inputs.count == count * inputDimension)
        guard count > 0 else { return [] }
        let d = inputDimension, k = outputDimension
        var centred = inputs
        for r in 0..<count { for j in 0..<d { centred[r * d + j] -= inputMean[j] } }
        var out = [Float](repeating: 0, count: count * k)
        for r in 0..<count { for j in 0..<k { out[r * k + j] = outputMean[j] } }
        centred.withUnsafeBufferPointer { xv in
            weights.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    BLAS.multiply(xv.baseAddress!, rows: count, columns: d, by: w.baseAddress!, rows: k, columns: d, transposeB: true,
                                  into: o.baseAddress!, beta: 1)
                }
            }
        }
        return out
    }

    static func columnMeans(_ rows: [Float], count: Int, dimension d: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: d)
        for r in 0..<count { for j in 0..<d { sums[j] += Double(rows[r * d + j]) } }
        return sums.map { Float($0 / Double(count)) }
    }

    /// tr(X̃ᵀX̃) / (count · d): the mean variance of the features.
    static func meanVariance(_ rows: [Float], count: Int, dimension d: Int) -> Double {
        let means = columnMeans(rows, count: count, dimension: d)
        var total = 0.0
        for r in 0..<count { for j in 0..<d { let v = Double(rows[r * d + j] - means[j]); total += v * v } }
        return total / Double(count * d)
    }

    func encode(to writer: inout ModelWriter) {
        writer.write(Int64(inputDimension))
        writer.write(Int64(outputDimension))
        writer.write(lambda)
        writer.write(inputMean)
        writer.write(outputMean)
        writer.write(weights)
    }

    init(decoding reader: inout ModelReader) throws {
        inputDimension = Int(try reader.read(Int64.self))
        outputDimension = Int(try reader.read(Int64.self))
        lambda = try reader.read()
        inputMean = try reader.read()
        outputMean = try reader.read()
        weights = try reader.read()
        guard inputDimension > 0, outputDimension > 0, inputMean.count == inputDimension, outputMean.count == outputDimension,
              weights.count == inputDimension * outputDimension else {
            throw ModelDecodingError(description: "bridge: a ridge map of \(weights.count) weights for \(inputDimension) → \(outputDimension)")
        }
    }
}
