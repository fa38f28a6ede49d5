import Foundation
import TimbreAudio
import TimbreCatalog
import TimbreCore
import TimbreTerminal

/// `timbre audio ingest` as a service: finds the audio files under some paths, queues them in the
/// catalog's work queue and analyses them on worker threads, each with its own connection,
/// claiming from that queue, so that any number of runs (processes, machines) over the same
/// files split them; every track goes to `AudioCatalogStore` in its own transaction.
public struct CatalogIngest: Sendable {
    public var pipeline: IngestPipeline
    /// Opens a connection to the catalog: once to queue the files, then once per worker.
    private let connect: @Sendable () throws -> PostgresConnection

    public init(pipeline: IngestPipeline, connect: @escaping @Sendable () throws -> PostgresConnection) {
        self.pipeline = pipeline
        self.connect = connect
    }

    /// Ingests every audio file under `paths` (see `IngestPipeline.scan`). What the scan skipped
    /// counts among the failures, so a summary without failures means everything is stored; files
    /// whose last ingest failed too are marked `knownToFail` (listed, not counted as new).
    /// Progress (tracks, audio-hours per second, failures) goes to stderr when it is a terminal.
    /// Throws `AudioError.invalidArgument` when there is no file at all, before anything is queued.
    public func run(paths: [String], allFiles: Bool = false) throws -> IngestSummary {
        let scan = IngestPipeline.scan(paths, allFiles: allFiles)
        // Absolute paths: the queue is shared with other processes.
        let files = scan.files.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard !files.isEmpty else {
            throw AudioError.invalidArgument("no audio files found in \(paths.joined(separator: ", "))"
                                             + scan.skipped.map { " (\($0.reason))" }.joined())
        }
        // Fails fast on a missing or unmigrated catalog, before workers start. What failed last
        // time is read before `enqueue` clears it.
        let db = try connect()
        let knownToFail = try CatalogIngestQueue.knownFailures(files, in: db)
        try CatalogIngestQueue.enqueue(files, in: db)
        let connect = connect
        let progress = ProgressReporter("ingest", total: files.count, unit: "tracks")
        var summary = try pipeline.run(files: files, makeStore: { AudioCatalogStore(db: try connect()) },
                                       makeQueue: { try CatalogIngestQueue(db: try connect(), files: files) },
                                       progress: { summary in
                                           progress.advance(detail: String(format: "%.3f audio-h/s, %d failed",
                                                                           summary.audioSeconds / 3600 / progress.elapsed, summary.failures.count))
                                       })
        progress.finish()
        summary.knownToFail = Set(knownToFail.keys)
        // Skipped paths count as new failures: they are in no queue, so nothing remembers them.
        summary.total += scan.skipped.count
        summary.failures += scan.skipped
        return summary
    }
}
