import ArgumentParser
import Foundation
import TimbreAudio

/// `timbre audio …`: the audio front end (decode, MFCC, pictures, catalog ingest, benchmark).
struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Decode audio, compute librosa-equal MFCCs, draw tracks and ingest them into the catalog.",
        discussion: """
        Audio is decoded with libsndfile (WAV, FLAC, Ogg Vorbis, Opus, MP3), mixed down to mono by \
        the mean of its channels and resampled to 22 050 Hz with libsoxr at HQ quality, exactly as \
        librosa.load does. MFCCs equal librosa 0.11's feature.mfcc defaults to within 1e-3 absolute \
        or 1e-4 relative.
        """,
        subcommands: [MFCC.self, Plot.self, Ingest.self, Embed.self, Bench.self]
    )
}

/// Options shared by the commands that compute features.
struct FeatureOptions: ParsableArguments {
    @Option(name: .customLong("n-mfcc"), help: "Number of cepstral coefficients.")
    var coefficientCount = 20
    @Option(name: .customLong("n-mels"), help: "Number of mel bands.")
    var melBandCount = 128
    @Option(name: .customLong("n-fft"), help: "FFT length in samples (also the window length).")
    var fftSize = 2048
    @Option(name: .customLong("hop"), help: "Samples between successive frames.")
    var hopLength = 512
    @Option(name: .customLong("fmin"), help: "Lowest mel filter edge in Hz.")
    var minimumFrequency = 0.0
    @Option(name: .customLong("fmax"), help: "Highest mel filter edge in Hz (default: half the sample rate).")
    var maximumFrequency: Double?

    var mfccConfiguration: MFCCConfiguration {
        var configuration = MFCCConfiguration()
        configuration.coefficientCount = coefficientCount
        configuration.melBandCount = melBandCount
        configuration.fftSize = fftSize
        configuration.hopLength = hopLength
        configuration.minimumFrequency = minimumFrequency
        configuration.maximumFrequency = maximumFrequency
        return configuration
    }
}

/// Options choosing which part of a file is read.
struct ExcerptOptions: ParsableArguments {
    @Option(help: "Start reading this many seconds into the file.")
    var offset = 0.0
    @Option(help: "Read at most this many seconds (default: to the end).")
    var duration: Double?
}

extension AudioCommand {
    struct MFCC: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a file's MFCC matrix (rows = coefficients, columns = frames).",
            discussion: """
            Decodes FILE as librosa.load(FILE, sr=22050) does and prints \
            librosa.feature.mfcc(y, sr=22050) with the given parameters, one coefficient per row, \
            so the output can be diffed against librosa (scripts/librosa-reference.py compare).

            Formats: csv (comma-separated, one row per coefficient) or json \
            ({"shape": [coefficients, frames], "sample_rate": 22050, "hop_length": 512, "mfcc": [[…], …]}).

            EXAMPLES
              timbre audio mfcc song.ogg > song.csv
              timbre audio mfcc song.flac --offset 30 --duration 30 --format json
            """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

        @Argument(help: "Audio file (WAV, FLAC, Ogg Vorbis, Opus, MP3).")
        var file: String
        @OptionGroup var excerpt: ExcerptOptions
        @Option(help: "Output format: csv or json.")
        var format: Format = .csv
        @OptionGroup var features: FeatureOptions

        func run() throws {
            let configuration = features.mfccConfiguration
            let audio = try AudioDecoder(targetSampleRate: configuration.sampleRate)
                .decode(path: file, offset: excerpt.offset, duration: excerpt.duration)
            let matrix = try MFCCExtractor(configuration: configuration).mfcc(audio.samples)
            var text = ""
            text.reserveCapacity(matrix.values.count * 12)
            switch format {
            case .csv:
                for row in 0..<matrix.rowCount {
                    text += matrix.row(row).map { String($0) }.joined(separator: ",")
                    text += "\n"
                }
            case .json:
                text += "{\"shape\": [\(matrix.rowCount), \(matrix.columnCount)], "
                text += "\"sample_rate\": \(configuration.sampleRate), \"hop_length\": \(configuration.hopLength), \"mfcc\": ["
                text += (0..<matrix.rowCount).map { row in
                    "[" + matrix.row(row).map { String($0) }.joined(separator: ", ") + "]"
                }.joined(separator: ",\n ")
                text += "]}\n"
            }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

extension AudioCommand {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw a track: waveform (full scale) above its mel spectrogram (dBFS), with colour bar and time axis.",
            discussion: """
            Decodes FILE (22 050 Hz mono, as for MFCCs) and writes a PNG (libpng): the waveform \
            (min/max per pixel column) on a full-scale ±1 axis with its peak in dBFS on top, below it the \
            128-band Slaney mel power spectrogram in dBFS (0 = the strongest band of a full-scale 1 kHz \
            sine; colours from -90 to 0 dBFS, the same for every file, so two plots compare) with a magma \
            colour bar, frequency ticks in Hz and a time axis in seconds.

            EXAMPLE
              timbre audio plot song.ogg --out song.png --duration 60
            """
        )

        @Argument(help: "Audio file.")
        var file: String
        @Option(help: "Output PNG path.")
        var out: String
        @OptionGroup var excerpt: ExcerptOptions
        @Option(parsing: .unconditional, help: "Image width in pixels (300 to 20000).")
        var width = 1200
        @OptionGroup var features: FeatureOptions

        func validate() throws {
            guard out.lowercased().hasSuffix(".png") else { throw ValidationError("--out must name a .png file (only PNG output is supported)") }
            try requireInRange(width, "--width", 300...20_000)
        }

        func run() throws {
            let configuration = features.mfccConfiguration
            let audio = try AudioDecoder(targetSampleRate: configuration.sampleRate)
                .decode(path: file, offset: excerpt.offset, duration: excerpt.duration)
            let extractor = try MFCCExtractor(configuration: configuration)
            var plot = TrackPlot()
            plot.width = width
            let title = URL(fileURLWithPath: file).lastPathComponent
                + String(format: "  %.1f s, %d Hz, %d ch, %@", audio.sourceDuration, audio.sourceSampleRate,
                         audio.sourceChannelCount, audio.sourceFormat.description)
            let image = plot.render(samples: audio.samples, sampleRate: audio.sampleRate,
                                    melDB: extractor.melSpectrogramDB(audio.samples), referenceDB: extractor.fullScaleReferenceDB(),
                                    filterbank: extractor.filterbank, title: title)
            try PNGWriter().write(image, to: out)
        }
    }
}
