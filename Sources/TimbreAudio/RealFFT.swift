import CFFTW
import Foundation

/// A planned single-precision real-to-complex FFT with its own aligned buffers. The only place
/// that talks to FFTW.
///
/// Fill `input`, call `transform()`, read the spectrum from `output` (size/2 + 1 complex bins,
/// interleaved re/im). With `spectrumCount` > 1, `transform(intoSpectrum:)` writes spectrum j at
/// `output + j × spectrumStride`, so a caller can keep several frames' spectra side by side.
/// Not `Sendable`: the buffers are working memory; give each thread its own instance.
public final class RealFFT {
    public let size: Int
    public let binCount: Int
    /// `size` real samples.
    public let input: UnsafeMutableBufferPointer<Float>
    /// `spectrumCount` spectra of `binCount` complex bins as (re, im) pairs, `spectrumStride`
    /// floats apart.
    public let output: UnsafeMutableBufferPointer<Float>
    public let spectrumCount: Int
    /// 2 × binCount rounded up to 64 bytes: FFTW only executes a plan on arrays aligned like the
    /// ones it was planned with.
    public let spectrumStride: Int
    private let plan: fftwf_plan

    public enum Rigor: Sendable {
        /// Times candidate algorithms once per size (later plans of the same size reuse wisdom).
        case measure
        /// Picks an algorithm heuristically; for one-off transforms.
        case estimate
        var flags: UInt32 { self == .measure ? UInt32(FFTW_MEASURE) : UInt32(FFTW_ESTIMATE) }
    }

    public init(size: Int, spectrumCount: Int = 1, rigor: Rigor = .measure) throws(AudioError) {
        guard size >= 2 else { throw .invalidArgument("FFT size must be ≥ 2, got \(size)") }
        guard spectrumCount >= 1 else { throw .invalidArgument("need ≥ 1 output spectrum, got \(spectrumCount)") }
        self.size = size
        binCount = size / 2 + 1
        self.spectrumCount = spectrumCount
        spectrumStride = (2 * binCount + 15) / 16 * 16
        guard let inputBase = fftwf_alloc_real(size),
              let outputBase = fftwf_alloc_real(spectrumStride * spectrumCount) else {
            throw .library("fftwf_alloc failed for size \(size)")
        }
        let plan = FFTWPlanner.lock.withLock {
            fftwf_plan_dft_r2c_1d(Int32(size), inputBase, Self.complex(outputBase), rigor.flags)
        }
        guard let plan else {
            fftwf_free(inputBase)
            fftwf_free(outputBase)
            throw .library("fftwf_plan_dft_r2c_1d failed for size \(size)")
        }
        self.plan = plan
        input = UnsafeMutableBufferPointer(start: inputBase, count: size)
        output = UnsafeMutableBufferPointer(start: outputBase, count: spectrumStride * spectrumCount)
        // Planning with FFTW_MEASURE scribbles on the buffers.
        input.update(repeating: 0)
    }

    deinit {
        FFTWPlanner.lock.withLock { fftwf_destroy_plan(plan) }
        fftwf_free(input.baseAddress)
        fftwf_free(output.baseAddress)
    }

    /// Transforms `input` into spectrum `index` of `output`.
    @inline(__always)
    public func transform(intoSpectrum index: Int = 0) {
        precondition(index >= 0 && index < spectrumCount, "spectrum index out of range")
        fftwf_execute_dft_r2c(plan, input.baseAddress, Self.complex(output.baseAddress! + index * spectrumStride))
    }

    static func complex(_ floats: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<fftwf_complex> {
        UnsafeMutableRawPointer(floats).assumingMemoryBound(to: fftwf_complex.self)
    }
}

/// FFTW's planner keeps global tables (wisdom) and is not thread-safe: every plan creation and
/// destruction in this module goes through this lock; execution does not.
enum FFTWPlanner {
    static let lock = NSLock()
}
