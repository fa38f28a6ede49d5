import ArgumentParser
import TimbreEvaluation

/// The search settings `evaluate --tuned` and `tune` share.
struct TuningArguments: ParsableArguments {
    @Option(help: "Trials per searched strategy (random search; a grid tries every point).")
    var trials = 20

    @Option(help: "grid (every point; lists only) or random (seeded draws; default).")
    var search: TuningOptions.Method = .random

    @Flag(help: "Successive halving: all trials on the first training fold's validation part, the best third go on to the next fold, and so on.")
    var halving = false

    @Option(help: "Metric the search maximises (minimises for RMSE/MAE): NDCG@N, P@N, R@N, MAP@N, MRR@N, HR@N, RMSE, MAE. Default NDCG at -n.")
    var tuneMetric: String?

    @Option(help: "Seed of the draws and of the validation parts (default 0).")
    var tuneSeed: UInt64 = 0

    @Option(help: "Share of each training user's interactions held out for validation.")
    var validationFraction = 0.2

    func validate() throws {
        guard (1...10_000).contains(trials) else { throw ValidationError("--trials must be in 1…10000, got \(trials)") }
        guard validationFraction > 0, validationFraction < 1 else {
            throw ValidationError("--validation-fraction must be between 0 and 1, got \(validationFraction)")
        }
    }

    func tuning(_ evaluation: Evaluation, cutoff: Int) throws -> StrategyTuning {
        let metric = tuneMetric ?? "NDCG@\(cutoff)"
        _ = try StrategyTuning.cutoff(of: metric)
        return StrategyTuning(evaluation: evaluation, options: TuningOptions(method: search, trials: trials, seed: tuneSeed, halving: halving,
                                                                             validationFraction: validationFraction), metric: metric)
    }
}

extension TuningOptions.Method: ExpressibleByArgument {}

/// `timbre tune`: `evaluate --tuned` for one search space, the form to find settings with.
struct Tune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search a strategy's settings on validation data, then evaluate the winner once on the test folds.",
        discussion: """
            timbre tune --strategy 'ials:factors=[32,64,128],weight=log(0.1..10),regularisation=log(0.01..10)' --trials 40 --metric NDCG@10

            Takes every option of `timbre evaluate` (--ratings FILE or the catalog, --split, --folds, --seed, -n, …) and the \
            search options (--trials, --search grid|random, --halving, --tune-seed, --validation-fraction). Each trial is scored on \
            a validation part carved out of every training fold (a share of each training user's interactions), never on a \
            test fold; the winner is then evaluated once on the test folds and printed as a spec to paste into evaluate, \
            train or publish, with its validation and test scores side by side. --metric is --tune-metric.
            """)

    @Argument(parsing: .allUnrecognized, help: "Options of `timbre evaluate` and the search options.")
    var arguments: [String] = []

    func run() throws {
        let renamed = arguments.map { $0 == "--metric" ? "--tune-metric" : $0 }
        var evaluate = try Evaluate.parse(["--tuned"] + renamed)
        try evaluate.run()
    }
}
