import Foundation
import TimbreCore
import TimbreTerminal

/// A strategy spec whose settings may be searched: `ials:factors=[32,64,128],weight=log(0.1..10),
/// regularisation=0.01..1,iterations=15`. A value is fixed (`15`), a list (`[a,b,c]`), a linear
/// range (`lo..hi`) or a log range (`log(lo..hi)`); integer settings draw integers. An optional
/// label goes in front as in `evaluate` (`LABEL=NAME:…`).
public struct SearchSpace: Sendable, Equatable {
    public enum Domain: Sendable, Equatable {
        case values([String])
        case linear(Double, Double)
        case log(Double, Double)
    }

    public var label: String?
    public var name: String
    /// Settings held fixed, as typed.
    public var fixed: [String: String]
    /// Searched settings, in name order.
    public var dimensions: [(name: String, domain: Domain)]

    public static func == (a: SearchSpace, b: SearchSpace) -> Bool {
        a.label == b.label && a.name == b.name && a.fixed == b.fixed
            && a.dimensions.map(\.name) == b.dimensions.map(\.name) && a.dimensions.map(\.domain) == b.dimensions.map(\.domain)
    }

    public var isSearch: Bool { !dimensions.isEmpty }

    /// Grid search is possible when every dimension is a list; its size.
    public var gridSize: Int? {
        var size = 1
        for d in dimensions {
            guard case let .values(v) = d.domain else { return nil }
            size *= v.count
        }
        return size
    }

    public static func parse(_ text: String) throws -> SearchSpace {
        func fail(_ why: String) -> EvaluationError { EvaluationError("search space '\(text)': \(why)") }
        var body = Substring(text)
        var label: String?
        if let eq = body.firstIndex(of: "="), body.firstIndex(where: { $0 == ":" || $0 == "(" || $0 == "[" }).map({ eq < $0 }) ?? true {
            label = String(body[..<eq])
            body = body[body.index(after: eq)...]
            guard !label!.isEmpty else { throw fail("empty label") }
        }
        let name: Substring, rest: Substring
        if let colon = body.firstIndex(of: ":") {
            name = body[..<colon]
            rest = body[body.index(after: colon)...]
        } else {
            name = body
            rest = ""
        }
        guard !name.isEmpty, !name.contains(where: { "()[],=".contains($0) }) else { throw fail("no strategy name") }
        var fixed: [String: String] = [:]
        var dimensions: [(String, Domain)] = []
        var seen = Set<String>()
        for pair in try topLevelParts(rest, text: text) {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else { throw fail("'\(pair)' is not key=value") }
            let key = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
            guard seen.insert(key).inserted else { throw fail("'\(key)' is given twice") }
            if let domain = try Self.domain(value, fail: fail) { dimensions.append((key, domain)) } else { fixed[key] = value }
        }
        return SearchSpace(label: label, name: String(name), fixed: fixed,
                           dimensions: dimensions.sorted { $0.0 < $1.0 }.map { (name: $0.0, domain: $0.1) })
    }

    private static func domain(_ value: String, fail: (String) -> EvaluationError) throws -> Domain? {
        func range(_ text: Substring) throws -> (Double, Double) {
            let parts = text.components(separatedBy: "..")
            guard parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]), lo.isFinite, hi.isFinite, lo < hi else {
                throw fail("'\(text)' is not a range lo..hi with lo < hi")
            }
            return (lo, hi)
        }
        if value.hasPrefix("[") {
            guard value.hasSuffix("]") else { throw fail("'\(value)': '[' never closed") }
            let inner = value.dropFirst().dropLast()
            let items = try topLevelParts(inner, text: value).map(String.init)
            guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty }) else { throw fail("'\(value)' is an empty or gappy list") }
            return .values(items)
        }
        if value.hasPrefix("log("), value.hasSuffix(")") {
            let (lo, hi) = try range(value.dropFirst(4).dropLast())
            guard lo > 0 else { throw fail("a log range needs lo > 0, got '\(value)'") }
            return .log(lo, hi)
        }
        // A range lo..hi (a number never contains two dots; a nested spec holds no "..").
        if value.contains(".."), !value.contains("(") {
            let (lo, hi) = try range(Substring(value))
            return .linear(lo, hi)
        }
        return nil
    }

    /// Splits on commas outside (), [].
    private static func topLevelParts(_ text: Substring, text whole: String) throws -> [Substring] {
        guard !text.isEmpty else { return [] }
        var parts: [Substring] = [], depth = 0, start = text.startIndex
        for i in text.indices {
            switch text[i] {
            case "(", "[": depth += 1
            case ")", "]":
                depth -= 1
                guard depth >= 0 else { throw EvaluationError("search space '\(whole)': unbalanced brackets") }
            case "," where depth == 0:
                parts.append(text[start..<i])
                start = text.index(after: i)
            default: break
            }
        }
        guard depth == 0 else { throw EvaluationError("search space '\(whole)': unbalanced brackets") }
        parts.append(text[start...])
        return parts
    }

    /// The overrides of one point: fixed settings plus a value for each dimension.
    func overrides(_ point: [String: String]) -> [String: String] { fixed.merging(point) { _, new in new } }

    /// Every point of the grid, in a fixed order.
    func grid() -> [[String: String]] {
        dimensions.reduce([[:]]) { points, d in
            guard case let .values(values) = d.domain else { return points }
            return points.flatMap { p in values.map { p.merging([d.name: $0]) { _, n in n } } }
        }
    }

    /// A random point, drawn with `rng`; `isInteger(name)` rounds draws of integer settings.
    func draw(using rng: inout SeededGenerator, isInteger: (String) -> Bool) -> [String: String] {
        var point: [String: String] = [:]
        for d in dimensions {
            let value: String
            switch d.domain {
            case let .values(v): value = v[Int.random(in: 0..<v.count, using: &rng)]
            case let .linear(lo, hi):
                let x = Double.random(in: lo...hi, using: &rng)
                value = isInteger(d.name) ? String(Int(x.rounded())) : Self.short(x)
            case let .log(lo, hi):
                let x = exp(Double.random(in: log(lo)...log(hi), using: &rng))
                value = isInteger(d.name) ? String(Int(x.rounded())) : Self.short(x)
            }
            point[d.name] = value
        }
        return point
    }

    /// Four significant digits: settings print and paste back as typed.
    static func short(_ x: Double) -> String { String(format: "%.4g", x) }
}

/// How a search proceeds.
public struct TuningOptions: Sendable, Codable, Equatable {
    public enum Method: String, Sendable, Codable, CaseIterable { case grid, random }
    public var method: Method
    public var trials: Int
    public var seed: UInt64
    /// Successive halving: every trial is scored on the first training fold's validation part, the
    /// best 1/`halvingRate` go on to the next fold, and so on; the survivors are ranked by their
    /// mean over the folds they saw. Off: every trial sees every fold.
    public var halving: Bool
    public var halvingRate: Int
    /// Share of each training user's interactions held out as validation.
    public var validationFraction: Double

    public init(method: Method = .random, trials: Int = 20, seed: UInt64 = 0, halving: Bool = false,
                halvingRate: Int = 3, validationFraction: Double = 0.2) {
        self.method = method
        self.trials = trials
        self.seed = seed
        self.halving = halving
        self.halvingRate = halvingRate
        self.validationFraction = validationFraction
    }
}

/// One trial: a point of the space and its validation score on each fold it was scored on.
public struct TuningTrial: Sendable, Codable, Equatable {
    public var overrides: [String: String]
    public var spec: String
    public var foldScores: [Double]
    public var score: Double { foldScores.isEmpty ? .nan : foldScores.reduce(0, +) / Double(foldScores.count) }
}

/// A finished search: every trial, the winner and what it scored on validation.
public struct TuningRecord: Sendable, Codable, Equatable {
    public var strategy: String
    /// The winner's column in the comparison that follows.
    public var label: String
    public var space: String
    public var metric: String
    public var higherIsBetter: Bool
    public var options: TuningOptions
    public var trials: [TuningTrial]
    /// Index into `trials`.
    public var best: Int
    public var seconds: Double

    public var winner: TuningTrial { trials[best] }
}

/// The search loop, independent of what a trial costs: `score(point, fold)` returns the validation
/// score of a point on one training fold. With `halving`, later folds only see the survivors.
public enum Tuner {
    public static func search(_ space: SearchSpace, options: TuningOptions, folds: Int, higherIsBetter: Bool,
                              isInteger: (String) -> Bool, progress: ((Int, Double?) -> Void)? = nil,
                              score: ([String: String], Int) throws -> Double) throws -> (trials: [TuningTrial], best: Int) {
        guard options.trials >= 1, options.trials <= 10_000 else { throw EvaluationError("--trials must be in 1…10000, got \(options.trials)") }
        guard folds >= 1 else { throw EvaluationError("tuning needs at least one training fold") }
        var points: [[String: String]]
        switch options.method {
        case .grid:
            guard let size = space.gridSize else {
                throw EvaluationError("grid search needs every searched setting as a list [a,b,…]; use --search random for ranges")
            }
            guard size <= 10_000 else { throw EvaluationError("the grid has \(size) points (at most 10000)") }
            points = space.grid()
        case .random:
            var rng = SeededGenerator(seed: options.seed)
            points = []
            var seen = Set<[String: String]>()
            // Distinct points where the space has enough; a small space gives fewer trials.
            var attempts = 0
            while points.count < options.trials, attempts < options.trials * 20 {
                attempts += 1
                let p = space.draw(using: &rng, isInteger: isInteger)
                if seen.insert(p).inserted { points.append(p) }
            }
        }
        var trials = points.map { TuningTrial(overrides: space.overrides($0), spec: "", foldScores: []) }
        func better(_ a: Double, _ b: Double) -> Bool {
            if a.isNaN { return false }
            if b.isNaN { return true }
            return higherIsBetter ? a > b : a < b
        }
        var alive = Array(trials.indices)
        var done = 0
        var bestSoFar: Double?
        for fold in 0..<folds {
            for t in alive {
                let s = try score(trials[t].overrides, fold)
                trials[t].foldScores.append(s)
                done += 1
                if fold == folds - 1 || options.halving {
                    if bestSoFar.map({ better(trials[t].score, $0) }) ?? !trials[t].score.isNaN { bestSoFar = trials[t].score }
                }
                progress?(done, bestSoFar)
            }
            if options.halving, fold < folds - 1 {
                let keep = max(1, alive.count / max(options.halvingRate, 2))
                alive = alive.sorted { better(trials[$0].score, trials[$1].score) || (!better(trials[$1].score, trials[$0].score) && $0 < $1) }
                alive = Array(alive.prefix(keep)).sorted()
            }
        }
        // Ties go to the earlier trial; only trials that saw every fold can win.
        let finalists = trials.indices.filter { trials[$0].foldScores.count == folds }
        let best = finalists.reduce(finalists[0]) { better(trials[$1].score, trials[$0].score) ? $1 : $0 }
        return (trials, best)
    }

    /// Every user with at least two training interactions holds out `fraction` of them (at least
    /// one, chosen at random): the validation part of one training fold. Carved from `train`
    /// alone, so it never holds a test interaction.
    public static func validationSplit(of train: RatingMatrix, fraction: Double, seed: UInt64) -> TrainTestSplit {
        var rng = SeededGenerator(seed: seed)
        var kept: [RatingTriple] = [], held: [RatingTriple] = []
        kept.reserveCapacity(train.ratingCount)
        // External-id order, as the evaluator's splits, so one seed gives one split however loaded.
        let users = (0..<Int32(train.userCount)).sorted { train.users[$0] < train.users[$1] }
        for u in users {
            let range = train.byUser.range(u)
            var positions = Array(range).sorted { train.items[train.byUser.columns[$0]] < train.items[train.byUser.columns[$1]] }
            let out = positions.count >= 2 ? max(1, Int((Double(positions.count) * fraction).rounded())) : 0
            positions.shuffle(using: &rng)
            for (k, p) in positions.enumerated() {
                let t = RatingTriple(user: u, item: train.byUser.columns[p], value: train.byUser.values[p], timestamp: train.byUser.timestamps[p])
                if k < min(out, positions.count - 1) { held.append(t) } else { kept.append(t) }
            }
        }
        return TrainTestSplit(fold: 0, train: train.restricted(to: kept), test: train.restricted(to: held))
    }
}

/// Tunes a strategy on validation parts of the training folds and evaluates the winner once on the
/// test folds: the test interactions are never seen while choosing.
public struct StrategyTuning: Sendable {
    public var evaluation: Evaluation
    public var options: TuningOptions
    /// The metric chosen on, as the report names it (`NDCG@10`, `RMSE`, …).
    public var metric: String

    public init(evaluation: Evaluation, options: TuningOptions, metric: String) {
        self.evaluation = evaluation
        self.options = options
        self.metric = metric
    }

    public static func higherIsBetter(_ metric: String) -> Bool { !(metric == "RMSE" || metric == "MAE") }

    /// The cutoff a metric name implies (`NDCG@20` → 20), nil for rating metrics.
    public static func cutoff(of metric: String) throws -> Int? {
        if metric == "RMSE" || metric == "MAE" { return nil }
        let parts = metric.split(separator: "@")
        let known = ["P", "R", "NDCG", "MAP", "MRR", "HR"]
        guard parts.count == 2, known.contains(String(parts[0])), let n = Int(parts[1]), n >= 1, n <= 1000 else {
            throw EvaluationError("--metric '\(metric)': use RMSE, MAE or one of \(known.joined(separator: ", ")) with @N (N 1…1000), e.g. NDCG@10")
        }
        return n
    }

    /// Searches `space` on `folds`' training parts and returns the record (every trial).
    public func tune(_ space: SearchSpace, data: TrainingData, folds: [TrainTestSplit], registry: StrategyRegistry,
                     progress: ProgressReporter? = nil) throws -> TuningRecord {
        let type = try registry.named(space.name)
        let integer = Set(type.parameters.filter { if case .int = $0.defaultValue { true } else { false } }.map(\.name))
        for d in space.dimensions { _ = try Parameters.declaration(d.name, in: type.parameters, strategy: space.name) }
        let validations = folds.enumerated().map { k, fold in
            Tuner.validationSplit(of: fold.train, fraction: options.validationFraction, seed: options.seed &+ UInt64(k))
        }
        var inner = evaluation
        if let n = try Self.cutoff(of: metric) {
            inner.options.cutoff = n
            inner.options.ratingMetrics = false
        } else {
            inner.options.rankingMetrics = false
        }
        let higher = Self.higherIsBetter(metric)
        let start = Date()
        let (trials, best) = try Tuner.search(space, options: options, folds: validations.count, higherIsBetter: higher,
                                              isInteger: { integer.contains($0) },
                                              progress: { done, best in progress?.advance(detail: best.map { "best \(String(format: "%.4f", $0))" }) }) { point, fold in
            let candidate = try StrategyUnderTest.registered(space.name, overrides: point, in: registry)
            let report = try inner.run(TrainingData(ratings: folds[fold].train, itemEmbeddings: data.itemEmbeddings, feedback: data.feedback),
                                       folds: [validations[fold]], description: "validation part of training fold \(fold + 1)",
                                       strategies: [candidate], dataset: "validation")
            return report.strategies[0].metric(metric)?.value ?? .nan
        }
        progress?.finish()
        // Each trial as a spec to paste into evaluate, train or publish.
        let named = trials.map { t in
            var t = t
            t.spec = t.overrides.isEmpty ? space.name
                : space.name + ":" + t.overrides.keys.sorted().map { "\($0)=\(t.overrides[$0]!)" }.joined(separator: ",")
            return t
        }
        return TuningRecord(strategy: space.name, label: space.label ?? "\(space.name) (tuned)", space: spaceText(space), metric: metric, higherIsBetter: higher, options: options,
                            trials: named, best: best, seconds: Date().timeIntervalSince(start))
    }

    private func spaceText(_ space: SearchSpace) -> String {
        let dims = space.dimensions.map { d -> String in
            switch d.domain {
            case let .values(v): "\(d.name)=[\(v.joined(separator: ","))]"
            case let .linear(lo, hi): "\(d.name)=\(lo)..\(hi)"
            case let .log(lo, hi): "\(d.name)=log(\(lo)..\(hi))"
            }
        }
        return space.name + ":" + (space.fixed.keys.sorted().map { "\($0)=\(space.fixed[$0]!)" } + dims).joined(separator: ",")
    }
}

/// A comparison in which every strategy given as a search space is first tuned on validation
/// parts of the training folds, with the same budget, then all are evaluated once on the test
/// folds (`evaluate --tuned`, `tune`). Specs without searched settings are evaluated as given.
public struct TunedComparison: Sendable {
    public var tuning: StrategyTuning

    public init(tuning: StrategyTuning) { self.tuning = tuning }

    public struct Outcome: Sendable {
        public var report: EvaluationReport
        public var records: [TuningRecord]
    }

    public func run(_ specs: [String], data: TrainingData, dataset: String, registry: StrategyRegistry,
                    progress: (String, Int) -> ProgressReporter? = { _, _ in nil }) throws -> Outcome {
        let folds = try tuning.evaluation.split.splits(of: data.ratings)
        var records: [TuningRecord] = []
        let chosen = try specs.map { text -> StrategyUnderTest in
            let space = try SearchSpace.parse(text)
            guard space.isSearch else { return try StrategyUnderTest.parse(text, in: registry) }
            let total = (tuning.options.method == .grid ? space.gridSize ?? tuning.options.trials : tuning.options.trials) * folds.count
            let record = try tuning.tune(space, data: data, folds: folds, registry: registry, progress: progress("tuning \(space.name)", total))
            records.append(record)
            return try StrategyUnderTest.registered(space.name, overrides: record.winner.overrides, in: registry, label: record.label)
        }
        var report = try tuning.evaluation.run(data, strategies: chosen, dataset: dataset)
        report.splitDescription += "; settings tuned on validation parts of each training fold (\(tuning.options.validationFraction) of each training user's interactions), never on the test folds"
        return Outcome(report: report, records: records)
    }

    /// The searches beside the test scores of their winners: validation and test side by side,
    /// so the optimism of choosing on validation shows.
    public static func table(_ records: [TuningRecord], report: EvaluationReport, top: Int = 5) -> String {
        var out = ""
        for r in records {
            let test = report.strategies.first { $0.label == r.label }
            out += "\ntuned \(r.strategy) on \(r.metric) (\(r.higherIsBetter ? "higher" : "lower") is better): \(r.trials.count) trials, "
                + "\(r.options.method.rawValue) search\(r.options.halving ? " with successive halving (rate \(r.options.halvingRate))" : ""), "
                + String(format: "seed %llu, %.1f s\n", r.options.seed, r.seconds)
            out += "  space   \(r.space)\n  winner  \(r.winner.spec)\n"
            out += String(format: "  %@ validation %.4f", r.metric, r.winner.score)
            if let value = test?.metric(r.metric)?.value { out += String(format: " | test %.4f (difference %+.4f)", value, value - r.winner.score) }
            out += "\n"
            let ranked = r.trials.indices.filter { r.trials[$0].foldScores.count == r.winner.foldScores.count }
                .sorted { r.higherIsBetter ? r.trials[$0].score > r.trials[$1].score : r.trials[$0].score < r.trials[$1].score }
            out += renderTable(["trial", "validation", "setting"], ranked.prefix(top).map {
                [String($0 + 1), String(format: "%.4f", r.trials[$0].score), r.trials[$0].spec]
            }, rightAligned: [0, 1]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        return out
    }
}
