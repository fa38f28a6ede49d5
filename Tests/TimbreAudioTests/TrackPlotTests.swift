import Foundation
import Testing
@testable import TimbreAudio

/// Issue 12: the waveform was stretched to each track's peak (a file rejected as silent looked
/// loud) and the spectrogram's colours ran over each file's own dB range, so two plots could not
/// be compared. Both scales are absolute now.
struct TrackPlotTests {
    let extractor = try! MFCCExtractor()

    func sine(amplitude: Float) -> [Float] {
        (0..<44_100).map { amplitude * Float(sin(2 * Double.pi * 1000 * Double($0) / 22_050)) }
    }

    func plot(_ samples: [Float]) -> RGBImage {
        TrackPlot().render(samples: samples, sampleRate: 22_050, melDB: extractor.melSpectrogramDB(samples),
                           referenceDB: extractor.fullScaleReferenceDB(), filterbank: extractor.filterbank, title: "t")
    }

    /// The waveform's ink, column by column: a sine 40 dB below full scale covers about 1 % of
    /// the full-scale sine's height (the old plot drew both full height).
    @Test func theWaveformIsOnAFullScaleAxis() {
        let wave = RGB(31, 119, 180)
        func ink(_ image: RGBImage) -> Int {
            var n = 0
            for y in 0..<image.height { for x in 0..<image.width where image[x, y] == wave { n += 1 } }
            return n
        }
        let loud = ink(plot(sine(amplitude: 1))), quiet = ink(plot(sine(amplitude: 0.01)))
        #expect(loud > 1000 * 140)
        #expect(Double(quiet) < 0.05 * Double(loud), "\(quiet) of \(loud)")
    }

    /// Colours are dBFS over −90…0: the full-scale 1 kHz sine's band takes the top colour, the
    /// same sine at 0.01 (−40 dBFS) the colour 50/90 up the scale (the old plot gave both the top).
    @Test func theSpectrogramIsInDBFS() {
        func brightest(_ image: RGBImage) -> RGB {
            // The spectrogram panel: below the waveform (34 + 150 + 36), left of the colour bar.
            var best = RGB(0, 0, 0)
            for y in 220..<600 { for x in 70..<1100 {
                let c = image[x, y]
                if Int(c.r) + Int(c.g) + Int(c.b) > Int(best.r) + Int(best.g) + Int(best.b) { best = c }
            } }
            return best
        }
        func close(_ a: RGB, _ b: RGB) -> Bool { abs(Int(a.r) - Int(b.r)) <= 3 && abs(Int(a.g) - Int(b.g)) <= 3 && abs(Int(a.b) - Int(b.b)) <= 3 }
        let loud = brightest(plot(sine(amplitude: 1))), quiet = brightest(plot(sine(amplitude: 0.01)))
        #expect(close(loud, Colormap.magma(1)), "\(loud)")
        #expect(close(quiet, Colormap.magma(50.0 / 90)), "\(quiet) vs \(Colormap.magma(50.0 / 90))")
    }
}
