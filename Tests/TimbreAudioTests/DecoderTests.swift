import Foundation
import Testing
@testable import TimbreAudio

@Suite struct DecoderMatchesLibrosaLoad {
    @Test(arguments: Fixtures.music)
    func reportsSourceFacts(fixture: (name: String, channels: Int, sampleRate: Int)) throws {
        let audio = try AudioDecoder().decode(path: Fixtures.path(fixture.name))
        #expect(audio.sampleRate == 22_050)
        #expect(audio.sourceChannelCount == fixture.channels)
        #expect(audio.sourceSampleRate == fixture.sampleRate)
        #expect(audio.sourceDuration > 2.9 && audio.sourceDuration < 4.2)
    }

    /// librosa.load(path, sr=22050, offset=0.5, duration=1.0): down-mix, soxr HQ, ceil length.
    /// Tolerance 1e-4 per sample: decoders of lossy formats differ in the last bits between
    /// libvorbis/libopus/mpg123 builds; resampling itself is the same soxr algorithm.
    @Test(arguments: Fixtures.musicNames)
    func samplesAgree(name: String) throws {
        let ours = try AudioDecoder().decode(path: Fixtures.path(name), offset: Fixtures.referenceOffset,
                                             duration: Fixtures.referenceDuration)
        let reference = try Fixtures.referenceSamples(name)
        #expect(ours.samples.count == reference.count)
        let agreement = Agreement(ours.samples, reference, absolute: 1e-4, relative: 0)
        #expect(agreement.outsideTolerance == 0, "\(name): \(agreement)")
    }

    @Test func resampledLengthIsCeiling() throws {
        let signal = [Float](repeating: 0.25, count: 44_101)
        let resampled = try Resampler.resample(signal, from: 44_100, to: 22_050)
        #expect(resampled.count == 22_051)
        let up = try Resampler.resample([Float](repeating: 0.25, count: 16_001), from: 16_000, to: 22_050)
        #expect(up.count == Int((16_001.0 * 22_050 / 16_000).rounded(.up)))
    }

    @Test func durationLongerThanFileStopsAtEnd() throws {
        let whole = try AudioDecoder().decode(path: Fixtures.path("wesnoth-elvish-22k-mono.flac"))
        let capped = try AudioDecoder().decode(path: Fixtures.path("wesnoth-elvish-22k-mono.flac"), duration: 100)
        #expect(whole.samples == capped.samples)
    }
}

@Suite struct BadInputsFailClearly {
    /// Each bad file must raise an error whose message names the file.
    @Test(arguments: [
        ("bad-empty.wav", "empty"),
        ("bad-not-audio.ogg", "unsupported"),
        ("bad-truncated.ogg", "truncated"),
        ("does-not-exist.wav", "unreadable"),
    ])
    func failsNamingTheFile(name: String, kind: String) throws {
        let path = Fixtures.path(name)
        let error = #expect(throws: AudioError.self) { try AudioDecoder().decode(path: path) }
        #expect(error?.kind == kind, "\(name): \(String(describing: error))")
        #expect(error?.description.contains(path) == true)
    }

    /// A WAV cut in half keeps a header promising twice the data; libsndfile trims the frame
    /// count to the bytes present, so the file decodes but is reported as truncated.
    @Test func truncatedWavIsReported() throws {
        let path = Fixtures.path("bad-truncated.wav")
        let error = #expect(throws: AudioError.self) { try AudioDecoder().decode(path: path) }
        #expect(error?.kind == "truncated", "\(String(describing: error))")
        #expect(error?.description.contains(path) == true)
    }

    @Test func silentFileDecodesToZeros() throws {
        let audio = try AudioDecoder().decode(path: Fixtures.path("bad-silent.wav"))
        #expect(audio.peak == 0)
    }

    /// The eight-lane peak against a plain loop, the loudest sample negative, in the SIMD body or
    /// in the tail.
    @Test(arguments: [3, 8, 13, 1000, 1003])
    func peakIsTheLargestMagnitude(count: Int) {
        for position in [0, count / 2, count - 1] {
            var samples = (0..<count).map { Float(sin(Double($0))) * 0.5 }
            samples[position] = -0.9
            #expect(samples.withUnsafeBufferPointer(\.largestMagnitude) == samples.map(abs).max()!,
                    "count \(count), loudest at \(position)")
        }
        #expect([Float]().withUnsafeBufferPointer(\.largestMagnitude) == 0)
    }

    @Test func offsetPastTheEndIsRejected() {
        #expect(throws: AudioError.self) {
            try AudioDecoder().decode(path: Fixtures.path("wesnoth-battle.ogg"), offset: 60)
        }
    }
}
