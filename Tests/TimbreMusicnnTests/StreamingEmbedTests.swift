import Foundation
import Testing
import TimbreAudio
@testable import TimbreMusicnn
import TimbreTestSupport

/// Embedding while decoding must give what embedding the whole decoded signal gives: the patch
/// windows cut from a stream of small blocks hold every sample their frames read, and the
/// worker threads return the patches in order.
struct StreamingEmbedTests {
    /// The fixture clips hold one patch each. Written here: "tones.wav", 13 s of 22 050 Hz tones,
    /// four patches, so windows after the first, which start mid-block, are checked too; and
    /// "edge.wav", 95 600 samples at 16 kHz, two patches, the second of which reads past the end
    /// of the track (its window is cut short and its last frame padded with zeros).
    static let clips = ["wesnoth-battle.ogg", "warzone-track1.opus", "warzone-menu-16k-mono.wav", "tones.wav", "edge.wav"]
    static let patchCounts = ["tones.wav": 4, "edge.wav": 2]

    /// Runs `body` on the clip's path; a written clip is removed afterwards.
    static func withClip(_ clip: String, _ body: (String) throws -> Void) throws {
        guard patchCounts[clip] != nil else { return try body(TestData.audioFixtures.appendingPathComponent(clip).path) }
        let folder = try TestData.folder("musicnn-stream")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(clip).path
        if clip == "tones.wav" {
            let tones = [220.0, 330, 440, 660, 880, 1_320].flatMap { TestData.tone(hertz: $0, seconds: 13.0 / 6, seed: UInt32($0)) }
            try TestData.writeWAV(tones, rate: 22_050, to: path)
        } else {
            let samples: [Int16] = (0..<95_600).map { (i: Int) -> Int16 in
                let t = Double(i)
                let envelope: Double = 1 + 0.5 * sin(t / 3_000)
                return Int16(9_000 * envelope * sin(t * 2 * Double.pi * 330 / 16_000))
            }
            try TestData.writeWAV(samples, rate: 16_000, to: path)
            // The case this clip exists for: the last whole patch reads past the last sample.
            #expect(MusicnnSpectrogram.patchCount(sampleCount: samples.count) == 2)
            #expect(MusicnnSpectrogram.sampleRange(ofPatch: 1).upperBound > samples.count)
        }
        try body(path)
    }

    @Test(arguments: clips)
    func streamedBlocksAndWorkersGiveTheWholeSignalsPatches(clip: String) throws {
        try Self.withClip(clip) { path in
            let embedder = try MusicnnEmbedder(model: .msd, weightsDirectory: try MusicnnFixtures.weightsDirectory())
            let whole = try AudioDecoder(targetSampleRate: 16_000).decode(path: path)
            // Independently of the windows: each patch's spectrogram read from the whole signal.
            let count = MusicnnSpectrogram.patchCount(sampleCount: whole.samples.count)
            #expect(Self.patchCounts[clip].map { $0 == count } ?? true, "\(clip): \(count) patches")
            let spectrogram = try MusicnnSpectrogram(), workspace = try MusicnnWorkspace()
            var patch = [Float](repeating: 0, count: MusicnnNetwork.frames * MusicnnNetwork.bands)
            let expected = MusicnnTrackEmbedding(patches: (0..<count).map { p in
                whole.samples.withUnsafeBufferPointer { signal in
                    patch.withUnsafeMutableBufferPointer { spectrogram.patch(p, of: signal, into: $0.baseAddress!) }
                }
                return patch.withUnsafeBufferPointer { embedder.network.run($0.baseAddress!, workspace: workspace) }
            })
            // 1 001 source frames a block: every patch window spans many blocks and starts mid-block.
            for workers in [1, 3] {
                let stream = try AudioDecoder(targetSampleRate: 16_000, blockFrames: 1_001).open(path: path)
                let streamed = try embedder.embed(stream, workers: workers)
                #expect(stream.sampleCount == whole.samples.count, "\(clip): stream length")
                try #require(streamed.patches.count == expected.patches.count, "\(clip), \(workers) workers: patch count")
                for (p, (ours, theirs)) in zip(streamed.patches, expected.patches).enumerated() {
                    for layer in MusicnnLayer.allCases {
                        // OpenBLAS may split a concurrent sgemm differently, so not bit for bit.
                        let worst = zip(layer.values(of: ours), layer.values(of: theirs)).map { abs($0 - $1) / max(abs($1), 1e-3) }.max() ?? 0
                        #expect(worst <= 1e-5, "\(clip), \(workers) workers, patch \(p), \(layer): relative difference \(worst)")
                    }
                }
            }
        }
    }

    @Test(arguments: clips)
    func aStreamOfSmallBlocksHandsOutTheDecodedSignal(clip: String) throws {
        try Self.withClip(clip) { path in
            let whole = try AudioDecoder(targetSampleRate: 16_000).decode(path: path).samples
            let stream = try AudioDecoder(targetSampleRate: 16_000, blockFrames: 777).open(path: path)
            var samples: [Float] = []
            var reads = 0
            while try stream.read(appendingTo: &samples) { reads += 1 }
            #expect(reads > 10)
            #expect(stream.sampleCount == samples.count)
            try #require(samples.count == whole.count)
            let worst = zip(samples, whole).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-6, "\(clip): largest difference \(worst)")
            #expect(try !stream.read(appendingTo: &samples), "an ended stream stays ended")
        }
    }

    /// A stream whose end fails its checks keeps failing: a second read must not pass for a clean end.
    @Test func aFailedEndIsThrownAgain() throws {
        let path = TestData.audioFixtures.appendingPathComponent("bad-truncated.ogg").path
        let stream = try AudioDecoder(targetSampleRate: 16_000, blockFrames: 1_001).open(path: path)
        var samples: [Float] = []
        let first = #expect(throws: AudioError.self) { while try stream.read(appendingTo: &samples) {} }
        let again = #expect(throws: AudioError.self) { _ = try stream.read(appendingTo: &samples) }
        #expect(first.map { "\($0)" } == again.map { "\($0)" })
        #expect("\(first.map { "\($0)" } ?? "")".contains("bad-truncated.ogg"))
    }
}
