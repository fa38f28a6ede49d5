import TimbreCore

/// One strategy in a comparison, with the parameters it was configured with.
public struct StrategyUnderTest: Sendable {
    public var label: String
    public var name: String
    public var parameters: Parameters
    public var strategy: any Strategy

    public init(label: String? = nil, name: String, parameters: Parameters, strategy: any Strategy) {
        self.label = label ?? name
        self.name = name
        self.parameters = parameters
        self.strategy = strategy
    }

    /// A registered strategy with textual overrides (`k=20`), labelled by its non-default settings.
    public static func registered(_ name: String, overrides: [String: String] = [:],
                                  in registry: StrategyRegistry, label: String? = nil) throws -> StrategyUnderTest {
        let (strategy, parameters) = try registry.make(name, overrides: overrides)
        let tail = overrides.keys.sorted().map { "\($0)=\(overrides[$0]!)" }.joined(separator: " ")
        return StrategyUnderTest(label: label ?? (tail.isEmpty ? name : "\(name) \(tail)"),
                                 name: name, parameters: parameters, strategy: strategy)
    }

    /// Parses a strategy spec (`name`, `name:key=value,…`, `name(key=value,…)`, see `StrategySpec`),
    /// optionally with a label in front, `label=name:…` (the forms command lines use; the label
    /// names the column in reports instead of the strategy's non-default settings).
    public static func parse(_ spec: String, in registry: StrategyRegistry) throws -> StrategyUnderTest {
        var body = Substring(spec)
        var label: String?
        // A label ends at an '=' that comes before any ':' or '(' (names and labels contain none).
        if let equals = body.firstIndex(of: "="), body.firstIndex(where: { $0 == ":" || $0 == "(" }).map({ equals < $0 }) ?? true {
            label = String(body[..<equals])
            body = body[body.index(after: equals)...]
            guard !label!.isEmpty else { throw EvaluationError("empty label in strategy spec '\(spec)'") }
        }
        let parsed = try StrategySpec.parse(String(body))
        return try registered(parsed.name, overrides: parsed.overrides, in: registry, label: label)
    }
}

public struct EvaluationOptions: Codable, Sendable, Equatable {
    /// N of the top-N list.
    public var cutoff: Int
    public var relevance: Relevance
    public var ratingMetrics: Bool
    public var rankingMetrics: Bool
    public var bootstrapSamples: Int
    public var bootstrapSeed: UInt64
    /// The paired test of per-user (ranking) metrics against the reference.
    public var pairedTest: PairedTest
    /// Holm–Bonferroni over every comparison of the report (strategies × metrics).
    public var adjustForMultipleComparisons: Bool

    public init(cutoff: Int = 10, relevance: Relevance = .anyHeldOut, ratingMetrics: Bool = true,
                rankingMetrics: Bool = true, bootstrapSamples: Int = 1000, bootstrapSeed: UInt64 = 0,
                pairedTest: PairedTest = .zTest, adjustForMultipleComparisons: Bool = true) {
        self.cutoff = cutoff
        self.relevance = relevance
        self.ratingMetrics = ratingMetrics
        self.rankingMetrics = rankingMetrics
        self.bootstrapSamples = bootstrapSamples
        self.bootstrapSeed = bootstrapSeed
        self.pairedTest = pairedTest
        self.adjustForMultipleComparisons = adjustForMultipleComparisons
    }

    private enum CodingKeys: String, CodingKey {
        case cutoff, relevance, ratingMetrics, rankingMetrics, bootstrapSamples, bootstrapSeed, pairedTest, adjustForMultipleComparisons
    }

    /// Runs stored before the paired test was a choice used the z-test, unadjusted.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cutoff: try c.decode(Int.self, forKey: .cutoff), relevance: try c.decode(Relevance.self, forKey: .relevance),
                  ratingMetrics: try c.decode(Bool.self, forKey: .ratingMetrics), rankingMetrics: try c.decode(Bool.self, forKey: .rankingMetrics),
                  bootstrapSamples: try c.decode(Int.self, forKey: .bootstrapSamples), bootstrapSeed: try c.decode(UInt64.self, forKey: .bootstrapSeed),
                  pairedTest: try c.decodeIfPresent(PairedTest.self, forKey: .pairedTest) ?? .zTest,
                  adjustForMultipleComparisons: try c.decodeIfPresent(Bool.self, forKey: .adjustForMultipleComparisons) ?? false)
    }
}

/// Runs several strategies on the *same* folds and summarises them side by side.
/// Predictions and top-N lists are computed for test users in parallel on all cores.
public struct Evaluation: Sendable {
    public var split: SplitSpec
    public var options: EvaluationOptions

    public init(split: SplitSpec, options: EvaluationOptions = EvaluationOptions()) {
        self.split = split
        self.options = options
    }

    public static let candidates = "all items the user has not rated in training (full ranking, no sampled negatives)"
    public static let newCandidates = "; metrics named new … rank only the items without a training interaction (the fold's new items)"

    /// Whether the report carries the new-items-only block: for item cold start, where a model that
    /// pushes every new item above the warm ones wins the full ranking without knowing anything.
    static func ranksNewItemsApart(_ spec: SplitSpec) -> Bool {
        if case .coldItems = spec.method { return true }
        return false
    }

    public func run(_ matrix: RatingMatrix, strategies: [StrategyUnderTest], dataset: String) throws -> EvaluationReport {
        try run(TrainingData(ratings: matrix), strategies: strategies, dataset: dataset)
    }

    /// Every fold's training data carries `data`'s item embeddings: splits keep the item
    /// vocabulary, so the table's rows stay aligned with every fold's items.
    /// With plays, rating metrics are not computed: predicting a play count is not what RMSE/MAE
    /// on a rating scale measure (the report says so).
    public func run(_ data: TrainingData, strategies: [StrategyUnderTest], dataset: String) throws -> EvaluationReport {
        try run(data, folds: split.splits(of: data.ratings), spec: split, splitDescription: split.description, strategies: strategies, dataset: dataset)
    }

    /// On folds made elsewhere (`SplitFiles.read`), which must be over `data`'s vocabularies; the
    /// report's split is theirs, not `split`.
    public func run(_ data: TrainingData, splits: SplitFiles.ImportedSplits, strategies: [StrategyUnderTest], dataset: String) throws -> EvaluationReport {
        try run(data, folds: splits.folds, spec: splits.spec, splitDescription: splits.description, strategies: strategies, dataset: dataset)
    }

    /// On folds built by the caller (the tuner's validation parts), over `data`'s vocabularies.
    public func run(_ data: TrainingData, folds: [TrainTestSplit], description: String,
                    strategies: [StrategyUnderTest], dataset: String) throws -> EvaluationReport {
        try run(data, folds: folds, spec: split, splitDescription: description, strategies: strategies, dataset: dataset)
    }

    private func run(_ data: TrainingData, folds: [TrainTestSplit], spec: SplitSpec, splitDescription: String,
                     strategies: [StrategyUnderTest], dataset: String) throws -> EvaluationReport {
        if data.feedback == .plays, options.ratingMetrics {
            var plays = self
            plays.options.ratingMetrics = false
            return try plays.run(data, folds: folds, spec: spec, splitDescription: splitDescription, strategies: strategies, dataset: dataset)
        }
        let matrix = data.ratings
        guard folds.allSatisfy({ $0.train.users == matrix.users && $0.train.items == matrix.items }) else {
            throw EvaluationError("the folds are not over the dataset's users and items")
        }
        if let table = data.itemEmbeddings, table.present.count != matrix.itemCount {
            throw EvaluationError("the item embeddings have \(table.present.count) rows, the ratings \(matrix.itemCount) items")
        }
        guard !strategies.isEmpty else { throw EvaluationError("nothing to evaluate: no strategies given") }
        // Labels name the report's columns and the stored results: two equal ones would be ambiguous.
        var labels = Set<String>()
        for s in strategies where !labels.insert(s.label).inserted {
            throw EvaluationError("two strategies are labelled '\(s.label)'; give one a label (LABEL=NAME:…)")
        }
        guard options.cutoff >= 1 else { throw EvaluationError("the cutoff N must be ≥ 1") }
        if case let .ratingAtLeast(threshold) = options.relevance, !threshold.isFinite {
            throw EvaluationError("the relevance threshold must be a finite rating, got \(threshold)")
        }
        let slices = EvaluationSlice.standard(for: spec.method)
        var collected = strategies.map { _ in Collected(slices: slices.count) }
        let newItemsApart = Self.ranksNewItemsApart(spec)
        for fold in folds {
            let context = FoldContext(fold, itemEmbeddings: data.itemEmbeddings, feedback: data.feedback, relevance: options.relevance,
                                      newItemsApart: newItemsApart)
            for (s, candidate) in strategies.enumerated() {
                try collected[s].add(evaluating: candidate, on: context, options: options, slices: slices)
            }
        }
        var reports = summarise(collected, folds: folds.count)
        if options.adjustForMultipleComparisons { Self.adjust(&reports) }
        return EvaluationReport(
            dataset: DatasetSummary(name: dataset, users: matrix.userCount, items: matrix.itemCount, ratings: matrix.ratingCount),
            split: spec, splitDescription: splitDescription, folds: folds.count, options: options,
            candidates: Self.candidates + (newItemsApart ? Self.newCandidates : ""), strategies: zip(strategies, reports).map { s, r in
                StrategyResult(label: s.label, name: s.name, parameters: s.parameters, metrics: r.metrics,
                               timings: r.timings, predictions: r.predictions, fallbacks: r.fallbacks,
                               slices: options.rankingMetrics ? zip(r.slices, slices).map { $0.result($1, cutoff: options.cutoff) } : nil)
            }, feedback: data.feedback)
    }

    /// Holm–Bonferroni over every paired comparison of the report: with many strategies and
    /// metrics, some unadjusted p < 0.05 are expected by chance alone.
    private static func adjust(_ reports: inout [Summary]) {
        var places: [(strategy: Int, metric: Int)] = []
        for (s, r) in reports.enumerated() { for (m, metric) in r.metrics.enumerated() where metric.vsFirst != nil { places.append((s, m)) } }
        let adjusted = holmAdjusted(places.map { reports[$0.strategy].metrics[$0.metric].vsFirst!.pValue })
        for (place, p) in zip(places, adjusted) { reports[place.strategy].metrics[place.metric].vsFirst!.adjustedPValue = p }
    }

    private typealias Summary = (metrics: [MetricEstimate], timings: StrategyTimings, predictions: Int, fallbacks: [String: Int],
                                 slices: [SliceCollector])

    private func summarise(_ all: [Collected], folds: Int) -> [Summary] {
        let n = options.cutoff
        let reference = all[0]
        let weights = options.ratingMetrics && !reference.errors.isEmpty
            ? ErrorStatistic.resamples(reference.errors, folds: folds, count: options.bootstrapSamples, seed: options.bootstrapSeed)
            : []
        // A strategy that never predicts (popularity, implicit kNN) gets no rating metrics: its
        // errors would only measure the fallback.
        let predicts = all.map { $0.fallbacks.values.reduce(0, +) < $0.predictions }
        return all.enumerated().map { index, c in
            var metrics: [MetricEstimate] = []
            if options.ratingMetrics, !c.errors.isEmpty, predicts[index] {
                for (name, kind) in [("RMSE", ErrorStatistic.Kind.rmse), ("MAE", .mae)] {
                    let value = ErrorStatistic.value(c.errors, folds: folds, kind)
                    let boot = weights.map { ErrorStatistic.value(c.errors, folds: folds, kind, weights: $0) }.sorted()
                    var paired: PairedComparison?
                    if index > 0, predicts[0] {
                        let diffs = weights.map {
                            ErrorStatistic.value(c.errors, folds: folds, kind, weights: $0)
                                - ErrorStatistic.value(reference.errors, folds: folds, kind, weights: $0)
                        }
                        let below = Double(diffs.filter { $0 <= 0 }.count), above = Double(diffs.filter { $0 >= 0 }.count)
                        let p = min(1, 2 * min(below, above) / Double(max(diffs.count, 1)))
                        let sorted = diffs.sorted()
                        paired = PairedComparison(difference: value - ErrorStatistic.value(reference.errors, folds: folds, kind),
                                                  pValue: p, test: "paired bootstrap over users",
                                                  lower: ErrorStatistic.percentile(sorted, 0.025), upper: ErrorStatistic.percentile(sorted, 0.975))
                    }
                    metrics.append(MetricEstimate(name: name, value: value,
                                                  lower: ErrorStatistic.percentile(boot, 0.025),
                                                  upper: ErrorStatistic.percentile(boot, 0.975),
                                                  units: c.errors.count, vsFirst: paired))
                }
            }
            if options.rankingMetrics, !c.ranking.isEmpty {
                let names = ["P@\(n)", "R@\(n)", "NDCG@\(n)", "MAP@\(n)", "MRR@\(n)", "HR@\(n)", "novelty@\(n)"]
                // The new-items-only block after the full ranking's: the same metrics but novelty
                // (every new item is equally unseen), over the users with a relevant new item.
                let blocks = [(c.ranking, reference.ranking, names)]
                    + (c.newRanking.isEmpty ? [] : [(c.newRanking, reference.newRanking, names.dropLast().map { "new \($0)" })])
                for (unitsOf, referenceUnits, names) in blocks {
                for (m, name) in names.enumerated() {
                    let values = unitsOf.map { $0[m] }
                    let interval = MeanInterval(values)
                    var paired: PairedComparison?
                    if index > 0 {
                        let ref = referenceUnits.map { $0[m] }
                        let difference = MeanInterval(zip(values, ref).map { $0 - $1 })
                        let p = switch options.pairedTest {
                        case .zTest: pairedPValue(values, ref)
                        case .wilcoxon: WilcoxonSignedRank(values, ref).pValue
                        }
                        paired = PairedComparison(difference: difference.mean, pValue: p, test: options.pairedTest.description,
                                                  lower: difference.lower, upper: difference.upper)
                    }
                    metrics.append(MetricEstimate(name: name, value: interval.mean, lower: interval.lower,
                                                  upper: interval.upper, units: values.count, vsFirst: paired))
                }
                }
                let coverage = MeanInterval(c.coverage)
                metrics.append(MetricEstimate(name: "coverage@\(n)", value: coverage.mean, lower: coverage.lower,
                                              upper: coverage.upper, units: c.coverage.count, vsFirst: nil))
            }
            return (metrics, c.timings, c.predictions, c.fallbacks, c.slices)
        }
    }
}

/// What every strategy shares within a fold: test users, their training profiles, relevant sets
/// and item popularity, computed once.
struct FoldContext: Sendable {
    let split: TrainTestSplit
    /// What strategies fit on: the fold's training ratings and the whole run's item embeddings.
    let training: TrainingData
    let testUsers: [Int32]
    let profiles: [UserProfile]
    let relevant: [Set<Int32>]
    let popularity: [Int]
    let trainUsers: Int
    let globalMean: Float
    /// With the new-items-only block: per test user, their relevant items without a training
    /// interaction, and the warm items (excluded from that ranking besides the profile's).
    let newRelevant: [Set<Int32>]?
    let warmItems: [Int32]
    let sliceFold: SliceFold

    init(_ split: TrainTestSplit, itemEmbeddings: EmbeddingTable?, feedback: FeedbackKind, relevance: Relevance, newItemsApart: Bool = false) {
        self.split = split
        training = TrainingData(ratings: split.train, itemEmbeddings: itemEmbeddings, feedback: feedback)
        let test = split.test.byUser
        testUsers = (0..<Int32(split.test.userCount)).filter { test.count($0) > 0 }
        profiles = testUsers.map { split.train.profile(of: $0) }
        relevant = testUsers.map { u in
            Set(test.range(u).filter { relevance.isRelevant(test.values[$0]) }.map { test.columns[$0] })
        }
        popularity = (0..<Int32(split.train.itemCount)).map { split.train.byItem.count($0) }
        trainUsers = (0..<Int32(split.train.userCount)).filter { split.train.byUser.count($0) > 0 }.count
        globalMean = split.train.globalMean
        let popularity = popularity
        warmItems = newItemsApart ? (0..<Int32(popularity.count)).filter { popularity[Int($0)] > 0 } : []
        newRelevant = newItemsApart ? relevant.map { $0.filter { popularity[Int($0)] == 0 } } : nil
        sliceFold = SliceFold(trainingCounts: profiles.map(\.items.count), relevant: relevant, popularity: popularity)
    }
}

/// Per-strategy results accumulated over folds, in the same unit order for every strategy,
/// which is what makes the paired comparisons valid.
private struct Collected {
    var errors: [ErrorUnit] = []
    /// Per (fold, user with a relevant item): P, R, NDCG, AP, RR, hit, novelty.
    var ranking: [[Double]] = []
    /// The same without novelty, ranking only new items (when the fold asks for it).
    var newRanking: [[Double]] = []
    var coverage: [Double] = []
    var slices: [SliceCollector]
    var timings = StrategyTimings()
    var predictions = 0
    var fallbacks: [String: Int] = [:]

    init(slices: Int) { self.slices = Array(repeating: SliceCollector(), count: slices) }

    mutating func add(evaluating candidate: StrategyUnderTest, on fold: FoldContext, options: EvaluationOptions,
                      slices definitions: [EvaluationSlice]) throws {
        let clock = ContinuousClock()
        var start = clock.now
        let model = try candidate.strategy.fitAny(fold.training)
        timings.fitSeconds += seconds(clock.now - start)

        if options.ratingMetrics {
            start = clock.now
            let test = fold.split.test.byUser
            // The scale the training ratings show: predictions are clipped to it here, not by strategies.
            let scale = fold.training.ratings.valueRange ?? -Float.infinity...Float.infinity
            let chunks = concurrentChunks(fold.testUsers.count) { range -> (units: [ErrorUnit], userMean: Int, globalMean: Int) in
                var units: [ErrorUnit] = [], userMean = 0, globalMean = 0
                for t in range {
                    let u = fold.testUsers[t], profile = fold.profiles[t]
                    let items = Array(test.columns(u)), truth = Array(test.values(u))
                    var unit = ErrorUnit(fold: fold.split.fold, squared: 0, absolute: 0, count: items.count)
                    for (p, actual) in zip(model.predictions(profile, items: items, on: scale), truth) {
                        let estimate: Float
                        if let p { estimate = p }
                        else if let m = profile.meanRating { estimate = m; userMean += 1 }
                        else { estimate = fold.globalMean; globalMean += 1 }
                        let e = Double(estimate - actual)
                        unit.squared += e * e
                        unit.absolute += abs(e)
                    }
                    units.append(unit)
                }
                return (units, userMean, globalMean)
            }
            for c in chunks {
                errors += c.units
                fallbacks["user-mean", default: 0] += c.userMean
                fallbacks["global-mean", default: 0] += c.globalMean
                predictions += c.units.reduce(0) { $0 + $1.count }
            }
            timings.predictSeconds += seconds(clock.now - start)
        }

        if options.rankingMetrics {
            start = clock.now
            let n = options.cutoff, itemCount = fold.split.train.itemCount
            let lists = concurrentChunks(fold.testUsers.count) { range -> [(all: [Int32], new: [Int32])] in
                var scores = [Float](repeating: 0, count: itemCount)
                return range.map { t in
                    let profile = fold.profiles[t]
                    model.score(profile, into: &scores)
                    let all = topN(scores, n: n, excluding: profile.items).map(\.item)
                    guard fold.newRelevant != nil else { return (all, []) }
                    // Warm items include every profile item: excluding them leaves the new ones.
                    return (all, topN(scores, n: n, excluding: fold.warmItems).map(\.item))
                }
            }.flatMap { $0 }
            timings.recommendSeconds += seconds(clock.now - start)
            var recommended = Set<Int32>()
            for (t, (list, newList)) in lists.enumerated() {
                if let newRelevant = fold.newRelevant, let r = RankingMetrics(ranked: newList, relevant: newRelevant[t], cutoff: n) {
                    newRanking.append([r.precision, r.recall, r.ndcg, r.averagePrecision, r.reciprocalRank, r.hit])
                }
                recommended.formUnion(list)
                guard let r = RankingMetrics(ranked: list, relevant: fold.relevant[t], cutoff: n) else { continue }
                let nov = novelty(of: list, popularity: fold.popularity, userCount: fold.trainUsers) ?? 0
                ranking.append([r.precision, r.recall, r.ndcg, r.averagePrecision, r.reciprocalRank, r.hit, nov])
            }
            coverage.append(Double(recommended.count) / Double(max(itemCount, 1)))
            for (s, slice) in definitions.enumerated() {
                slices[s].add(lists: lists.map(\.all), slice: slice, fold: fold.sliceFold, cutoff: n)
            }
        }
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
