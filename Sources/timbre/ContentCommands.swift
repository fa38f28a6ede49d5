import ArgumentParser
import Foundation
import TimbreAudio
import TimbreAudioCatalog
import TimbreContentCatalog
import TimbreContent
import TimbreCore
import TimbreMusicnn
import TimbreNeural
import TimbreTerminal

/// `timbre content …`: the MFCC → LSTM content model.
struct ContentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "content",
        abstract: "Train and evaluate the MFCC → LSTM content model on labelled audio folders.",
        subcommands: [Train.self, Embed.self, Classify.self, EmbedMetadata.self]
    )
}

extension ContentCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the content classifier on DIR/<class>/… audio and report test accuracy.",
            discussion: """
            Each sub-folder of DIR is a class; its audio files (recursively) are its tracks. Every \
            track is decoded and analysed (22 050 Hz mono, 20 MFCCs, on all cores); files that fail or \
            are silent are skipped and listed. Tracks are cut into non-overlapping 30 s clips and split \
            by piece of music (variants such as track3 / track3_enhanced stay together; see \
            docs/content-model.md), per class 56 / 12 / 12 clips for train / validation / test, seeded. \
            Each clip gives ten 3 s segments (130 frames × 20 coefficients), standardised per \
            coefficient with training statistics.

            Model: LSTM(64) → LSTM(64) → Dense(64, ReLU) → Dropout(0.3) → Dense(classes), Adam 1e-3, \
            keeping the epoch with the best validation segment accuracy. Reported: test accuracy per \
            segment and per clip (argmax of the mean of its segments' softmax), per-class recall, the \
            clip confusion matrix and seconds per epoch. Per-epoch lines go to stderr when it is a terminal.

            EXAMPLE
              timbre content train ~/soundtracks --epochs 50 --seed 0 --out content.model
            """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

        @Argument(help: "Folder with one sub-folder of audio files per class.")
        var directory: String
        @Option(help: "Training epochs.")
        var epochs = 50
        @Option(help: "Where segments come from: track (cut from each track's MFCC sequence, as stored in the catalog) or excerpt (each 3 s excerpt analysed on its own, the reference protocol).")
        var segments: ContentExperiment.SegmentSource = .track
        @Option(name: .customLong("batch-size"), help: "Mini-batch size in segments.")
        var batchSize = 32
        @Option(help: "Seed of the split, the initial weights, the shuffling and dropout.")
        var seed: UInt64 = 0
        @Option(help: "Write the trained model (classifier, standardisation, class names) to this file.")
        var out: String?
        @Option(help: "Output format: table or json.")
        var format: Format = .table
        @Flag(help: "Store the trained model in the catalog (trained_models, strategy content-lstm) for `timbre content embed`.")
        var store = false
        @Flag(name: .customLong("from-catalog"),
              help: "Read each file's MFCC sequence from the catalog (stored by `timbre audio ingest`, matched by content hash) instead of decoding it; files not in the catalog are analysed.")
        var fromCatalog = false
        @Option(name: .customLong("export-segments"),
                help: "Also write the standardised train/validation/test segments, labels and clip indices as NumPy .npy files to this folder (to train another framework on exactly the same data).")
        var exportSegments: String?
        @Option(help: "What the model learns: labels (the class folders) or factors (the CF item factors of the tracks with plays, van den Oord 2013; needs the tracks ingested and a cf-factors set).")
        var target: TrainingTarget = .labels
        @Option(help: "With --target factors: the cf-factors embedding set to regress (id, name or latest:cf-factors; `timbre train ials --store-factors`).")
        var factors = "latest:cf-factors"
        @Flag(name: .customLong("weight-by-plays"), help: "With --target factors: weight each track's squared error by 1 + log(1 + its play count).")
        var weightByPlays = false
        @OptionGroup var catalog: CatalogOptions

        func validate() throws {
            try requireInRange(epochs, "--epochs", 1...100_000)
            try requireInRange(batchSize, "--batch-size", 1...65_536)
        }

        func run() throws {
            if target == .factors { return try runFactors() }
            var request = ContentTrainingRequest(directory: directory)
            request.epochs = epochs
            request.segments = segments
            request.batchSize = batchSize
            request.seed = seed
            request.fromCatalog = fromCatalog
            request.store = store
            request.modelFile = out
            request.exportSegments = exportSegments
            let terminal = isatty(STDERR_FILENO) == 1, epochs = epochs
            let summary = try ContentTrainer(connect: { try catalog.connect() }).train(request) { epoch, record in
                guard terminal else { return }
                note(String(format: "epoch %3d/%d  loss %.4f  train %.3f  val %.3f  %.2f s", epoch + 1, epochs, record.loss,
                            record.trainingAccuracy, record.validationAccuracy ?? .nan, record.seconds))
            }
            if let fromCatalog = summary.tracksFromCatalog { note("\(fromCatalog) of \(summary.tracks) tracks read from the catalog") }
            switch format {
            case .json: try printJSON(summary)
            case .table: print(summary.table)
            }
        }
    }
}

/// The table `content train` prints.
extension ContentTrainingSummary {
    var table: String {
        func f(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }
        var lines: [String] = []
        lines.append("\(tracks) tracks in \(classes.count) classes; analysed in \(f(analysisSeconds, 1)) s")
        for s in skipped { lines.append("skipped: \(s.reason)") }
        for s in shortfalls { lines.append("short: \(s)") }
        lines.append("")
        lines.append("clips per class (pieces they come from):")
        lines.append(renderTable(["part", "clips", "segments"] + classes,
                                 split.map { part in
                                     [part.name, String(part.clips), String(part.segments)]
                                         + zip(part.clipsPerClass, part.piecesPerClass).map { "\($0) (\($1))" }
                                 }, rightAligned: Set(1..<(3 + classes.count))))
        lines.append("")
        let best = keptEpoch.map { e in "epoch \(e) of \(epochs.count) (validation \(f(epochs[e - 1].validationAccuracy ?? 0)))" } ?? "-"
        lines.append("seed \(seed), \(parameters) parameters, kept \(best), \(f(secondsPerEpoch, 2)) s/epoch")
        lines.append("test accuracy: segment \(f(test.segmentAccuracy)), clip \(f(test.clipAccuracy))")
        lines.append("baseline (logistic regression on clip MFCC mean + std, same split): clip \(f(baselineClipAccuracy))")
        if let r = styleRetrieval {
            lines.append("more like this (test clips, other pieces), same-class share of the \(r.k) nearest: embeddings \(f(r.embeddingPrecision)), "
                         + "MFCC mean + std \(f(r.statisticsPrecision)), chance \(f(r.chance))")
        }
        lines.append("")
        lines.append(renderTable(["class", "segment recall", "clip recall"] + classes.map { "→ " + $0 },
                                 classes.indices.map { c in
                                     [classes[c], f(test.segmentRecall[c]), f(test.clipRecall[c])] + test.clipConfusion[c].map(String.init)
                                 }, rightAligned: Set(1..<(3 + classes.count))))
        if let model { lines.append("\nmodel written to \(model)") }
        if let storedModel { lines.append("\nmodel stored in the catalog as #\(storedModel) (`timbre content embed` uses the newest)") }
        return lines.joined(separator: "\n")
    }
}

extension ContentExperiment.SegmentSource: ExpressibleByArgument {}

extension ContentCommand {
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store every ingested track's content embedding and style label in the catalog.",
            discussion: """
            For each item with a stored MFCC sequence (`timbre audio ingest`) and no embedding from \
            the model yet, the track is cut into its 3 s segments, the content model (the newest \
            stored by `content train --store`, or --model) runs on them, and the item gets the mean \
            of the segments' embeddings (last LSTM layer's final hidden state) in item_embeddings, \
            with its most probable class and that probability as its style label. Strategies such as \
            `content` and `hybrid` then use these vectors, also for items nobody has rated yet.

            The tracks to do are queued in the catalog's work_queue and claimed in batches with FOR UPDATE \
            SKIP LOCKED (on that small table only, so it also holds under Citus), so any number of workers \
            (--jobs threads, or several processes on several machines sharing the catalog) split it; \
            each batch is written in the transaction that claimed it, so a killed worker loses only \
            its batch, which a worker running then or later (a rerun) takes. A rerun embeds only what \
            is missing. Tracks the model cannot read (shorter than 3 s, analysed with other MFCC \
            settings, unreadable) are reported by item id with the reason and skipped.

            --model musicnn-msd|musicnn-mtt stores the pretrained musicnn network's embedding \
            instead (layer --layer, default penultimate; set name musicnn-mtt etc., kind \
            audio-model) and each track's tags in its metadata (musicnn_mtt_tags: top 5; \
            musicnn_mtt_tag_probabilities: all 50). It decodes each track's file again from the \
            ingested path; a file gone or changed since ingest is reported for that track. \
            Details: docs/musicnn.md.
            """
        )

        @Option(help: "Content model id in trained_models (default: the newest content model), or musicnn-msd / musicnn-mtt for the pretrained musicnn network (see `timbre audio embed`).")
        var model: String?
        @Option(help: "With a musicnn model: the layer stored, penultimate (200), mean_pool (753), max_pool (753) or tags (50).")
        var layer: String?
        @Option(help: "With a musicnn model: the folder printed by scripts/fetch-musicnn (default: $TIMBRE_MUSICNN_DIR or ~/.cache/timbre/musicnn).")
        var weights: String?
        @Option(name: .customLong("jobs"), help: "Worker threads, each with its own connection.")
        var jobs = 1
        @Option(name: .customLong("batch-size"), help: "Tracks claimed per transaction.")
        var batchSize = 16
        @Option(help: "Output format: table or json.")
        var format: Train.Format = .table
        @OptionGroup var catalog: CatalogOptions

        func validate() throws {
            try requireInRange(jobs, "--jobs", 1...256)
            try requireInRange(batchSize, "--batch-size", 1...65_536)
            _ = try chosenModel()
        }

        enum ChosenModel {
            case content(Int64?)
            case musicnn(MusicnnModelName, MusicnnLayer)
        }

        func chosenModel() throws -> ChosenModel {
            guard let model, !model.allSatisfy(\.isNumber) else {
                guard layer == nil && weights == nil else { throw ValidationError("--layer and --weights go with --model musicnn-msd or musicnn-mtt") }
                return .content(try model.map { text in
                    guard let id = Int64(text), id > 0 else { throw ValidationError("--model \(text): not a content model id") }
                    return id
                })
            }
            do {
                return .musicnn(try MusicnnModelName(parsing: model), try MusicnnLayer(parsing: layer ?? MusicnnLayer.penultimate.rawValue))
            } catch {
                throw ValidationError("--model/--layer: \(error.description); --model also takes a content model id")
            }
        }

        func run() throws {
            let id: Int64?
            switch try chosenModel() {
            case let .musicnn(name, layer): return try runMusicnn(name, layer: layer)
            case let .content(chosen): id = chosen
            }
            let catalog = catalog
            let report = try ContentEmbedder(connect: { try catalog.connect() }).embed(model: id, jobs: jobs, batchSize: batchSize)
            switch format {
            case .json: try printJSON(report)
            case .table:
                for s in report.skipped { note("skipped item \(s.item): \(s.reason)") }
                if report.strategy == FactorContentCatalog.strategyName {
                    print(String(format: "factor content model #%lld: predicted factors of %d tracks stored (set kind predicted-factors) in %.1f s, %d skipped",
                                 report.model, report.embedded, report.seconds, report.skipped.count))
                    return
                }
                print(String(format: "content model #%lld: %d tracks embedded in %.1f s (%.1f tracks/s), %d skipped",
                             report.model, report.embedded, report.seconds, Double(report.embedded) / max(report.seconds, 1e-9),
                             report.skipped.count))
                let labels = report.labels
                print("style labels of all its embedded tracks: " + labels.keys.sorted().map { "\($0) \(labels[$0]!)" }.joined(separator: ", "))
            }
        }
    }
}

extension ContentCommand {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the style of audio files according to a content model.",
            discussion: """
            Each file is decoded and analysed like `timbre audio mfcc` does, cut into its 3 s \
            segments, and classified: the style is the class with the highest mean softmax \
            probability over the segments (the same rule as the clip accuracy of `content train` \
            and the labels `content embed` stores). The model is a file written by `content train \
            --out`, or a stored one (the newest, or --model ID). A file that cannot be read or is \
            shorter than 3 s is reported on stderr with its path and reason; the others are still \
            printed, and the exit status is 1.
            """
        )

        @Argument(help: "Audio files.")
        var files: [String]
        @Option(name: .customLong("model-file"), help: "A model file written by `content train --out` (instead of the catalog).")
        var modelFile: String?
        @Option(help: "Stored content model id (default: the newest in the catalog).")
        var model: Int64?
        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table
        @OptionGroup var catalog: CatalogOptions

        func run() throws {
            let contentModel = try modelFile.map(ContentModel.init(file:))
                ?? ContentCatalog(db: try catalog.connect()).model(id: model).model
            let (rows, failures) = try contentModel.classify(files: files)
            for failure in failures { note(failure) }
            switch format {
            case .json: try printJSON(rows)
            case .csv:
                print((["file", "style", "probability", "segments"] + contentModel.classNames).joined(separator: ","))
                for r in rows {
                    print(([csvField(r.file), csvField(r.style), "\(r.probability)", "\(r.segments)"]
                           + contentModel.classNames.map { "\(r.probabilities[$0]!)" }).joined(separator: ","))
                }
            case .table:
                print(renderTable(["file", "style", "probability", "segments"],
                                  rows.map { [$0.file, $0.style, String(format: "%.3f", $0.probability), String($0.segments)] },
                                  rightAligned: [2, 3]))
            }
            if !failures.isEmpty { throw ExitCode(1) }
        }
    }
}

extension ContentCommand {
    struct EmbedMetadata: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed-metadata",
            abstract: "Store item vectors made from a metadata field (e.g. genres) as embeddings.",
            discussion: """
            Every item whose items.metadata has FIELD (a JSON array of values, or one value) gets the \
            multi-hot vector of its values over all values the field takes in the catalog, stored in \
            item_embeddings under a model `item-metadata` (parameters: the field and the value list). \
            Content-based and hybrid strategies can then run on catalogs without audio, e.g. \
            MovieLens with its genres. A rerun reuses the model and adds only missing items; a value \
            never seen before makes a new model. One transaction.

            EXAMPLE
              timbre content embed-metadata genres
            """
        )

        @Argument(help: "Metadata field, e.g. genres.")
        var field: String
        @OptionGroup var catalog: CatalogOptions

        func run() throws {
            let result = try catalog.connect().embedMetadata(field: field)
            print("model #\(result.model) (\(result.field), \(result.values.count) values): \(result.embedded) items embedded now, "
                  + "\(result.items) in all")
        }
    }
}
