import ArgumentParser
import Foundation
import TimbreCore
import TimbreMusicnn
import TimbreTerminal

extension AudioCommand {
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print pretrained musicnn embeddings or tags of audio files (mean over their 3 s patches).",
            discussion: """
            Runs musicnn (Pons & Serra 2019; the MSD_musicnn / MTT_musicnn checkpoints of the \
            musicnn 0.1.0 wheel, fetched by scripts/fetch-musicnn) without TensorFlow: audio decoded \
            and resampled to 16 kHz as librosa.load does, 96-band log-mel patches of 187 frames, the \
            network on every whole patch, and the mean over the patches of the chosen layer. Equal to \
            musicnn's TensorFlow reference (with its float16 log overflow avoided by a float32 log) \
            within 1e-3 relative or 1e-4 absolute; scripts/musicnn-reference.py embed prints the \
            reference's vectors in the same CSV layout.

            Layers: penultimate (200), mean_pool (753), max_pool (753), tags (50 probabilities).
            Formats: csv (header file,patches,<dimensions>; one row per file; the tag names are the \
            dimensions of the tags layer) or json (a list of {file, model, layer, patches, names?, values}).

            EXAMPLES
              timbre audio embed song.ogg --model musicnn-mtt
              timbre audio embed *.ogg --model musicnn-msd --layer tags --format json
            """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

        @Argument(help: "Audio files of at least 3 s (WAV, FLAC, Ogg Vorbis, Opus, MP3).")
        var files: [String]
        @Option(help: "musicnn-msd or musicnn-mtt.")
        var model: String = MusicnnModelName.msd.rawValue
        @Option(help: "penultimate, mean_pool, max_pool or tags.")
        var layer: String = MusicnnLayer.penultimate.rawValue
        @Option(help: "csv or json.")
        var format: Format = .csv
        @Option(help: "Folder printed by scripts/fetch-musicnn (default: $TIMBRE_MUSICNN_DIR or ~/.cache/timbre/musicnn).")
        var weights: String?
        @Option(help: "Threads (patches are spread over them).")
        var threads: Int = availableCores

        struct Row: Encodable {
            var file: String
            var model: String
            var layer: String
            var patches: Int
            var names: [String]?
            var values: [Float]
        }

        func validate() throws {
            do {
                _ = try MusicnnModelName(parsing: model)
                _ = try MusicnnLayer(parsing: layer)
            } catch { throw ValidationError(error.description) }
            guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        }

        func run() throws {
            let name = try MusicnnModelName(parsing: model)
            let chosen = try MusicnnLayer(parsing: layer)
            let embedder = try MusicnnEmbedder(model: name, weightsDirectory: weights ?? MusicnnEmbedder.defaultWeightsDirectory)
            // Every file first, so a bad one stops the command before anything is printed.
            let rows = try files.map { file in
                let embedding = try embedder.embed(path: file, workers: threads)
                return Row(file: file, model: name.rawValue, layer: chosen.rawValue, patches: embedding.patches.count,
                           names: chosen == .tags ? name.tags : nil, values: embedding.mean(chosen))
            }
            switch format {
            case .json:
                try printJSON(rows)
            case .csv:
                let names = chosen == .tags ? name.tags : (0..<chosen.width).map { "\(chosen.rawValue)_\($0)" }
                var text = (["file", "patches"] + names).map(csvField).joined(separator: ",") + "\n"
                for row in rows {
                    text += ([csvField(row.file), String(row.patches)] + row.values.map { String($0) }).joined(separator: ",") + "\n"
                }
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }
}
