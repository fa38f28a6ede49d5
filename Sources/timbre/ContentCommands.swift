import ArgumentParser
import Foundation
import TimbreAudio
import TimbreAudioCatalog
import TimbreContent
import TimbreCore
import TimbreMusicnn
import TimbreNeural

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
            let set = try LabelledSet.scan(directory)
            let analysisStart = Date()
            var stored = [FeatureMatrix?](repeating: nil, count: set.tracks.count)
            if fromCatalog { stored = try ContentCommand.storedSequences(of: set, catalog: catalog) }
            // Only the tracks the catalog does not have are decoded.
            let missing = set.tracks.indices.filter { stored[$0] == nil }
            let progress = ProgressReporter("analyse", total: missing.count, unit: "tracks")
            let analysed = try TrackFeatures.analyse(LabelledSet(classNames: set.classNames, tracks: missing.map { set.tracks[$0] }),
                                                     progress: { progress.advance() })
            progress.finish()
            for (k, t) in missing.enumerated() { stored[t] = analysed.mfcc[k] }
            let features = TrackFeatures(set: set, mfcc: stored, skipped: analysed.skipped, configuration: analysed.configuration)
            if fromCatalog { note("\(set.tracks.count - missing.count) of \(set.tracks.count) tracks read from the catalog") }
            let analysisSeconds = Date().timeIntervalSince(analysisStart)

            // Fail before training, not after, when the catalog to store into is unreachable.
            let storeInto = store ? try catalog.connect() : nil
            let experiment = try ContentExperiment(features: features, seed: seed, segmentSource: segments)
            if let exportSegments { try SegmentExport.write(experiment, to: exportSegments) }
            let terminal = isatty(STDERR_FILENO) == 1
            let outcome = experiment.run(epochs: epochs, batchSize: batchSize, seed: seed) { epoch, record in
                guard terminal else { return }
                note(String(format: "epoch %3d/%d  loss %.4f  train %.3f  val %.3f  %.2f s", epoch + 1, epochs, record.loss,
                            record.trainingAccuracy, record.validationAccuracy ?? .nan, record.seconds))
            }
            if let out {
                let bytes = outcome.model.encode()
                try writeFileSafely(bytes, to: out)
            }
            var storedID: Int64? = nil
            if store {
                let report = outcome.report
                let parameters = try sortedJSON([
                    "epochs": String(epochs), "seed": String(seed), "batchSize": String(batchSize), "segments": segments.rawValue,
                ])
                let trainedOn = try sortedJSON(StoredTraining(
                    directory: URL(fileURLWithPath: directory).standardizedFileURL.path, classes: set.classNames, tracks: set.tracks.count,
                    keptEpoch: outcome.history.keptEpoch.map { $0 + 1 }, testSegmentAccuracy: report.segmentAccuracy,
                    testClipAccuracy: report.clipAccuracy))
                storedID = try ContentCatalog(db: storeInto!).save(outcome.model, parameters: parameters, trainedOn: trainedOn)
            }
            let baseline = ClipStatisticsBaseline(experiment, seed: seed)
            let retrieval = StyleRetrieval(experiment, classifier: outcome.model.classifier,
                                           pieceOfClip: experiment.test.clips.map { set.tracks[$0.track].variantStem })
            var summary = Summary(set: set, features: features, experiment: experiment, outcome: outcome, baseline: baseline,
                                  analysisSeconds: analysisSeconds, seed: seed, epochs: epochs, model: out)
            summary.storedModel = storedID
            summary.styleRetrieval = retrieval
            switch format {
            case .json: try printJSON(summary)
            case .table: print(summary.table)
            }
        }
    }

    /// The catalog's MFCC sequence of every file that `timbre audio ingest` stored, by content
    /// hash (files hashed on all cores); nil where the catalog has none, or one made with other
    /// settings than the content model's.
    static func storedSequences(of set: LabelledSet, catalog: CatalogOptions) throws -> [FeatureMatrix?] {
        let tracks = set.tracks
        let hashes = try concurrentChunks(tracks.count) { range in
            Result { () throws(AudioError) -> [[UInt8]] in try range.map { (t: Int) throws(AudioError) in try SHA256.digest(ofFile: tracks[t].path) } }
        }.flatMap { try $0.get() }
        let store = AudioCatalogStore(db: try catalog.connect())
        let wanted = MFCCConfiguration().coefficientCount
        return try hashes.map { hash in try store.mfcc(ofContent: hash).flatMap { $0.rowCount == wanted ? $0 : nil } }
    }

    /// Everything `content train` reports, in one Codable value for --format json.
    struct Summary: Encodable {
        struct Part: Encodable {
            var name: String; var clips: Int; var segments: Int; var clipsPerClass: [Int]
            /// Distinct pieces (variant groups) the clips come from, per class.
            var piecesPerClass: [Int]
        }
        struct Skipped: Encodable { var path: String; var reason: String }
        struct Epoch: Encodable { var loss: Double; var trainAccuracy: Double; var validationAccuracy: Double?; var seconds: Double }
        var classes: [String]
        var tracks: Int
        var skipped: [Skipped]
        var shortfalls: [String]
        var split: [Part]
        var seed: UInt64
        var epochs: [Epoch]
        var keptEpoch: Int?
        var secondsPerEpoch: Double
        var analysisSeconds: Double
        var parameters: Int
        var test: ClassificationReport
        /// Logistic regression on clip MFCC mean + std, same split (tells a hard split from a weak model).
        var baselineClipAccuracy: Double
        var model: String?
        /// Id in the catalog's trained_models, with --store.
        var storedModel: Int64?
        /// "More like this" among the test clips of other pieces: embeddings against MFCC statistics.
        var styleRetrieval: StyleRetrieval?

        init(set: LabelledSet, features: TrackFeatures, experiment: ContentExperiment, outcome: ContentExperiment.Outcome,
             baseline: ClipStatisticsBaseline, analysisSeconds: Double, seed: UInt64, epochs: Int, model: String?) {
            classes = set.classNames
            tracks = set.tracks.count
            skipped = features.skipped.map { Skipped(path: $0.path, reason: $0.reason) }
            shortfalls = experiment.split.shortfalls
            split = [("train", experiment.train), ("validation", experiment.validation), ("test", experiment.test)].map { name, part in
                Part(name: name, clips: part.clips.count, segments: part.sequences.count,
                     clipsPerClass: set.classNames.indices.map { c in part.clipLabels.filter { $0 == c }.count },
                     piecesPerClass: set.classNames.indices.map { c in
                         Set(part.clips.map { set.tracks[$0.track] }.filter { $0.label == c }.map(\.variantStem)).count
                     })
            }
            self.seed = seed
            self.epochs = outcome.history.epochs.map {
                Epoch(loss: $0.loss, trainAccuracy: $0.trainingAccuracy, validationAccuracy: $0.validationAccuracy, seconds: $0.seconds)
            }
            keptEpoch = outcome.history.keptEpoch.map { $0 + 1 }
            secondsPerEpoch = outcome.secondsPerEpoch
            self.analysisSeconds = analysisSeconds
            parameters = outcome.model.classifier.parameterCount
            test = outcome.report
            baselineClipAccuracy = baseline.testAccuracy
            self.model = model
        }

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
}

extension ContentExperiment.SegmentSource: ExpressibleByArgument {}

/// How a stored content model was trained (trained_models.trained_on).
struct StoredTraining: Encodable {
    var directory: String
    var classes: [String]
    var tracks: Int
    var keptEpoch: Int?
    var testSegmentAccuracy: Double
    var testClipAccuracy: Double
}

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

            The tracks to do are queued in embedding_queue and claimed in batches with FOR UPDATE \
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

        struct Report: Encodable {
            struct Skipped: Encodable { var item: Int64; var reason: String }
            var model: Int64
            var embedded: Int
            var skipped: [Skipped]
            var seconds: Double
            var labels: [String: Int]
        }

        func run() throws {
            let stored: StoredContentModel
            switch try chosenModel() {
            case let .musicnn(name, layer):
                return try runMusicnn(name, layer: layer)
            case let .content(id):
                let db = try catalog.connect()
                if try FactorContentCatalog(db: db).contentModelStrategy(id: id) == FactorContentCatalog.strategyName {
                    return try runFactors(db, model: id)
                }
                stored = try ContentCatalog(db: db).model(id: id)
            }
            let db = try catalog.connect()
            let pending = try ContentCatalog(db: db).enqueueMissing(model: stored.id)
            let progress = ProgressReporter("embed", total: pending, unit: "tracks")
            let started = Date()
            let catalog = catalog, batchSize = batchSize
            let tallies = onThreads(jobs) { _ in
                Result { try ContentCatalog(db: try catalog.connect()).embed(with: stored, batchSize: batchSize) { progress.advance(by: $0) } }
            }
            progress.finish()
            var tally = EmbeddingTally()
            for t in tallies { tally.add(try t.get()) }
            let seconds = Date().timeIntervalSince(started)
            let labels = try ContentCatalog(db: db).labelCounts(model: stored.id)
            let report = Report(model: stored.id, embedded: tally.embedded,
                                skipped: tally.skipped.map { Report.Skipped(item: $0.item, reason: $0.reason) },
                                seconds: seconds, labels: labels)
            switch format {
            case .json: try printJSON(report)
            case .table:
                for s in report.skipped { note("skipped item \(s.item): \(s.reason)") }
                print(String(format: "content model #%lld: %d tracks embedded in %.1f s (%.1f tracks/s), %d skipped",
                             stored.id, tally.embedded, seconds, Double(tally.embedded) / max(seconds, 1e-9), tally.skipped.count))
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

        struct Row: Encodable {
            var file: String
            var style: String
            var probability: Float
            var segments: Int
            /// Every class's mean probability, by class name.
            var probabilities: [String: Float]
        }

        func run() throws {
            let contentModel: ContentModel
            if let modelFile {
                guard let bytes = FileManager.default.contents(atPath: modelFile) else {
                    throw ValidationError("cannot read the model file \(modelFile)")
                }
                do { contentModel = try ContentModel(decoding: Array(bytes)) } catch {
                    throw ValidationError("\(modelFile): not a content model (\(error))")
                }
            } else {
                contentModel = try ContentCatalog(db: try catalog.connect()).model(id: model).model
            }
            let analyser = try TrackAnalyser()
            var rows: [Row] = [], failed = false
            for file in files {
                do {
                    let track = try analyser.analyse(path: file)
                    guard let description = contentModel.describe(track.mfcc, configuration: track.configuration) else {
                        note("\(file): " + (contentModel.reasonNotDescribed(track.mfcc, configuration: track.configuration) ?? "not describable"))
                        failed = true
                        continue
                    }
                    let label = description.label
                    rows.append(Row(file: file, style: contentModel.classNames[label], probability: description.probabilities[label],
                                    segments: description.segmentCount,
                                    probabilities: Dictionary(uniqueKeysWithValues: zip(contentModel.classNames, description.probabilities))))
                } catch {
                    note("\(error)")
                    failed = true
                }
            }
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
            if failed { throw ExitCode(1) }
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
