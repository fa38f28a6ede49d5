import ArgumentParser
import Foundation
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreCore

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
            ETA) is shown on stderr when it is a terminal.

            Several `timbre audio ingest` processes (on one machine or several sharing the files and \
            the catalog) may run over the same paths at once: the files are queued in the catalog \
            (work_queue) and each worker claims the next with FOR UPDATE SKIP LOCKED, so they \
            split the work; a killed worker's file returns to the queue.

            EXIT STATUS
              0 if every file was stored, already present, or failed in the previous run too (those are \
              listed as known failures), 1 if a file failed that had not failed before (or a path could \
              not be read as a regular file).
            """
        )

        @Argument(help: "Audio files or folders.")
        var paths: [String]
        @OptionGroup var catalog: CatalogOptions
        @Option(name: .customLong("jobs"), help: "Worker threads (default: all cores).")
        var jobs = ProcessInfo.processInfo.activeProcessorCount
        @Option(name: .customLong("time-limit"), parsing: .unconditional,
                help: "Seconds one file may take to decode before it is reported as failed (1 to 86400).")
        var timeLimit = Int(IngestPipeline.defaultTimeLimit.components.seconds)
        @Flag(help: "In folders, try every file, not only audio extensions.")
        var allFiles = false
        @OptionGroup var features: FeatureOptions

        func validate() throws {
            try requireInRange(jobs, "--jobs", 1...256)
            try requireInRange(timeLimit, "--time-limit", 1...86_400)
        }

        func run() throws {
            let catalog = catalog
            let pipeline = IngestPipeline(configuration: features.mfccConfiguration, workerCount: jobs, timeLimit: .seconds(timeLimit))
            let summary = try CatalogIngest(pipeline: pipeline, connect: { try catalog.connect() }).run(paths: paths, allFiles: allFiles)
            let fresh = summary.newFailures, knownFailed = summary.failedAgain
            for failure in fresh { note("failed: \(failure.reason)") }
            for failure in knownFailed { note("failed again (known from an earlier run): \(failure.reason)") }
            let elsewhere = summary.total - summary.finished
            print("\(summary.total) files: \(summary.stored) stored, \(summary.alreadyStored) already in the catalog, "
                  + "\(fresh.count) failed" + (knownFailed.isEmpty ? "" : ", \(knownFailed.count) known to fail (failed in an earlier run too)")
                  + (elsewhere > 0 ? ", \(elsewhere) taken by other workers" : "")
                  + "; \(String(format: "%.2f", summary.audioSeconds / 3600)) audio-hours analysed")
            if !summary.failures.isEmpty {
                let kinds = Dictionary(grouping: summary.failures, by: \.kind).map { "\($0.value.count) \($0.key)" }.sorted()
                print("failures: " + kinds.joined(separator: ", "))
            }
            if !fresh.isEmpty { throw ExitCode(1) }
        }
    }
}
