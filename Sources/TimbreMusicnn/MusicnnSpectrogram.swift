import Foundation
import TimbreAudio

/// musicnn's input (musicnn/extractor.py `batch_data`): librosa 0.11 `feature.melspectrogram` of
/// 16 kHz audio with n_fft 512, hop 256, 96 Slaney mel bands (periodic Hann, centred zero padding,
/// power 2), rounded to float16, then log10(10000 · S + 1), cut into non-overlapping patches of 187
/// frames (3 s); the frames after the last whole patch are dropped, as musicnn does.
///
/// The log is taken in float32. musicnn takes it in float16, where 10000 · S overflows to inf for
/// any bin louder than S = 6.55 (most patches of loud music); the float16 rounding of S itself is
/// kept, because the model was trained on it.
///
/// Frames are computed patch by patch, so a long track never holds its whole spectrogram.
/// Not `Sendable` (FFT buffers): one per thread.
public final class MusicnnSpectrogram {
    public static let sampleRate = 16_000
    public static let fftSize = 512
    public static let hop = 256
    public static let bands = MusicnnNetwork.bands
    public static let framesPerPatch = MusicnnNetwork.frames

    private let fft: FFT
    private let window: [Float]
    private let filterbank: MelFilterbank
    private var power: [Float]

    public init() throws(AudioError) {
        fft = try FFT(size: Self.fftSize, kind: .realInput)
        // scipy.signal.get_window('hann', n, fftbins=True): the periodic window.
        window = (0..<Self.fftSize).map { i in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(Self.fftSize))) }
        filterbank = try MelFilterbank(sampleRate: Self.sampleRate, fftSize: Self.fftSize, bandCount: Self.bands)
        power = [Float](repeating: 0, count: Self.fftSize / 2 + 1)
    }

    /// librosa's frame count with centring: 1 + n / hop.
    public static func frameCount(sampleCount: Int) -> Int { 1 + sampleCount / hop }

    /// Whole patches in `sampleCount` samples (musicnn's `range(0, frames − 187 + 1, 187)`).
    public static func patchCount(sampleCount: Int) -> Int {
        let frames = frameCount(sampleCount: sampleCount)
        return frames < framesPerPatch ? 0 : (frames - framesPerPatch) / framesPerPatch + 1
    }

    /// The samples patch `index` reads: from its first frame's window start to its last one's
    /// end (frames are centred: frame t covers samples t · hop − 256 ..< t · hop + 256).
    public static func sampleRange(ofPatch index: Int) -> Range<Int> {
        let first = index * framesPerPatch
        return (first * hop - fftSize / 2)..<((first + framesPerPatch - 1) * hop + fftSize / 2)
    }

    /// Writes patch `index` (187 × 96, time-major) to `output`. `signal` holds the track's samples
    /// from sample `offset` on: at least `sampleRange(ofPatch:)` clipped to the track, since any
    /// sample outside `signal` counts as librosa's zero padding.
    public func patch(_ index: Int, of signal: UnsafeBufferPointer<Float>, startingAt offset: Int = 0,
                      into output: UnsafeMutablePointer<Float>) {
        let first = index * Self.framesPerPatch
        for t in 0..<Self.framesPerPatch { frame(first + t, of: signal, startingAt: offset, into: output + t * Self.bands) }
    }

    /// The log-mel values of frame `t` (96 bands).
    func frame(_ t: Int, of signal: UnsafeBufferPointer<Float>, startingAt offset: Int = 0, into output: UnsafeMutablePointer<Float>) {
        let n = signal.count, size = Self.fftSize
        let start = t * Self.hop - size / 2 - offset
        let input = fft.input.baseAddress!
        if start >= 0 && start + size <= n {
            for i in 0..<size { input[i] = signal[start + i] * window[i] }
        } else {
            for i in 0..<size {
                let j = start + i
                input[i] = j >= 0 && j < n ? signal[j] * window[i] : 0
            }
        }
        fft.transform()
        let spectrum = fft.output.baseAddress!
        for k in 0..<power.count {
            let re = spectrum[2 * k], im = spectrum[2 * k + 1]
            power[k] = re * re + im * im
        }
        for (m, filter) in filterbank.filters.enumerated() {
            var sum: Float = 0
            for (j, weight) in filter.weights.enumerated() { sum += weight * power[filter.firstBin + j] }
            output[m] = Self.compress(sum)
        }
    }

    /// log10(10000 · float16(S) + 1), the log in float32.
    @inline(__always)
    static func compress(_ melPower: Float) -> Float { log10(10_000 * Float(Float16(melPower)) + 1) }
}
