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
