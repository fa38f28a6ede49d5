import Foundation
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import Bridge

/// Prints the issue-4 figures: MovieLens-100K accuracy beside Surprise/LensKit, evaluation and
/// top-N speed, and item-kNN on a synthetic catalogue with peak memory. Figures, not assertions.
///
///   CFBench ml100k                      accuracy + speed on MovieLens-100K
///   CFBench synthetic USERS ITEMS RATINGS   item-kNN fit + top-10 on a generated catalogue
///   CFBench eval kfold|holdout SPEC...  ad-hoc comparison, SPEC = name or name:key=value,key=value
///   CFBench factors                     ease and ials on MovieLens-100K beside the latent-factor anchors
///   CFBench factors-synthetic USERS ITEMS RATINGS   ials fit time and peak memory on a generated catalogue
///   CFBench bridge-speed [DIMENSION]     a new item's predicted factors (bridge), beside one user's scores

struct ProcessTimes {
    var cpu: Double, wall: ContinuousClock.Instant
    static func now() -> ProcessTimes {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
        return ProcessTimes(cpu: cpu, wall: ContinuousClock.now)
    }
    func since() -> (cpu: Double, wall: Double) {
        let n = ProcessTimes.now()
        let d = (n.wall - wall).components
        return (n.cpu - cpu, Double(d.seconds) + Double(d.attoseconds) * 1e-18)
    }
}

func peakMemoryMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024 // kilobytes on Linux
}

func strategy(_ spec: String) throws -> StrategyUnderTest {
    try .parse(spec, in: registeredStrategies)
}

let kfold = SplitSpec(.randomKFold(folds: 5), seed: 0)
let holdout = SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 0)

func ml100k() throws {
    let m = try MovieLensFixture.load()
    print("MovieLens-100K: \(m.userCount) users, \(m.itemCount) items, \(m.ratingCount) ratings; \(availableCores) cores\n")

    let ratingRun = try Evaluation(split: kfold, options: EvaluationOptions(rankingMetrics: false))
        .run(m, strategies: [try strategy("bias"), try strategy("user-knn"), try strategy("item-knn"), try strategy("biased-mf")], dataset: "ml-100k")
    print(ratingRun.table())
    let surprise = ["bias": (0.9440, 0.9450, "BaselineOnly"), "user-knn": (0.9797, 0.975, "KNNBasic user MSD k=40"),
                    "item-knn": (0.9222, 0.920, "KNNWithMeans item pearson_baseline k=40"),
                    "biased-mf": (0.9344, 0.905, "SVD defaults (SVD++ 0.919, README)")]
    print("5-fold RMSE      ours     Surprise 1.1.5 (goal)")
    for s in ratingRun.strategies {
        let (ref, goal, what) = surprise[s.name]!
        let ours = s.metric("RMSE")!.value
        print(String(format: "%-10@  %.4f   %.4f %@ (≤ %.3f) %@", s.label, ours, ref, what, goal, ours <= goal ? "met" : "MISSED"))
    }

    let rankingStrategies = try ["popularity", "user-knn:mode=implicit,similarity=cosine,centring=none,k=50,shrinkage=0,amplification=4",
                                 "item-knn:mode=implicit,similarity=cosine,centring=none,k=20,shrinkage=0", "bias", "bpr"].map(strategy)
    let rankingRun = try Evaluation(split: holdout, options: EvaluationOptions(ratingMetrics: false))
        .run(m, strategies: rankingStrategies, dataset: "ml-100k")
    print("\n" + rankingRun.table())
    let lenskit = ["popularity": (0.2137, 0.1122, 0.1885), "user-knn": (0.4156, 0.2290, 0.3494), "item-knn": (0.3420, 0.1909, 0.2787),
                   "bias": (0.0828, 0.0380, 0.0854), "bpr": (0.3733, 0.1996, 0.3174)]
    // LensKit's figures come from its own folds (seed 42) in another run; bpr's from FlexMF's BPR preset.
    print("holdout top-10   NDCG ours/LensKit   Recall ours/LensKit   P ours/LensKit")
    for s in rankingRun.strategies {
        let (n, r, p) = lenskit[s.name]!
        print(String(format: "%-12@  %.4f / %.4f     %.4f / %.4f       %.4f / %.4f", s.name,
                     s.metric("NDCG@10")!.value, n, s.metric("R@10")!.value, r, s.metric("P@10")!.value, p))
    }

    // One split is noisy (±0.005 NDCG between seeds), so also average seeds 0–4.
    print("\nholdout top-10, mean over split seeds 0-4: NDCG / Recall / P")
    var sums: [String: [Double]] = [:]
    for seed: UInt64 in 0..<5 {
        var split = holdout
        split.seed = seed
        let run = try Evaluation(split: split, options: EvaluationOptions(ratingMetrics: false)).run(m, strategies: rankingStrategies, dataset: "ml-100k")
        for s in run.strategies {
            let v = ["NDCG@10", "R@10", "P@10"].map { s.metric($0)!.value / 5 }
            sums[s.name] = zip(sums[s.name] ?? [0, 0, 0], v).map { $0 + $1 }
        }
    }
    for s in rankingRun.strategies {
        let (n, r, p) = lenskit[s.name]!, ours = sums[s.name]!
        print(String(format: "%-12@  %.4f / %.4f   %.4f / %.4f   %.4f / %.4f", s.name, ours[0], n, ours[1], r, ours[2], p))
    }

    // Latent-factor fit times per fold, beside the peers' (anchors.md: another run, LensKit's folds).
    let factorPeers = ["bpr": (7.4, "LensKit FlexMF BPR; implicit BPR 3.9"), "biased-mf": (1.1, "LensKit BiasedMF")]
    for (name, run) in [("bpr", rankingRun), ("biased-mf", ratingRun)] {
        let s = run.strategies.first { $0.name == name }!
        let (peer, what) = factorPeers[name]!
        print(String(format: "%@ fit %.2f s/fold wall (peer %.1f s/fold, %@; not the same run)", name,
                     s.timings.fitSeconds / 5, peer, what))
    }
    // threads=1 is the bit-for-bit reproducible setting; its cost against the sharded default.
    let oneThread = try Evaluation(split: holdout, options: EvaluationOptions(ratingMetrics: false))
        .run(m, strategies: [try strategy("bpr:threads=1")], dataset: "ml-100k").strategies[0]
    print(String(format: "bpr threads=1: NDCG@10 %.4f, fit %.2f s/fold wall", oneThread.metric("NDCG@10")!.value, oneThread.timings.fitSeconds / 5))

    // Speed: the whole 5-fold item-kNN evaluation (split, fit, predict, metrics) in process time.
    let itemKNN = try strategy("item-knn")
    _ = try Evaluation(split: kfold, options: EvaluationOptions(rankingMetrics: false)).run(m, strategies: [itemKNN], dataset: "warm-up")
    var t = ProcessTimes.now()
    let timed = try Evaluation(split: kfold, options: EvaluationOptions(rankingMetrics: false)).run(m, strategies: [itemKNN], dataset: "ml-100k")
    let whole = t.since()
    print(String(format: "\nitem-knn 5-fold evaluation (split + fit + 100 000 predictions + metrics): %.3f s process time, %.3f s wall (goal < 1 s process); fit %.3f s, predict %.3f s wall over 5 folds; RMSE %.4f",
                 whole.cpu, whole.wall, timed.strategies[0].timings.fitSeconds, timed.strategies[0].timings.predictSeconds,
                 timed.strategies[0].metric("RMSE")!.value))

    for spec in ["item-knn:mode=implicit,similarity=cosine,centring=none,k=20,shrinkage=0",
                 "user-knn:mode=implicit,similarity=cosine,centring=none,k=50,shrinkage=0,amplification=4", "item-knn"] {
        let s = try strategy(spec)
        t = ProcessTimes.now()
        let model = try s.strategy.fitAny(TrainingData(ratings: m))
        let fit = t.since()
        t = ProcessTimes.now()
        let lists = topNForAllUsers(model, m, n: 10)
        let top = t.since()
        print(String(format: "%@: fit on all ratings %.3f s wall; top-10 for all %d users %.3f s wall, %.3f s process (goal < 0.3 s)",
                     s.label, fit.wall, lists, top.wall, top.cpu))
    }
    print(String(format: "peak memory %.0f MiB", peakMemoryMiB()))
}

/// Top-N for every user with a profile, on all cores; returns how many lists were made.
func topNForAllUsers(_ model: any TrainedModel, _ m: RatingMatrix, n: Int) -> Int {
    let itemCount = m.itemCount
    return concurrentChunks(m.userCount) { users -> Int in
        var scores = [Float](repeating: 0, count: itemCount)
        var made = 0
        for u in users {
            let profile = m.profile(of: Int32(u))
            model.score(profile, into: &scores)
            made += topN(scores, n: n, excluding: profile.items).isEmpty ? 0 : 1
        }
        return made
    }.reduce(0, +)
}

func synthetic(users: Int, items: Int, ratings: Int, sample: Int) throws {
    print("synthetic catalogue: \(users) users, \(items) items, \(ratings) ratings requested; \(availableCores) cores")
    var t = ProcessTimes.now()
    let m = SyntheticCatalog(users: users, items: items, ratings: ratings, seed: 1).generate()
    var d = t.since()
    print(String(format: "generated %d ratings in %.1f s wall; peak memory so far %.0f MiB", m.ratingCount, d.wall, peakMemoryMiB()))
    let s = try strategy("item-knn:mode=implicit,similarity=cosine,centring=none,k=20,shrinkage=0")
    t = ProcessTimes.now()
    let model = try s.strategy.fitAny(TrainingData(ratings: m))
    d = t.since()
    print(String(format: "item-knn implicit k=20 fit: %.1f s wall, %.1f s process; model %.1f MiB; peak memory %.0f MiB",
                 d.wall, d.cpu, Double(encodeModel(model).count) / 1_048_576, peakMemoryMiB()))
    let sampleUsers = Swift.min(sample, m.userCount)
    t = ProcessTimes.now()
    let itemCount = m.itemCount, step = Swift.max(1, m.userCount / sampleUsers)
    let made = concurrentChunks(sampleUsers) { range -> Int in
        var scores = [Float](repeating: 0, count: itemCount)
        var made = 0
        for k in range {
            let profile = m.profile(of: Int32(k * step))
            model.score(profile, into: &scores)
            made += topN(scores, n: 10, excluding: profile.items).count
        }
        return made
    }.reduce(0, +)
    d = t.since()
    print(String(format: "top-10 for %d users: %.2f s wall (%.3f ms/user), %d items listed; peak memory %.0f MiB",
                 sampleUsers, d.wall, d.wall * 1000 / Double(sampleUsers), made, peakMemoryMiB()))

    // Explicit item-kNN with the registered defaults (baseline-centred cosine, 300 neighbours kept).
    let explicit = try strategy("item-knn")
    t = ProcessTimes.now()
    let explicitModel = try explicit.strategy.fitAny(TrainingData(ratings: m))
    d = t.since()
    print(String(format: "item-knn explicit (defaults, kept=300) fit: %.1f s wall, %.1f s process; model %.1f MiB; peak memory %.0f MiB",
                 d.wall, d.cpu, Double(encodeModel(explicitModel).count) / 1_048_576, peakMemoryMiB()))
    t = ProcessTimes.now()
    let predicted = concurrentChunks(sampleUsers) { range -> Int in
        var n = 0
        for k in range {
            let profile = m.profile(of: Int32(k * step))
            n += explicitModel.predictAll(profile, items: (0..<10).map { Int32(($0 * 4999 + k) % itemCount) }).compactMap { $0 }.count
        }
        return n
    }.reduce(0, +)
    d = t.since()
    print(String(format: "%d rating predictions (10 per user) in %.2f s wall, %d had enough neighbours; peak memory %.0f MiB",
                 sampleUsers * 10, d.wall, predicted, peakMemoryMiB()))
}

/// Issue 11's latent-factor figures: ease and ials on the seed-0 per-user holdout, beside the
/// peers' figures (docs/evaluation.md; the peers' numbers are on LensKit's own folds, so the same
/// run's user-knn line is the anchor that moves with the split).
func factors() throws {
    let m = try MovieLensFixture.load()
    print("MovieLens-100K: \(m.userCount) users, \(m.itemCount) items, \(m.ratingCount) ratings; \(availableCores) cores\n")
    let specs = ["ease", "ials", "ials-lenskit=ials:regularisation=0.1,iterations=10",
                 "user-knn-implicit=user-knn:mode=implicit,similarity=cosine,centring=none,k=50,shrinkage=0,amplification=4"]
    let run = try Evaluation(split: holdout, options: EvaluationOptions(ratingMetrics: false))
        .run(m, strategies: try specs.map(strategy), dataset: "ml-100k")
    print(run.table())
    let anchors = ["ease": "numpy EASE λ=500 0.4652 (LensKit folds; goal ≥ 0.46 and within 0.002 of numpy on these folds)",
                   "ials": "LensKit ImplicitMF best 0.4082, Gorse WRMF 0.416 (goal ≥ 0.42)",
                   "ials-lenskit": "LensKit ImplicitMF with these settings 0.4082",
                   "user-knn-implicit": "LensKit UserKNN implicit 0.4156"]
    print("holdout top-10     NDCG     P@10     fit s/fold   anchor")
    for s in run.strategies {
        print(String(format: "%@ %.4f   %.4f   %.3f        %@", s.label.padding(toLength: 18, withPad: " ", startingAt: 0), s.metric("NDCG@10")!.value, s.metric("P@10")!.value,
                     s.timings.fitSeconds / 5, anchors[s.label] ?? ""))
    }
    print(String(format: "peak memory %.0f MiB", peakMemoryMiB()))
}

/// ials on a generated catalogue (e.g. ML-25M's shape: 162541 59047 25000000): fit time and peak
/// memory, the issue's scale goal (≤ 90 s, ≤ 6 GiB).
func factorsSynthetic(users: Int, items: Int, ratings: Int) throws {
    var t = ProcessTimes.now()
    let m = SyntheticCatalog(users: users, items: items, ratings: ratings, seed: 1).generate()
    var d = t.since()
    print(String(format: "synthetic catalogue: %d users, %d items, %d ratings, generated in %.1f s; %d cores; peak memory so far %.0f MiB",
                 m.userCount, m.itemCount, m.ratingCount, d.wall, availableCores, peakMemoryMiB()))
    let s = try strategy("ials")
    t = ProcessTimes.now()
    let model = try s.strategy.fitAny(TrainingData(ratings: m))
    d = t.since()
    print(String(format: "ials (defaults: %@) fit: %.1f s wall, %.1f s process; peak memory %.0f MiB (goal ≤ 90 s, ≤ 6144 MiB)",
                 s.parameters.summary, d.wall, d.cpu, peakMemoryMiB()))
    t = ProcessTimes.now()
    let sample = Swift.min(1000, m.userCount), itemCount = m.itemCount
    _ = concurrentChunks(sample) { range -> Int in
        var scores = [Float](repeating: 0, count: itemCount)
        for u in range { model.score(m.profile(of: Int32(u)), into: &scores) }
        return 0
    }
    d = t.since()
    print(String(format: "fold-in + scores of every item for %d users: %.2f s wall (%.2f ms/user)", sample, d.wall, d.wall * 1000 / Double(sample)))
}

/// The cold-start bridge's cost for a new item: its predicted factors from its embedding once the
/// model is loaded (issue 13's goal: < 1 ms per item), beside scoring every item for one user with
/// the same model, measured in the same run. The embeddings are seeded Gaussian vectors: the cost
/// depends on their dimension only, not on what they hold.
func bridgeSpeed(dimension: Int) throws {
    let m = try MovieLensFixture.load()
    var rng = SeededGenerator(seed: 1)
    let vectors = (0..<m.itemCount * dimension).map { _ in Float(rng.gaussian()) }
    let data = TrainingData(ratings: m, itemEmbeddings: EmbeddingTable(dimension: dimension, vectors: vectors,
                                                                      present: .init(repeating: true, count: m.itemCount)))
    let s = try strategy("bridge:base=ials(factors=64)")
    var t = ProcessTimes.now()
    guard let model = try s.strategy.fitAny(data) as? Bridge.Model else { throw EvaluationError("bridge fitted something else") }
    print(String(format: "bridge (%@) fit on MovieLens-100K, %d-d embeddings: %.2f s wall", s.parameters.summary, dimension, t.since().wall))
    let calls = 100_000
    var checksum: Float = 0
    t = ProcessTimes.now()
    for c in 0..<calls {
        let start = (c % m.itemCount) * dimension
        checksum += model.predictedFactors(Array(vectors[start..<start + dimension]))[0]
    }
    let perItem = t.since().wall / Double(calls)
    let users = 1000
    var scores = [Float](repeating: 0, count: m.itemCount)
    t = ProcessTimes.now()
    for u in 0..<users { model.score(m.profile(of: Int32(u % m.userCount)), into: &scores); checksum += scores[0] }
    let perUser = t.since().wall / Double(users)
    print(String(format: "a new item's predicted factors: %.4f ms per item (goal < 1 ms); one user's scores over %d items: %.4f ms; ratio %.3f (checksum %.1f)",
                 perItem * 1000, m.itemCount, perUser * 1000, perItem / perUser, checksum))
}

func adHoc(_ args: ArraySlice<String>) throws {
    let m = try MovieLensFixture.load()
    guard let which = args.first else { throw EvaluationError("eval needs kfold or holdout") }
    // `kfold` or `holdout`, optionally with a seed: `holdout@7`.
    let parts = which.split(separator: "@")
    var split = parts[0] == "kfold" ? kfold : holdout
    if parts.count == 2, let seed = UInt64(parts[1]) { split.seed = seed }
    let options = parts[0] == "kfold" ? EvaluationOptions(rankingMetrics: false) : EvaluationOptions(ratingMetrics: false)
    let report = try Evaluation(split: split, options: options).run(m, strategies: args.dropFirst().map(strategy), dataset: "ml-100k")
    print(report.table())
}

let args = CommandLine.arguments.dropFirst()
do {
    switch args.first {
    case "ml100k", nil: try ml100k()
    case "synthetic":
        let n = args.dropFirst().compactMap { Int($0) }
        try synthetic(users: n.count > 0 ? n[0] : 1_000_000, items: n.count > 1 ? n[1] : 50_000,
                      ratings: n.count > 2 ? n[2] : 25_000_000, sample: n.count > 3 ? n[3] : 10_000)
    case "eval": try adHoc(args.dropFirst())
    case "factors": try factors()
    case "bridge-speed": try bridgeSpeed(dimension: args.dropFirst().first.flatMap { Int($0) } ?? 20)
    case "factors-synthetic":
        let n = args.dropFirst().compactMap { Int($0) }
        guard n.count == 3 else { throw EvaluationError("factors-synthetic needs USERS ITEMS RATINGS") }
        try factorsSynthetic(users: n[0], items: n[1], ratings: n[2])
    default: print("usage: CFBench [ml100k | synthetic USERS ITEMS RATINGS [SAMPLE_USERS] | eval kfold|holdout SPEC... | factors | factors-synthetic USERS ITEMS RATINGS | bridge-speed [DIMENSION]]")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
