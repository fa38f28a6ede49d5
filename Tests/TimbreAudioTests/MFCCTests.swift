import Foundation
import Testing
@testable import TimbreAudio

/// Tolerance throughout: the 1e-3 absolute or 1e-4 relative per coefficient.
@Suite struct MFCCAgreesWithLibrosa {
    @Test(arguments: Fixtures.musicNames)
    func wholeClip(name: String) throws {
        let audio = try AudioDecoder().decode(path: Fixtures.path(name))
        let ours = try MFCCExtractor().mfcc(audio.samples)
        let reference = try Fixtures.referenceMFCC(name)
        #expect(ours.rowCount == 20)
        #expect(ours.rowCount == reference.rowCount && ours.columnCount == reference.columnCount)
        let agreement = Agreement(ours.values, reference.values)
        #expect(agreement.outsideTolerance == 0, "\(name): \(agreement)")
    }

    @Test(arguments: Fixtures.musicNames)
    func excerptWithOffsetAndDuration(name: String) throws {
        let audio = try AudioDecoder().decode(path: Fixtures.path(name), offset: Fixtures.referenceOffset,
                                              duration: Fixtures.referenceDuration)
        let ours = try MFCCExtractor().mfcc(audio.samples)
        let reference = try Fixtures.referenceMFCC(name, offset: true)
        #expect(ours.columnCount == reference.columnCount)
        let agreement = Agreement(ours.values, reference.values)
        #expect(agreement.outsideTolerance == 0, "\(name): \(agreement)")
    }

    /// Same samples as librosa saw: isolates the MFCC arithmetic from decoding differences.
    @Test(arguments: Fixtures.musicNames)
    func fromLibrosaSamples(name: String) throws {
        let samples = try Fixtures.referenceSamples(name)
        let ours = try MFCCExtractor().mfcc(samples)
        let reference = try Fixtures.referenceMFCC(name, offset: true)
        let agreement = Agreement(ours.values, reference.values)
        #expect(agreement.outsideTolerance == 0, "\(name): \(agreement)")
        #expect(agreement.maxAbsolute < 5e-4, "\(name): \(agreement)")
    }

    @Test func shapeFollowsLibrosaFrameCount() throws {
        let extractor = try MFCCExtractor()
        for count in [0, 1, 2, 3, 511, 512, 513, 22_050, 661_500] {
            let matrix = extractor.mfcc([Float](repeating: 0.1, count: count))
            #expect(matrix.rowCount == 20)
            #expect(matrix.columnCount == 1 + count / 512)
        }
        #expect(extractor.frameCount(forSampleCount: 661_500) == 1292)
    }

    @Test func configurableParameters() throws {
        var configuration = MFCCConfiguration()
        configuration.coefficientCount = 13
        configuration.melBandCount = 40
        configuration.fftSize = 1024
        configuration.hopLength = 256
        configuration.minimumFrequency = 50
        configuration.maximumFrequency = 8000
        let samples = (0..<22_050).map { Float(sin(Double($0) * 0.05)) }
        let matrix = try MFCCExtractor(configuration: configuration).mfcc(samples)
        #expect(matrix.rowCount == 13)
        #expect(matrix.columnCount == 1 + 22_050 / 256)
        #expect(matrix.values.allSatisfy { $0.isFinite })
    }

    /// Non-default shapes (odd band counts, coefficient counts that are not a multiple of the
    /// DCT's groups, FFT sizes that leave loop tails, frame counts that are not a multiple of
    /// eight) against the definition computed directly in Double: zero-padded frames, periodic
    /// Hann, a plain DFT, the (librosa-checked) filterbank weights, 10·log10 with top_db, DCT-II ortho.
    @Test(arguments: [(512, 128, 41, 13), (1002, 300, 128, 20), (256, 64, 24, 24), (256, 300, 24, 13), (2048, 512, 128, 20)])
    func matchesDirectDefinition(fftSize: Int, hop: Int, bands: Int, coefficients: Int) throws {
        var configuration = MFCCConfiguration()
        configuration.fftSize = fftSize
        configuration.hopLength = hop
        configuration.melBandCount = bands
        configuration.coefficientCount = coefficients
        configuration.minimumFrequency = 30
        configuration.maximumFrequency = 9_000
        let samples = Self.testSignal(count: 4 * fftSize + 3 * hop + 5)
        let extractor = try MFCCExtractor(configuration: configuration)
        let ours = extractor.mfcc(samples)
        let reference = Self.directMFCC(samples, configuration: configuration, filterbank: extractor.filterbank)
        #expect(ours.columnCount == 1 + samples.count / hop)
        #expect(ours.columnCount % 8 != 0, "each case leaves a tail of frames after the groups of eight")
        #expect(ours.values.count == reference.count)
        let agreement = Agreement(ours.values, reference.map(Float.init))
        #expect(agreement.outsideTolerance == 0, "\(agreement)")
    }

    /// Tones, noise and a near-silent stretch (so top_db clips).
    static func testSignal(count: Int) -> [Float] {
        var state: UInt32 = 12_345
        return (0..<count).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Double(state >> 8) / Double(1 << 24) - 0.5
            let t = Double(i) / 22_050
            let loudness = i < count / 3 ? 1e-5 : 0.5
            return Float(loudness * (sin(2 * .pi * 440 * t) + 0.3 * sin(2 * .pi * 3_150 * t) + 0.05 * noise))
        }
    }

    static func directMFCC(_ x: [Float], configuration c: MFCCConfiguration, filterbank: MelFilterbank) -> [Double] {
        let n = c.fftSize, bins = n / 2 + 1, frames = 1 + x.count / c.hopLength
        let padded = [Double](repeating: 0, count: n / 2) + x.map(Double.init) + [Double](repeating: 0, count: n / 2 + c.hopLength)
        let window = (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
        let cosines = (0..<n).map { cos(2 * Double.pi * Double($0) / Double(n)) }
        let sines = (0..<n).map { sin(2 * Double.pi * Double($0) / Double(n)) }
        let weights = filterbank.denseWeights.map(Double.init)
        var melDB = [Double](repeating: 0, count: c.melBandCount * frames)
        for t in 0..<frames {
            let frame = (0..<n).map { padded[t * c.hopLength + $0] * window[$0] }
            var power = [Double](repeating: 0, count: bins)
            for k in 0..<bins {
                var (re, im) = (0.0, 0.0)
                for i in 0..<n { re += frame[i] * cosines[k * i % n]; im -= frame[i] * sines[k * i % n] }
                power[k] = re * re + im * im
            }
            for m in 0..<c.melBandCount {
                var sum = 0.0
                for k in 0..<bins { sum += weights[m * bins + k] * power[k] }
                melDB[m * frames + t] = 10 * log10(max(sum, 1e-10))
            }
        }
        let floor = melDB.max()! - Double(c.topDB!)
        var out = [Double](repeating: 0, count: c.coefficientCount * frames)
        let bandCount = Double(c.melBandCount)
        for k in 0..<c.coefficientCount {
            let scale = (k == 0 ? 1 / bandCount : 2 / bandCount).squareRoot()
            for t in 0..<frames {
                var sum = 0.0
                for m in 0..<c.melBandCount {
                    sum += scale * cos(Double.pi * Double(k) * (2 * Double(m) + 1) / (2 * bandCount)) * max(melDB[m * frames + t], floor)
                }
                out[k * frames + t] = sum
            }
        }
        return out
    }

    /// The extractor keeps working memory between calls: a short input after a long one must not
    /// see the long one's values.
    @Test func reuseAfterALongerInputGivesTheSameResult() throws {
        let long = Self.testSignal(count: 100_000), short = Array(Self.testSignal(count: 30_000).reversed())
        let reused = try MFCCExtractor()
        _ = reused.mfcc(long)
        #expect(reused.mfcc(short) == (try MFCCExtractor()).mfcc(short))
        _ = reused.mfcc(long)
        #expect(reused.melSpectrogramDB(short) == (try MFCCExtractor()).melSpectrogramDB(short))
    }

    @Test func rejectsImpossibleParameters() {
        var configuration = MFCCConfiguration()
        configuration.coefficientCount = 200
        #expect(throws: AudioError.self) { try MFCCExtractor(configuration: configuration) }
        configuration = MFCCConfiguration()
        configuration.maximumFrequency = -1
        #expect(throws: AudioError.self) { try MFCCExtractor(configuration: configuration) }
        for topDB in [-1, Float.nan, .infinity] {
            configuration = MFCCConfiguration()
            configuration.topDB = topDB
            #expect(throws: AudioError.self) { try MFCCExtractor(configuration: configuration) }
        }
    }

    /// Many extractors planning FFTs at once: the planner lock must keep FFTW consistent.
    @Test func parallelExtractorsAgree() async throws {
        let samples = try Fixtures.referenceSamples("wesnoth-battle.ogg")
        let expected = try MFCCExtractor().mfcc(samples)
        try await withThrowingTaskGroup(of: FeatureMatrix.self) { group in
            for _ in 0..<8 { group.addTask { try MFCCExtractor().mfcc(samples) } }
            for try await matrix in group { #expect(matrix == expected) }
        }
    }
}

@Suite struct Decibels {
    /// The libm-free dB conversion stays within 2e-5 dB of 10·log10 over the whole clipped range.
    @Test func matchesLog10() {
        var x: Float = 1e-12
        while x < 1e12 {
            let exact = 10 * log10(max(Double(x), 1e-10))
            #expect(abs(Double(MFCCExtractor.decibels(x)) - exact) < 2e-5, "x = \(x)")
            x *= 1.0137
        }
        #expect(MFCCExtractor.decibels(0) == MFCCExtractor.decibels(1e-10))
    }
}

@Suite struct MelFilterbankMatchesLibrosa {
    @Test func slaneyScaleRoundTrips() {
        for hz in [0.0, 100, 999.9, 1000, 4000, 11_025] {
            #expect(abs(MelFilterbank.melToHz(MelFilterbank.hzToMel(hz)) - hz) < 1e-9)
        }
        #expect(abs(MelFilterbank.hzToMel(1000) - 15) < 1e-12)
    }

    @Test func defaultBankShape() throws {
        let bank = try MelFilterbank(sampleRate: 22_050, fftSize: 2048, bandCount: 128)
        #expect(bank.bandCount == 128)
        #expect(bank.filters.allSatisfy { !$0.weights.isEmpty })
        // librosa.filters.mel(sr=22050, n_fft=2048)[0, 1] and [127].sum(), float32.
        #expect(abs(bank.denseWeights[1] - 0.016182853) < 1e-8)
    }
}
