import CFFTW
import Foundation

/// A planned single-precision real-to-complex FFT with its own aligned buffers. The only place
/// that talks to FFTW.
///
/// Fill `input` (all of it, every time: the transform overwrites it), call `transform()`, read `output` (size/2 + 1 complex bins, interleaved re/im).
/// Not `Sendable`: the buffers are working memory; give each thread its own instance.
public final class RealFFT {
    public let size: Int
    public let binCount: Int
    /// `size` real samples.
    public let input: UnsafeMutableBufferPointer<Float>
    /// `binCount` complex bins as (re, im) pairs, `2 × binCount` floats.
    public let output: UnsafeMutableBufferPointer<Float>
    private let plan: fftwf_plan

    /// FFTW's planner keeps global tables (wisdom) and is not thread-safe; plan creation and
    /// destruction are serialised here, execution is not.
    private static let plannerLock = NSLock()

    public enum Rigor: Sendable {
        /// Times candidate algorithms once per size (later plans of the same size reuse wisdom).
        case measure
        /// Picks an algorithm heuristically; for one-off transforms.
        case estimate
        /// FFTW_DESTROY_INPUT: `input` is refilled before every transform, so FFTW may use it as
        /// scratch; preserving it made the r2c plan copy it first (fftwf_cpy2d in profiles).
        var flags: UInt32 { (self == .measure ? UInt32(FFTW_MEASURE) : UInt32(FFTW_ESTIMATE)) | UInt32(FFTW_DESTROY_INPUT) }
    }

    public init(size: Int, rigor: Rigor = .measure) throws(AudioError) {
        guard size >= 2 else { throw .invalidArgument("FFT size must be ≥ 2, got \(size)") }
        self.size = size
        binCount = size / 2 + 1
        guard let inputBase = fftwf_alloc_real(size),
              let outputBase = fftwf_alloc_complex(binCount) else {
            throw .library("fftwf_alloc failed for size \(size)")
        }
        let plan = Self.plannerLock.withLock {
            fftwf_plan_dft_r2c_1d(Int32(size), inputBase, outputBase, rigor.flags)
        }
        guard let plan else {
            fftwf_free(inputBase)
            fftwf_free(outputBase)
            throw .library("fftwf_plan_dft_r2c_1d failed for size \(size)")
        }
        self.plan = plan
        input = UnsafeMutableBufferPointer(start: inputBase, count: size)
        output = UnsafeMutableBufferPointer(
            start: UnsafeMutableRawPointer(outputBase).assumingMemoryBound(to: Float.self), count: 2 * binCount)
        // Planning with FFTW_MEASURE scribbles on the buffers.
        input.update(repeating: 0)
    }

    deinit {
        Self.plannerLock.withLock { fftwf_destroy_plan(plan) }
        fftwf_free(input.baseAddress)
        fftwf_free(output.baseAddress)
    }

    /// Transforms `input` into `output`.
    @inline(__always)
    public func transform() {
        fftwf_execute(plan)
    }
}
