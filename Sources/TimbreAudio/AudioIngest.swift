import Foundation
import TimbreCore
import Synchronization
import TimbreInterchange

/// Everything the catalog stores about one track.
public struct AnalysedTrack: Sendable {
    public var path: String
    public var contentSHA256: [UInt8]
    public var format: AudioFileFormat
    public var sampleRate: Int
    public var channelCount: Int
    public var duration: Double
    public var mfcc: FeatureMatrix
    public var configuration: MFCCConfiguration
    /// Title, artist and album from the file's tags.
    public var tags = TrackTags()
}

/// Where ingest puts its results. One store per worker thread (a database connection is not
/// shared between threads); implementations must make concurrent writers of the same content
/// safe, e.g. a unique hash with ON CONFLICT DO NOTHING.
public protocol AudioFeatureStore {
    func contains(contentSHA256: [UInt8]) throws -> Bool
    /// Stores the track atomically; returns false when the content was already there.
    func store(_ track: AnalysedTrack) throws -> Bool
}

/// Hands out the files of a batch to ingest workers. One instance per worker thread; `done`
/// is called for every path `next` returned, with the failure reason if it failed.
public protocol IngestQueue {
    mutating func next() throws -> String?
    mutating func done(_ path: String, failure: String?) throws
}

/// The in-process queue: threads take the batch's files in order through one atomic counter.
private struct LocalIngestQueue: IngestQueue {
    let files: [String]
    let shared: IngestSharedState

    mutating func next() -> String? {
        let index = shared.next.add(1, ordering: .relaxed).oldValue
        return index < files.count ? files[index] : nil
    }

    mutating func done(_ path: String, failure: String?) {}
}

/// Below this peak (−90 dBFS) a file is treated as silent: its MFCCs would be constant.
public let silencePeak: Float = 3.1623e-5

/// Turns one file into an `AnalysedTrack`: hash, decode, down-mix, resample, MFCC.
public struct TrackAnalyser {
    public let decoder: AudioDecoder
    public let extractor: MFCCExtractor

    public init(configuration: MFCCConfiguration = MFCCConfiguration(), timeLimit: Duration? = nil) throws(AudioError) {
        decoder = AudioDecoder(targetSampleRate: configuration.sampleRate, timeLimit: timeLimit)
        extractor = try MFCCExtractor(configuration: configuration)
    }

    public func analyse(path: String, contentSHA256: [UInt8]? = nil, duration: Double? = nil) throws(AudioError) -> AnalysedTrack {
        let hash: [UInt8]
        if let contentSHA256 { hash = contentSHA256 } else { hash = try SHA256.digest(ofFile: path) }
        let audio = try decoder.decode(path: path, duration: duration)
        guard audio.peak >= silencePeak else { throw .silent(path: path) }
        return AnalysedTrack(path: path, contentSHA256: hash, format: audio.sourceFormat, sampleRate: audio.sourceSampleRate,
                             channelCount: audio.sourceChannelCount, duration: audio.sourceDuration,
                             mfcc: extractor.mfcc(audio.samples), configuration: extractor.configuration, tags: audio.tags)
    }
}

public struct IngestFailure: Sendable {
    public var path: String
    public var reason: String
    public var kind: String
}

/// Running totals of an ingest batch.
public struct IngestSummary: Sendable {
    public var total = 0
    public var stored = 0
    public var alreadyStored = 0
    public var failures: [IngestFailure] = []
    public var audioSeconds = 0.0
    public var finished: Int { stored + alreadyStored + failures.count }

    /// Files that had failed in an earlier run (set by the caller that knows, e.g. the catalog's
    /// queue): when they fail again they are listed, not counted as this run's failures.
    public var knownToFail: Set<String> = []
    /// This run's new failures: they decide the exit status.
    public var newFailures: [IngestFailure] { failures.filter { !knownToFail.contains($0.path) } }
    /// Files that failed again, as in an earlier run.
    public var failedAgain: [IngestFailure] { failures.filter { knownToFail.contains($0.path) } }
}

/// Analyses files on several threads and hands each track to a store as soon as it is done, so a
/// killed run loses at most the tracks in flight.
public struct IngestPipeline: Sendable {
    public var configuration: MFCCConfiguration
    public var workerCount: Int
    /// Per-file decoding limit: a stall becomes a reported failure instead of a hung batch.
    public var timeLimit: Duration?

    public static let defaultTimeLimit = Duration.seconds(600)

    public init(configuration: MFCCConfiguration = MFCCConfiguration(), workerCount: Int, timeLimit: Duration? = defaultTimeLimit) {
        self.configuration = configuration
        self.workerCount = max(1, workerCount)
        self.timeLimit = timeLimit
    }

    /// Audio file extensions picked up when walking folders (named files are always tried).
    public static let audioExtensions: Set<String> = ["wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "au", "w64", "caf"]

    /// Expands folders (recursively, sorted, skipping hidden entries, following links to files)
    /// into files; what cannot be analysed is dropped (see `scan` for the reasons).
    public static func files(in paths: [String], allFiles: Bool = false) -> [String] {
        scan(paths, allFiles: allFiles).files
    }

    /// Files to analyse, and what was skipped with its path and reason: sub-folders that cannot be
    /// listed, and FIFOs, sockets and devices (only regular files, or links to them, are
    /// analysed: opening a FIFO waits for a writer forever). Named paths are always kept unless they
    /// are such special files; a missing one fails later with its own reason.
    public static func scan(_ paths: [String], allFiles: Bool = false) -> (files: [String], skipped: [IngestFailure]) {
        var files: [String] = [], skipped: [IngestFailure] = []
        func skip(_ error: AudioError) { skipped.append(IngestFailure(path: error.path ?? "", reason: error.description, kind: error.kind)) }
        func walk(_ folder: String, into found: inout [String]) {
            guard let listing = opendir(folder) else {
                skip(.unreadable(path: folder, reason: "cannot list the folder: \(String(cString: strerror(errno)))"))
                return
            }
            closedir(listing)
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                skip(.unreadable(path: folder, reason: "cannot list the folder"))
                return
            }
            for name in entries where !name.hasPrefix(".") {
                let path = folder + "/" + name
                // Links to folders are not followed (no loops); links to files count, since
                // collections are often folders of links.
                if FileKind.of(path, followingLinks: false) == .directory { walk(path, into: &found); continue }
                guard allFiles || audioExtensions.contains((name as NSString).pathExtension.lowercased()) else { continue }
                switch FileKind.of(path) {
                case .regular: found.append(path)
                case .directory, .unavailable: continue // a link to a folder, a dangling link
                case let kind: skip(.notRegularFile(path: path, kind: kind.description))
                }
            }
        }
        for path in paths {
            switch FileKind.of(path) {
            case .directory:
                var found: [String] = []
                walk(path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path, into: &found)
                files += found.sorted()
            case .fifo, .socket, .device:
                skip(.notRegularFile(path: path, kind: FileKind.of(path).description))
            default:
                files.append(path)
            }
        }
        return (files, skipped)
    }

    /// Runs the batch. `makeStore` and `makeQueue` are called once per worker thread (the default
    /// queue shares `files` between this process's threads); `progress` is called under a lock
    /// after every file.
    public func run(files: [String], makeStore: @escaping @Sendable () throws -> any AudioFeatureStore,
                    makeQueue: (@Sendable () throws -> any IngestQueue)? = nil,
                    progress: @escaping @Sendable (IngestSummary) -> Void = { _ in }) throws -> IngestSummary {
        let shared = IngestSharedState(total: files.count)
        let makeQueue = makeQueue ?? { LocalIngestQueue(files: files, shared: shared) }
        let configuration = configuration, timeLimit = timeLimit
        let workers = min(workerCount, max(1, files.count))
        _ = onThreads(workers) { _ in
            Self.work(shared: shared, configuration: configuration, timeLimit: timeLimit, makeStore: makeStore, makeQueue: makeQueue,
                      progress: progress)
        }
        if let message = shared.workerError.withLock({ $0 }) { throw AudioError.library("ingest worker stopped: \(message)") }
        return shared.summary.withLock { $0 }
    }

    private static func work(shared: IngestSharedState, configuration: MFCCConfiguration, timeLimit: Duration?,
                             makeStore: () throws -> any AudioFeatureStore, makeQueue: () throws -> any IngestQueue,
                             progress: (IngestSummary) -> Void) {
        let store: any AudioFeatureStore
        var queue: any IngestQueue
        let analyser: TrackAnalyser
        do {
            store = try makeStore()
            queue = try makeQueue()
            analyser = try TrackAnalyser(configuration: configuration, timeLimit: timeLimit)
        } catch {
            shared.workerError.withLock { $0 = $0 ?? String(describing: error) }
            return
        }
        while true {
            let claimed: String?
            do { claimed = try queue.next() } catch {
                shared.workerError.withLock { $0 = $0 ?? "work queue: \(error)" }
                return
            }
            guard let path = claimed else { return }
            let outcome: Result<(stored: Bool, seconds: Double), AudioError>
            do {
                let hash = try SHA256.digest(ofFile: path)
                if try store.contains(contentSHA256: hash) {
                    outcome = .success((false, 0))
                } else {
                    let track = try analyser.analyse(path: path, contentSHA256: hash)
                    outcome = .success((try store.store(track), track.duration))
                }
            } catch let error as AudioError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(.library("\(path): catalog: \(error)"))
            }
            do {
                if case .failure(let error) = outcome { try queue.done(path, failure: error.description) } else { try queue.done(path, failure: nil) }
            } catch {
                shared.workerError.withLock { $0 = $0 ?? "work queue: \(error)" }
                return
            }
            shared.summary.withLock { totals in
                switch outcome {
                case .success(let result):
                    if result.stored { totals.stored += 1 } else { totals.alreadyStored += 1 }
                    totals.audioSeconds += result.seconds
                case .failure(let error):
                    totals.failures.append(IngestFailure(path: error.path ?? path, reason: error.description, kind: error.kind))
                }
                progress(totals)
            }
        }
    }
}

/// Work counter and totals shared by the ingest threads.
private final class IngestSharedState: Sendable {
    let next = Atomic<Int>(0)
    let summary: Mutex<IngestSummary>
    let workerError = Mutex<String?>(nil)
    init(total: Int) {
        var summary = IngestSummary()
        summary.total = total
        self.summary = Mutex(summary)
    }
}
