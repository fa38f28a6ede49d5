import CFFTW
import Foundation

/// A planned single-precision forward FFT with its own aligned buffers. The only place that
/// talks to FFTW.
///
/// Two kinds:
/// - `.realInput`: `size` real samples in, `size/2 + 1` complex bins out (the classic r2c);
/// - `.complexInput`: `size` complex samples in, `size` bins out. The MFCC uses it to transform
///   two real frames at once, frame a as the real part and frame b as the imaginary part: FFTW's
///   complex codelets are SIMD throughout, so one complex transform costs about 0.6 of two
///   real-input ones (measured for 2 048 points: 1.19 ms against 2.02 ms per 1 292 frames), and
///   the two spectra separate with additions only.
///
/// Fill `input` (interleaved re, im for complex input), call `transform(intoSpectrum:)`, read
/// the bins, interleaved re/im, from `output + j × spectrumStride`. With `spectrumCount` > 1 a
/// caller keeps several frames' spectra side by side. Each spectrum has room for one more complex
/// bin after its last, free for the caller (the MFCC copies bin 0 there so bin N − k never wraps).
/// Not `Sendable`: the buffers are working memory; give each thread its own instance.
public final class FFT {
    public enum Kind: Sendable { case realInput, complexInput }

    public enum Rigor: Sendable {
        /// Times candidate algorithms once per size (later plans of the same size reuse wisdom).
        case measure
        /// Picks an algorithm heuristically; for one-off transforms.
        case estimate
        var flags: UInt32 { self == .measure ? UInt32(FFTW_MEASURE) : UInt32(FFTW_ESTIMATE) }
    }

    public let size: Int
    public let kind: Kind
    /// Complex bins per spectrum: size/2 + 1 for real input, size for complex input.
    public let binCount: Int
    public let input: UnsafeMutableBufferPointer<Float>
    public let output: UnsafeMutableBufferPointer<Float>
    public let spectrumCount: Int
    /// 2 × (binCount + 1) floats rounded up to 64 bytes: FFTW only executes a plan on arrays
    /// aligned like the ones it was planned with.
    public let spectrumStride: Int
    private let plan: fftwf_plan

    /// FFTW's planner keeps global tables (wisdom) and is not thread-safe: plan creation and
    /// destruction are serialised here, execution is not.
    static let plannerLock = NSLock()

    /// Two FFTW-aligned float buffers (an input and an output), or an error naming `what`;
    /// neither is left allocated when the other cannot be.
    static func allocatePair(_ first: Int, _ second: Int, what: String) throws(AudioError)
        -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        guard let a = fftwf_alloc_real(first) else { throw .library("fftwf_alloc failed for \(what)") }
        guard let b = fftwf_alloc_real(second) else {
            fftwf_free(a)
            throw .library("fftwf_alloc failed for \(what)")
        }
        return (a, b)
    }

    /// Plans under the planner lock; when FFTW cannot, frees `buffers` and throws `failure`.
    static func plan(freeing buffers: UnsafeMutablePointer<Float>..., failure: String,
                     _ make: () -> fftwf_plan?) throws(AudioError) -> fftwf_plan {
        guard let plan = plannerLock.withLock(make) else {
            for buffer in buffers { fftwf_free(buffer) }
            throw .library(failure)
        }
        return plan
    }

    /// Destroys `plan` under the planner lock and frees its buffers.
    static func destroy(_ plan: fftwf_plan, freeing buffers: UnsafeMutablePointer<Float>?...) {
        plannerLock.withLock { fftwf_destroy_plan(plan) }
        for buffer in buffers { fftwf_free(buffer) }
    }

    public init(size: Int, kind: Kind = .realInput, spectrumCount: Int = 1, rigor: Rigor = .measure) throws(AudioError) {
        guard size >= 2 else { throw .invalidArgument("FFT size must be ≥ 2, got \(size)") }
        guard spectrumCount >= 1 else { throw .invalidArgument("need ≥ 1 output spectrum, got \(spectrumCount)") }
        self.size = size
        self.kind = kind
        self.spectrumCount = spectrumCount
        binCount = kind == .realInput ? size / 2 + 1 : size
        spectrumStride = (2 * (binCount + 1) + 15) / 16 * 16
        let inputCount = kind == .realInput ? size : 2 * size
        let (inputBase, outputBase) = try Self.allocatePair(inputCount, spectrumStride * spectrumCount, what: "size \(size)")
        let plan = try Self.plan(freeing: inputBase, outputBase, failure: "FFTW could not plan a \(kind) transform of size \(size)") {
            switch kind {
            case .realInput:
                fftwf_plan_dft_r2c_1d(Int32(size), inputBase, Self.complex(outputBase), rigor.flags)
            case .complexInput:
                fftwf_plan_dft_1d(Int32(size), Self.complex(inputBase), Self.complex(outputBase), FFTW_FORWARD, rigor.flags)
            }
        }
        self.plan = plan
        input = UnsafeMutableBufferPointer(start: inputBase, count: inputCount)
        output = UnsafeMutableBufferPointer(start: outputBase, count: spectrumStride * spectrumCount)
        // Planning with FFTW_MEASURE scribbles on the buffers.
        input.update(repeating: 0)
    }

    deinit { Self.destroy(plan, freeing: input.baseAddress, output.baseAddress) }

    /// Transforms `input` into spectrum `index` of `output`.
    @inline(__always)
    public func transform(intoSpectrum index: Int = 0) {
        precondition(index >= 0 && index < spectrumCount, "spectrum index out of range")
        let spectrum = Self.complex(output.baseAddress! + index * spectrumStride)
        switch kind {
        case .realInput: fftwf_execute_dft_r2c(plan, input.baseAddress, spectrum)
        case .complexInput: fftwf_execute_dft(plan, Self.complex(input.baseAddress!), spectrum)
        }
    }

    static func complex(_ floats: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<fftwf_complex> {
        UnsafeMutableRawPointer(floats).assumingMemoryBound(to: fftwf_complex.self)
    }
}

/// Many inverse complex FFTs of one size at once, in place, batched over a rows × columns grid
/// of transforms: FFTW's guru interface, whose complex codelets are SIMD across the batch. Built
/// for musicnn's frequency-domain convolutions, which pack two real outputs into each complex
/// transform (measured for 17 × 102 transforms of 96 points: 0.17 ms, against 0.36 ms for the
/// 17 × 204 inverse real transforms they replace).
///
/// Layout (floats): element k of transform (r, c) — bin k before `transform()`, sample k after —
/// has its real part at `data[k · binStride + r · rowStride + 2c]` and its imaginary part right
/// after it. The output is unnormalised (FFTW's convention: N times the inverse DFT).
/// Not `Sendable`: the buffer is working memory; give each thread its own instance.
public final class BatchedInverseComplexFFT {
    public let size: Int
    public let rows: Int
    public let columns: Int
    public let rowStride: Int
    public let binStride: Int
    public let data: UnsafeMutableBufferPointer<Float>
    private let plan: fftwf_plan

    public init(size: Int, rows: Int, columns: Int, rowStride: Int) throws(AudioError) {
        guard size >= 2, rows >= 1, columns >= 1, rowStride >= 2 * columns, rowStride % 2 == 0 else {
            throw .invalidArgument("batched inverse FFT: size \(size), \(rows) × \(columns), row stride \(rowStride) do not fit")
        }
        self.size = size
        self.rows = rows
        self.columns = columns
        self.rowStride = rowStride
        binStride = rows * rowStride
        let count = size * binStride
        guard let base = fftwf_alloc_real(count) else { throw .library("fftwf_alloc failed for \(size) × \(binStride) floats") }
        // Strides count complex values; in place, so the output strides are the input ones.
        var dims = [fftwf_iodim(n: Int32(size), is: Int32(binStride / 2), os: Int32(binStride / 2))]
        var batch = [fftwf_iodim(n: Int32(rows), is: Int32(rowStride / 2), os: Int32(rowStride / 2)), fftwf_iodim(n: Int32(columns), is: 1, os: 1)]
        let plan = try FFT.plan(freeing: base, failure: "FFTW could not plan \(rows) × \(columns) inverse complex transforms of size \(size)") {
            fftwf_plan_guru_dft(1, &dims, 2, &batch, FFT.complex(base), FFT.complex(base), FFTW_BACKWARD, UInt32(FFTW_MEASURE))
        }
        self.plan = plan
        data = UnsafeMutableBufferPointer(start: base, count: count)
        // Planning with FFTW_MEASURE scribbles on the buffer.
        data.update(repeating: 0)
    }

    deinit { FFT.destroy(plan, freeing: data.baseAddress) }

    @inline(__always)
    public func transform() {
        fftwf_execute_dft(plan, FFT.complex(data.baseAddress!), FFT.complex(data.baseAddress!))
    }
}
