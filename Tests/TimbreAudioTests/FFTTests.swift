import Foundation
import Testing
@testable import TimbreAudio

/// Both kinds of transform against the DFT sum computed directly in Double.
@Suite struct FFTMatchesTheDFT {
    @Test(arguments: [FFT.Kind.realInput, .complexInput], [16, 30, 2048])
    func forwardTransform(kind: FFT.Kind, size: Int) throws {
        let fft = try FFT(size: size, kind: kind, spectrumCount: 2)
        var state: UInt32 = 7
        let signal: [Float] = (0..<fft.input.count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 23) - 1
        }
        for (i, x) in signal.enumerated() { fft.input[i] = x }
        fft.transform(intoSpectrum: 1)
        let spectrum = fft.output.baseAddress! + fft.spectrumStride
        var worst = 0.0
        for k in 0..<fft.binCount {
            var (re, im) = (0.0, 0.0)
            for n in 0..<size {
                let (xr, xi) = kind == .realInput ? (Double(signal[n]), 0) : (Double(signal[2 * n]), Double(signal[2 * n + 1]))
                let angle = -2 * Double.pi * Double(k * n % size) / Double(size)
                re += xr * cos(angle) - xi * sin(angle)
                im += xr * sin(angle) + xi * cos(angle)
            }
            worst = max(worst, abs(Double(spectrum[2 * k]) - re), abs(Double(spectrum[2 * k + 1]) - im))
        }
        // Float32 rounding over log2(size) stages of sums of ~√size magnitude.
        #expect(worst < 1e-4 * Double(size).squareRoot(), "\(kind) \(size): max |Δ| \(worst)")
        #expect(fft.binCount == (kind == .realInput ? size / 2 + 1 : size))
    }
}

/// The batched inverse against the inverse DFT sum, in Double, for every transform of the grid
/// (so a wrong stride shows as a wrong transform).
@Suite struct BatchedInverseMatchesTheDFT {
    @Test(arguments: [8, 96])
    func everyTransformOfTheGrid(size: Int) throws {
        let rows = 3, columns = 5
        let fft = try BatchedInverseComplexFFT(size: size, rows: rows, columns: columns, rowStride: 2 * columns + 4)
        var state: UInt32 = 11
        func next() -> Float {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 23) - 1
        }
        let spectra = (0..<fft.data.count).map { _ in next() }
        for (i, x) in spectra.enumerated() { fft.data[i] = x }
        fft.transform()
        var worst = 0.0
        for r in 0..<rows { for c in 0..<columns { for n in 0..<size {
            var re = 0.0, im = 0.0
            for k in 0..<size {
                let at = k * fft.binStride + r * fft.rowStride + 2 * c
                let angle = 2 * Double.pi * Double(k * n % size) / Double(size)
                re += Double(spectra[at]) * cos(angle) - Double(spectra[at + 1]) * sin(angle)
                im += Double(spectra[at]) * sin(angle) + Double(spectra[at + 1]) * cos(angle)
            }
            let at = n * fft.binStride + r * fft.rowStride + 2 * c
            worst = max(worst, abs(Double(fft.data[at]) - re), abs(Double(fft.data[at + 1]) - im))
        }}}
        #expect(worst < 1e-4 * Double(size).squareRoot(), "size \(size): max |Δ| \(worst)")
        let bad = #expect(throws: AudioError.self) { try BatchedInverseComplexFFT(size: 8, rows: 2, columns: 4, rowStride: 6) }
        #expect("\(bad.map { "\($0)" } ?? "")".contains("row stride 6"))
    }
}
