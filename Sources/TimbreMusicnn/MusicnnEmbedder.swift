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

    /// Decodes `path` (any format the decoder reads) and embeds it.
    public func embed(path: String, workers: Int = availableCores) throws -> MusicnnTrackEmbedding {
        let audio = try AudioDecoder(targetSampleRate: MusicnnSpectrogram.sampleRate).decode(path: path)
        guard MusicnnSpectrogram.patchCount(sampleCount: audio.samples.count) > 0 else {
            throw MusicnnError.tooShort(path: path, seconds: audio.duration)
        }
        return try embed(samples: audio.samples, workers: workers)
    }

    /// Embeds 16 kHz mono samples; patch p goes to thread p mod `workers`. Each thread holds one
    /// patch's spectrogram and activations (about 3 MB), so memory does not grow with the track.
    public func embed(samples: [Float], workers: Int = availableCores) throws -> MusicnnTrackEmbedding {
        let count = MusicnnSpectrogram.patchCount(sampleCount: samples.count)
        let threads = max(1, min(workers, count))
        let network = network
        let results: [Result<[(Int, MusicnnOutputs)], AudioError>] = onThreads(threads) { k in
            do throws(AudioError) {
                let spectrogram = try MusicnnSpectrogram()
                let workspace = try MusicnnWorkspace()
                let patch = UnsafeMutablePointer<Float>.allocate(capacity: MusicnnNetwork.frames * MusicnnNetwork.bands)
                defer { patch.deallocate() }
                var outputs: [(Int, MusicnnOutputs)] = []
                samples.withUnsafeBufferPointer { signal in
                    for p in stride(from: k, to: count, by: threads) {
                        spectrogram.patch(p, of: signal, into: patch)
                        outputs.append((p, network.run(patch, workspace: workspace)))
                    }
                }
                return .success(outputs)
            } catch {
                return .failure(error)
            }
        }
        var patches = [MusicnnOutputs?](repeating: nil, count: count)
        for result in results {
            for (p, outputs) in try result.get() { patches[p] = outputs }
        }
        return MusicnnTrackEmbedding(patches: patches.map { $0! })
    }
}
