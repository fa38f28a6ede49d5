import ArgumentParser
import Foundation
import TimbreAudioCatalog
import TimbreContentCatalog
import TimbreCatalog
import TimbreContent
import TimbreCore
import TimbreInterchange

/// What `content train` teaches the network.
enum TrainingTarget: String, ExpressibleByArgument, CaseIterable {
    case labels, factors
}

extension ContentCommand.Train {
    /// `content train --target factors`: the library trains and stores; this prints.
    func runFactors() throws {
        guard let choice = EmbeddingChoice(factors) else {
            throw ValidationError("--factors '\(factors)': a set id, a set name or latest:cf-factors")
        }
        let set = try LabelledSet.scan(directory)
        var training = FactorTraining(epochs: epochs, seed: seed)
        training.batchSize = batchSize
        let terminal = isatty(STDERR_FILENO) == 1
        let (model, report) = try FactorContentCatalog(db: try catalog.connect())
            .train(set, factors: choice, training: training, weightByPlays: weightByPlays, store: store) { epoch, record in
                guard terminal else { return }
                note(String(format: "epoch %3d/%d  loss %.4f  validation MSE %.4f  %.2f s", epoch + 1, epochs, record.loss,
                            record.validationError ?? .nan, record.seconds))
            }
        if let out { try writeFileSafely(model.encode(), to: out) }
        switch format {
        case .json: try printJSON(report)
        case .table:
            for path in report.notIngested { note("not in the catalog (run `timbre audio ingest` first): \(path)") }
            print("""
                factors of set #\(report.factorSet) (\(report.factorDimension) values): \(report.trainingTracks) training and \
                \(report.validationTracks) validation tracks (split by piece) of \(report.tracks); \(report.withoutFactors) ingested \
                tracks without factors (no plays), \(report.notIngested.count) not ingested\(report.weightedByPlays ? "; weighted by plays" : "")
                kept epoch \(report.keptEpoch.map(String.init) ?? "-") of \(report.epochLosses.count)
                """)
            print(String(format: "validation MSE per factor value %.5f; predicting the mean row %.5f", report.validationError, report.meanRowError))
            if let out { print("model written to \(out)") }
            if let id = report.storedModel { print("model stored in the catalog as #\(id) (`timbre content embed` stores its predicted factors)") }
        }
    }
}
