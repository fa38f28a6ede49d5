import Foundation
import Synchronization
import TimbreAudio
import TimbreCore
import TimbreNeural

/// A file that could not be used, and why.
public struct SkippedTrack: Sendable, Equatable {
    public var path: String
    public var reason: String
}

/// The MFCCs of every track of a labelled set (nil where the file was skipped).
public struct TrackFeatures: Sendable {
    public var set: LabelledSet
    public var mfcc: [FeatureMatrix?]
    public var skipped: [SkippedTrack]
    public var configuration: MFCCConfiguration

    /// Features computed elsewhere (e.g. read from the catalog); `mfcc[t]` belongs to `set.tracks[t]`.
    public init(set: LabelledSet, mfcc: [FeatureMatrix?], skipped: [SkippedTrack], configuration: MFCCConfiguration) {
        precondition(mfcc.count == set.tracks.count, "\(mfcc.count) feature matrices for \(set.tracks.count) tracks")
        self.set = set
        self.mfcc = mfcc
        self.skipped = skipped
        self.configuration = configuration
    }

    /// Decodes and analyses every track on `workers` threads, each with its own `TrackAnalyser`
    /// (the MFCC extractor keeps FFT plans and scratch that are not shared). Files that fail to
    /// decode, or are silent, are skipped with their reason. `progress` is called after each file.
    public static func analyse(_ set: LabelledSet, configuration: MFCCConfiguration = MFCCConfiguration(),
                               workers: Int = availableCores, progress: @escaping @Sendable () -> Void = {}) throws -> TrackFeatures {
        let next = Atomic<Int>(0)
        let tracks = set.tracks
        let workerCount = max(1, min(workers, tracks.count))
        // `workers` threads taking the next track in turn (tracks differ in length, so equal chunks would not balance).
        let results = try onThreads(workerCount) { _ -> Result<[(Int, Result<FeatureMatrix, AudioError>)], any Error> in
            Result {
                let analyser = try TrackAnalyser(configuration: configuration)
                var done: [(Int, Result<FeatureMatrix, AudioError>)] = []
                while true {
                    let t = next.add(1, ordering: .relaxed).oldValue
                    guard t < tracks.count else { break }
                    // No content hash: nothing here is stored in the catalog.
                    do throws(AudioError) {
                        done.append((t, .success(try analyser.analyse(path: tracks[t].path, contentSHA256: []).mfcc)))
                    } catch {
                        done.append((t, .failure(error)))
                    }
                    progress()
                }
                return done
            }
        }.map { try $0.get() }.flatMap { $0 }
        var mfcc = [FeatureMatrix?](repeating: nil, count: tracks.count)
        var skipped: [SkippedTrack] = []
        for (t, result) in results.sorted(by: { $0.0 < $1.0 }) {
            switch result {
            case .success(let m): mfcc[t] = m
            case .failure(let error): skipped.append(SkippedTrack(path: tracks[t].path, reason: error.description))
            }
        }
        return TrackFeatures(set: set, mfcc: mfcc, skipped: skipped, configuration: configuration)
    }

    public static let clipSeconds = 30.0
    public static let segmentSeconds = 3.0

    /// Whole non-overlapping 30 s windows of each track (0 for a skipped or shorter track).
    public var clipCounts: [Int] {
        mfcc.map { $0.map { Self.clipWindows(of: $0, configuration: configuration).count } ?? 0 }
    }

    static func clipWindows(of m: FeatureMatrix, configuration: MFCCConfiguration) -> [Range<Int>] {
        // As FeatureMatrix.segments: a window spans 1 + ⌊s·sr/hop⌋ frames and starts every ⌊s·sr/hop⌋.
        let step = Int(clipSeconds * Double(configuration.sampleRate) / Double(configuration.hopLength))
        guard step > 0, m.columnCount >= step + 1 else { return [] }
        return stride(from: 0, through: m.columnCount - step - 1, by: step).map { $0..<($0 + step + 1) }
    }

    /// The 3 s segments of a clip as LSTM sequences: steps × coefficients (time-major), unstandardised.
    public func segments(of clip: ClipReference) -> [Matrix] {
        guard let m = mfcc[clip.track] else { preconditionFailure("clip of skipped track \(set.tracks[clip.track].path)") }
        let window = Self.clipWindows(of: m, configuration: configuration)[clip.window]
        return Self.segmentSequences(of: m.columns(window), configuration: configuration)
    }

    /// The non-overlapping 3 s segments of an MFCC sequence (coefficients × frames) as LSTM inputs.
    public static func segmentSequences(of mfcc: FeatureMatrix, configuration: MFCCConfiguration) -> [Matrix] {
        mfcc.segments(seconds: segmentSeconds, configuration: configuration).map(\.timeMajor)
    }

    /// The reference protocol's segments: each 3 s excerpt of each clip decoded and analysed on its
    /// own, as `librosa.feature.mfcc` of the excerpt does (its own top_db floor, zero padding at
    /// its own edges), instead of cut from the whole track's sequence. Decodes only the clips, on
    /// `workers` threads.
    public func excerptSegments(of clips: [ClipReference], workers: Int = availableCores) throws -> [ClipReference: [Matrix]] {
        let configuration = configuration
        let set = set
        let hop = configuration.hopLength, rate = configuration.sampleRate
        let clipStep = Int(Self.clipSeconds * Double(rate) / Double(hop))
        let excerptLength = Int(Self.segmentSeconds * Double(rate))
        let excerpts = Int(Self.clipSeconds / Self.segmentSeconds)
        let parts = concurrentChunks(clips.count, chunksPerCore: 1) { range -> Result<[(ClipReference, [Matrix])], AudioError> in
            Result { () throws(AudioError) -> [(ClipReference, [Matrix])] in
                let analyser = try TrackAnalyser(configuration: configuration)
                let (decoder, extractor) = (analyser.decoder, analyser.extractor)
                return try range.map { (c: Int) throws(AudioError) -> (ClipReference, [Matrix]) in
                    let clip = clips[c]
                    // The clip's first frame in the track's sequence, in seconds.
                    let offset = Double(clip.window * clipStep * hop) / Double(rate)
                    let audio = try decoder.decode(path: set.tracks[clip.track].path, offset: offset, duration: Self.clipSeconds)
                    let segments = (0..<excerpts).compactMap { (k: Int) -> Matrix? in
                        let start = k * excerptLength
                        guard start + excerptLength <= audio.samples.count else { return nil }
                        return extractor.mfcc(Array(audio.samples[start..<start + excerptLength])).timeMajor
                    }
                    return (clip, segments)
                }
            }
        }
        var result: [ClipReference: [Matrix]] = [:]
        for part in parts { for (clip, segments) in try part.get() { result[clip] = segments } }
        return result
    }
}

extension FeatureMatrix {
    /// Frames × coefficients: the sequence layout the LSTM reads (one row per time step).
    var timeMajor: Matrix { Matrix(rows: rowCount, columns: columnCount, values: values).transposed }
}
