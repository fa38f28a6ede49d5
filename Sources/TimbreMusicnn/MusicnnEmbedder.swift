import Foundation
import TimbreAudio
import TimbreCore

/// The layers a track embedding can be taken from.
public enum MusicnnLayer: String, Sendable, CaseIterable, Codable {
    case penultimate
    case meanPool = "mean_pool"
    case maxPool = "max_pool"
    case tags

    public init(parsing text: String) throws(MusicnnError) {
        guard let layer = Self(rawValue: text) else {
            throw .invalidArgument("unknown layer '\(text)' (allowed: \(Self.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = layer
    }

    public var width: Int {
        switch self {
        case .penultimate: MusicnnNetwork.denseUnits
        case .meanPool, .maxPool: MusicnnNetwork.featureWidth
        case .tags: MusicnnNetwork.tagCount
        }
    }

    public func values(of outputs: MusicnnOutputs) -> [Float] {
        switch self {
        case .penultimate: outputs.penultimate
        case .meanPool: outputs.meanPool
        case .maxPool: outputs.maxPool
        case .tags: outputs.tags
        }
    }
}

/// A track's musicnn description: every patch's outputs and their mean (musicnn's per-track
/// embedding is the mean over its 3 s patches).
public struct MusicnnTrackEmbedding: Sendable {
    public var patches: [MusicnnOutputs]

    public func mean(_ layer: MusicnnLayer) -> [Float] {
        var sum = [Double](repeating: 0, count: layer.width)
        for patch in patches {
            for (c, value) in layer.values(of: patch).enumerated() { sum[c] += Double(value) }
        }
        return sum.map { Float($0 / Double(max(patches.count, 1))) }
    }
}

/// Audio → musicnn embeddings: decode and resample to 16 kHz as librosa.load does, log-mel
/// patches, the network on each patch, patches spread over threads.
public struct MusicnnEmbedder: Sendable {
    public let model: MusicnnModelName
    public let network: MusicnnNetwork

    public init(model: MusicnnModelName, weightsDirectory: String = MusicnnEmbedder.defaultWeightsDirectory) throws(MusicnnError) {
        self.model = model
        network = try MusicnnNetwork(model, weightsDirectory: weightsDirectory)
    }

    /// Where scripts/fetch-musicnn puts the checkpoints: $TIMBRE_MUSICNN_DIR, else
    /// $XDG_CACHE_HOME/timbre/musicnn, else ~/.cache/timbre/musicnn.
    public static var defaultWeightsDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let dir = environment["TIMBRE_MUSICNN_DIR"], !dir.isEmpty { return dir }
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache").path
        return URL(fileURLWithPath: cache).appendingPathComponent("timbre/musicnn").path
    }

    /// Decodes `path` (any format the decoder reads) and embeds it while it decodes: a worker that
    /// needs its next patch decodes as far as that patch reads, and only the samples of patches
    /// not yet cut are held, so memory does not grow with the track.
    public func embed(path: String, workers: Int = availableCores) throws -> MusicnnTrackEmbedding {
        try embed(AudioDecoder(targetSampleRate: MusicnnSpectrogram.sampleRate).open(path: path), workers: workers)
    }

    /// Embeds a 16 kHz stream as it decodes.
    func embed(_ stream: AudioStream, workers: Int) throws -> MusicnnTrackEmbedding {
        precondition(stream.sampleRate == MusicnnSpectrogram.sampleRate, "musicnn reads 16 kHz audio")
        let embedding = try embed(PatchWindows(stream), workers: workers)
        guard !embedding.patches.isEmpty else {
            throw MusicnnError.tooShort(path: stream.path, seconds: Double(stream.sampleCount) / Double(stream.sampleRate))
        }
        return embedding
    }

    /// Embeds 16 kHz mono samples.
    public func embed(samples: [Float], workers: Int = availableCores) throws -> MusicnnTrackEmbedding {
        try embed(PatchWindows(samples), workers: workers)
    }

    /// Each of `workers` threads takes the next window (decoding as far as it needs, one thread
    /// at a time) and runs the network on it, with a spectrogram and activations of its own (about
    /// 3 MB). Decoding thus takes turns with the network on the same threads: no thread of its own
    /// competes with the workers for the cores (measured: 1.59× one thread on two that way, against
    /// 1.8× for these), and at most one window per thread is held.
    private func embed(_ windows: PatchWindows, workers: Int) throws -> MusicnnTrackEmbedding {
        let network = network
        // No more threads (each with its working memory and FFT plans) than the track has patches.
        let threads = max(1, min(workers, MusicnnSpectrogram.patchCount(sampleCount: windows.expectedSampleCount)))
        let states = try (0..<threads).map { _ throws(AudioError) in try PatchState() }
        let results = onThreads(threads) { k in
            var outputs: [(Int, MusicnnOutputs)] = []
            while let window = windows.nextLocked() { outputs.append((window.index, states[k].run(window, network))) }
            return outputs
        }
        if let failure = windows.failure { throw failure }
        var patches = [MusicnnOutputs?](repeating: nil, count: windows.count)
        for (index, outputs) in results.joined() { patches[index] = outputs }
        return MusicnnTrackEmbedding(patches: patches.map { $0! })
    }
}

/// The samples one patch reads, cut from the track: `samples[0]` is the track's sample `start`.
struct PatchWindow: Sendable {
    var index: Int
    var start: Int
    var samples: [Float]
}

/// Cuts a track into patch windows in order, decoding (when it reads a stream) only as far as the
/// next window needs and dropping the samples no later window reads. Threads share it through
/// `nextLocked()`, which holds `lock` while it cuts.
final class PatchWindows: @unchecked Sendable {
    private let lock = NSLock()
    private let stream: AudioStream?
    /// The track's samples from sample `base` on.
    private var pending: [Float]
    private var base = 0
    private var nextIndex = 0
    private var ended: Bool
    /// The caller's own samples are not copied to drop a prefix: they are held anyway.
    private let dropsConsumed: Bool
    /// The track's length, as far as it is known before decoding.
    let expectedSampleCount: Int
    /// Why decoding stopped early, if it did; the windows end there.
    private(set) var failure: AudioError?

    init(_ stream: AudioStream) {
        self.stream = stream
        pending = []
        ended = false
        dropsConsumed = true
        expectedSampleCount = stream.expectedSampleCount
    }

    init(_ samples: [Float]) {
        stream = nil
        pending = samples
        ended = true
        dropsConsumed = false
        expectedSampleCount = samples.count
    }

    /// Windows cut so far (all of them, once `nextLocked()` has returned nil).
    var count: Int { lock.withLock { nextIndex } }

    func nextLocked() -> PatchWindow? { lock.withLock { next() } }

    private func next() -> PatchWindow? {
        guard failure == nil else { return nil }
        let range = MusicnnSpectrogram.sampleRange(ofPatch: nextIndex)
        do {
            while !ended && base + pending.count < range.upperBound {
                ended = try !(stream?.read(appendingTo: &pending) ?? false)
            }
        } catch {
            failure = error
            ended = true
            return nil
        }
        // Past the end, only whole patches count (musicnn drops the frames after the last one).
        let available = base + pending.count
        if available < range.upperBound, nextIndex >= MusicnnSpectrogram.patchCount(sampleCount: available) { return nil }
        let lower = max(range.lowerBound, 0), upper = min(range.upperBound, available)
        let window = PatchWindow(index: nextIndex, start: lower, samples: Array(pending[(lower - base)..<(upper - base)]))
        nextIndex += 1
        // Keep from the next window's start; drop once the unneeded part is at least half, so
        // dropping stays O(1) per sample.
        let unneeded = MusicnnSpectrogram.sampleRange(ofPatch: nextIndex).lowerBound - base
        if dropsConsumed && unneeded > 0 && 2 * unneeded >= pending.count {
            let dropped = min(unneeded, pending.count)
            pending.removeFirst(dropped)
            base += dropped
        }
        return window
    }
}

/// One thread's spectrogram, network activations and patch buffer; thread k uses only state k,
/// hence unchecked.
final class PatchState: @unchecked Sendable {
    let spectrogram: MusicnnSpectrogram
    let workspace: MusicnnWorkspace
    let patch: UnsafeMutablePointer<Float>

    init() throws(AudioError) {
        spectrogram = try MusicnnSpectrogram()
        workspace = try MusicnnWorkspace()
        patch = .allocate(capacity: MusicnnNetwork.frames * MusicnnNetwork.bands)
    }

    deinit { patch.deallocate() }

    func run(_ window: PatchWindow, _ network: MusicnnNetwork) -> MusicnnOutputs {
        window.samples.withUnsafeBufferPointer { signal in
            spectrogram.patch(window.index, of: signal, startingAt: window.start, into: patch)
        }
        return network.run(patch, workspace: workspace)
    }
}
