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
        for count in [0, 1, 511, 512, 513, 22_050, 661_500] {
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

    @Test func rejectsImpossibleParameters() {
        var configuration = MFCCConfiguration()
        configuration.coefficientCount = 200
        #expect(throws: AudioError.self) { try MFCCExtractor(configuration: configuration) }
        configuration = MFCCConfiguration()
        configuration.maximumFrequency = -1
        #expect(throws: AudioError.self) { try MFCCExtractor(configuration: configuration) }
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
