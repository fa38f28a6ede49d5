import ArgumentParser
import Foundation
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog

extension AudioCommand {
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode audio files and store their MFCC sequences in the catalog.",
            discussion: """
            Walks each PATH (files, or folders recursively; in folders only audio extensions — wav, \
            flac, ogg, oga, opus, mp3, aif(f), au, w64, caf — unless --all-files). Each file is \
            identified by the SHA-256 of its bytes: a track already in audio_features is skipped, so a \
            renamed or moved file is not a new track and a rerun only does what is missing. Otherwise \
            an item "audio:sha256:<hex>" is created if new and its duration, sample rate, channels, \
            format, hash and MFCC sequence (Float32 little-endian, coefficients × frames) are stored, \
            each track in its own transaction: a killed run loses at most the tracks in flight.

            Files that are corrupt, truncated, empty, silent, not audio or unsupported are reported \
            with their path and reason; the batch goes on. Progress (tracks, audio-hours per second, \
            ETA) is shown on stderr when it is a terminal. Several `timbre audio ingest` processes \
            may run against one catalog at once: the unique content hash makes concurrent inserts safe.

            EXIT STATUS
              0 if every file was stored or already present, 1 if any failed.
            """
        )

        @Argument(help: "Audio files or folders.")
        var paths: [String]
        @OptionGroup var catalog: CatalogOptions
        @Option(name: .customLong("jobs"), help: "Worker threads (default: all cores).")
        var jobs = ProcessInfo.processInfo.activeProcessorCount
        @Flag(help: "In folders, try every file, not only audio extensions.")
        var allFiles = false
        @OptionGroup var features: FeatureOptions

        func run() throws {
            let files = IngestPipeline.files(in: paths, allFiles: allFiles)
            guard !files.isEmpty else { throw ValidationError("no audio files found in \(paths.joined(separator: ", "))") }
            // Fail fast on a missing or unmigrated catalog before starting workers.
            _ = try catalog.connect()
            let catalog = catalog
            let meter = ProgressMeter(enabled: isatty(STDERR_FILENO) == 1)
            let summary = try IngestPipeline(configuration: features.mfccConfiguration, workerCount: jobs)
                .run(files: files, makeStore: { AudioCatalogStore(db: try catalog.connect()) },
                     progress: { meter.update($0) })
            meter.finish()
            for failure in summary.failures { note("failed: \(failure.reason)") }
            print("\(summary.total) files: \(summary.stored) stored, \(summary.alreadyStored) already in the catalog, "
                  + "\(summary.failures.count) failed; \(String(format: "%.2f", summary.audioSeconds / 3600)) audio-hours analysed")
            if !summary.failures.isEmpty {
                let kinds = Dictionary(grouping: summary.failures, by: \.kind).map { "\($0.value.count) \($0.key)" }.sorted()
                print("failures: " + kinds.joined(separator: ", "))
                throw ExitCode(1)
            }
        }
    }
}

/// One status line on stderr, redrawn at most five times a second.
final class ProgressMeter: @unchecked Sendable {
    // Only touched from IngestPipeline's progress callback, which runs under its lock.
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drew = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ summary: IngestSummary) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.2 || summary.finished == summary.total else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-3)
        let rate = summary.audioSeconds / 3600 / elapsed
        let perFile = elapsed / Double(max(summary.finished, 1))
        let eta = perFile * Double(summary.total - summary.finished)
        let line = String(format: "\r%d/%d tracks  %.3f audio-h/s  ETA %d:%02d  (%d failed)", summary.finished, summary.total,
                          rate, Int(eta) / 60, Int(eta) % 60, summary.failures.count)
        FileHandle.standardError.write(Data(line.utf8))
        drew = true
    }

    func finish() {
        if drew { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
