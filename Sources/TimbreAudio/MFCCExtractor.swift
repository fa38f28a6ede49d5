import Foundation

/// The knobs of `librosa.feature.mfcc`, defaulting to librosa 0.11's own defaults.
public struct MFCCConfiguration: Sendable, Hashable, Codable {
    public var sampleRate: Int = 22_050
    public var coefficientCount: Int = 20
    public var melBandCount: Int = 128
    public var fftSize: Int = 2_048
    public var hopLength: Int = 512
    public var minimumFrequency: Double = 0
    /// nil means sampleRate / 2.
    public var maximumFrequency: Double? = nil
    /// Dynamic range kept by power_to_db, relative to the loudest value of the whole input.
    /// nil keeps everything down to amin (−100 dB); then the quietest values carry the float32
    /// rounding of the transform they share with the neighbouring frame (two frames go through
    /// one complex FFT), about 140 dB below that frame's loudest bins, where librosa's per-frame
    /// double-precision FFT reaches −100 dB exactly. With a top_db of up to 120 this is clipped away.
    public var topDB: Float? = 80

    public init() {}

    /// Extractor settings as stored with the features in the catalog.
    public var catalogDescription: [String: String] {
        [
            "implementation": "timbre-mfcc (librosa 0.11 feature.mfcc equivalent)",
            "sr": String(sampleRate), "n_mfcc": String(coefficientCount), "n_mels": String(melBandCount),
            "n_fft": String(fftSize), "hop_length": String(hopLength), "window": "hann",
            "center": "true", "pad_mode": "constant", "fmin": String(minimumFrequency),
            "fmax": String(maximumFrequency ?? Double(sampleRate) / 2), "htk": "false", "norm": "slaney",
            "top_db": topDB.map { String($0) } ?? "none", "dct": "II ortho",
        ]
    }
}

/// A row-major matrix of Float32 (rows are coefficients or mel bands, columns are frames).
public struct FeatureMatrix: Sendable, Equatable {
    public let rowCount: Int
    public let columnCount: Int
    public var values: [Float]

    public init(rowCount: Int, columnCount: Int, values: [Float]) {
        precondition(values.count == rowCount * columnCount, "matrix shape does not match its storage")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }

    public subscript(row: Int, column: Int) -> Float { values[row * columnCount + column] }

    public func row(_ row: Int) -> ArraySlice<Float> { values[(row * columnCount)..<((row + 1) * columnCount)] }

    /// Little-endian Float32 bytes, row-major: the catalog's `audio_features.mfcc` layout.
    public var littleEndianBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (i, value) in values.enumerated() { raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return bytes
    }
}

/// MFCCs numerically equal to librosa 0.11 `feature.mfcc(y, sr)`: periodic Hann STFT with
/// centred zero padding, power spectrum, Slaney mel filterbank, power_to_db (ref 1, amin 1e-10,
/// top_db over the whole input), orthonormal DCT-II.
///
/// Owns its FFT plan and working buffers, reused across frames and calls; not `Sendable` (make
/// one per thread, which is cheap after the first: FFTW reuses its wisdom).
public final class MFCCExtractor {
    public let configuration: MFCCConfiguration
    public let filterbank: MelFilterbank
    private let fft: FFT
    private let window: [Float]
    /// The window with every value twice (w0 w0 w1 w1 …), to multiply interleaved frame pairs.
    private let pairedWindow: [Float]
    /// Orthonormal DCT-II rows, coefficientCount × melBandCount.
    private let dctMatrix: [Float]
    private let dct: SymmetricDCT
    /// Power spectra of one batch of frames, bin-major.
    private var power: [Float]
    /// The dB mel spectrogram of the last input, kept between calls so a track's working memory
    /// (0.7 MB per 30 s) is not allocated and faulted in again for each track; it keeps the size
    /// of the longest input seen (13 MB after a 10-minute track), per extractor.
    private var melScratch: [Float] = []
    /// Frames per batch; the power and mel loops below are written for exactly eight (SIMD8).
    private static let batch = 8
    /// The filterbank flattened for the inner loop: filter m covers bins firstBins[m]… with
    /// weights packedWeights[weightStarts[m] ..< weightStarts[m + 1]].
    private let packedWeights: [Float]
    private let weightStarts: [Int]
    private let firstBins: [Int]

    public init(configuration: MFCCConfiguration = MFCCConfiguration()) throws(AudioError) {
        let c = configuration
        guard c.hopLength >= 1 else { throw .invalidArgument("hop length must be ≥ 1, got \(c.hopLength)") }
        guard c.fftSize >= 2, c.fftSize % 2 == 0 else { throw .invalidArgument("FFT size must be even and ≥ 2, got \(c.fftSize)") }
        if let topDB = c.topDB, !(topDB >= 0 && topDB.isFinite) {
            throw .invalidArgument("top_db must be ≥ 0 and finite, got \(topDB)")
        }
        guard c.coefficientCount >= 1, c.coefficientCount <= c.melBandCount else {
            throw .invalidArgument("need 1 ≤ n_mfcc ≤ n_mels, got \(c.coefficientCount) and \(c.melBandCount)")
        }
        self.configuration = c
        filterbank = try MelFilterbank(sampleRate: c.sampleRate, fftSize: c.fftSize, bandCount: c.melBandCount,
                                       minimumFrequency: c.minimumFrequency, maximumFrequency: c.maximumFrequency)
        fft = try FFT(size: c.fftSize, kind: .complexInput, spectrumCount: Self.batch / 2)
        // scipy.signal.get_window('hann', n, fftbins=True): the periodic window.
        window = (0..<c.fftSize).map { i in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(c.fftSize))) }
        pairedWindow = window.flatMap { [$0, $0] }
        let bands = c.melBandCount
        var dct = [Float](repeating: 0, count: c.coefficientCount * bands)
        for k in 0..<c.coefficientCount {
            let scale = k == 0 ? (1.0 / Double(bands)).squareRoot() : (2.0 / Double(bands)).squareRoot()
            for m in 0..<bands {
                dct[k * bands + m] = Float(scale * cos(Double.pi * Double(k) * (2 * Double(m) + 1) / (2 * Double(bands))))
            }
        }
        dctMatrix = dct
        self.dct = SymmetricDCT(matrix: dct, coefficientCount: c.coefficientCount, bandCount: bands)
        power = [Float](repeating: 0, count: (c.fftSize / 2 + 1) * Self.batch)
        // The power spectra below come out as 4·|X|² (see separatedPowers); a quarter is exact in
        // binary floating point, so folding it into the weights changes no result.
        packedWeights = filterbank.filters.flatMap(\.weights).map { $0 * 0.25 }
        weightStarts = filterbank.filters.reduce(into: [0]) { $0.append($0.last! + $1.weights.count) }
        firstBins = filterbank.filters.map(\.firstBin)
    }

    /// Frames librosa produces for `sampleCount` samples with centring: 1 + n / hop.
    public func frameCount(forSampleCount sampleCount: Int) -> Int { 1 + sampleCount / configuration.hopLength }

    /// The mel power spectrogram in dB after top_db clipping, bands × frames.
    public func melSpectrogramDB(_ samples: [Float]) -> FeatureMatrix {
        let floor = melDBBandMajor(samples)
        let count = configuration.melBandCount * frameCount(forSampleCount: samples.count)
        let values = melScratch[..<count].map { max($0, floor) }
        return FeatureMatrix(rowCount: configuration.melBandCount, columnCount: frameCount(forSampleCount: samples.count),
                             values: values)
    }

    /// The level, in this extractor's mel dB (power_to_db, ref 1), of the strongest band of a
    /// full-scale (amplitude 1) 1 kHz sine: the 0 dBFS a plot measures against, so two tracks'
    /// spectrograms share one scale. (The band gain depends on frequency under Slaney's area
    /// normalisation: a full-scale sine elsewhere reads a few dB off 0.)
    public func fullScaleReferenceDB() -> Float {
        let rate = Double(configuration.sampleRate)
        let sine = (0..<configuration.sampleRate).map { Float(sin(2 * Double.pi * 1000 * Double($0) / rate)) }
        return melSpectrogramDB(sine).values.max() ?? 0
    }

    /// MFCCs, coefficientCount × frames (rows are coefficients).
    public func mfcc(_ samples: [Float]) -> FeatureMatrix {
        let floor = melDBBandMajor(samples)
        let frames = frameCount(forSampleCount: samples.count)
        let bands = configuration.melBandCount
        let coefficients = configuration.coefficientCount
        var out = [Float](repeating: 0, count: coefficients * frames)
        melScratch.withUnsafeBufferPointer { db in
        out.withUnsafeMutableBufferPointer { out in
        dct.weights.withUnsafeBufferPointer { weights in
        dct.rows.withUnsafeBufferPointer { rows in
        dct.even.withUnsafeBufferPointer { even in
                let db = db.baseAddress!, out = out.baseAddress!
                let tiled = frames / 8 * 8
                var t = 0
                while t < tiled {
                    dct.transform(db + t, rowStride: frames, floor: floor, into: out + t,
                                  weights: weights.baseAddress!, rows: rows.baseAddress!, even: even.baseAddress!)
                    t += 8
                }
                // The last frames one at a time, straight from the DCT matrix.
                for t in tiled..<frames {
                    for k in 0..<coefficients {
                        var sum: Float = 0
                        for m in 0..<bands { sum += dctMatrix[k * bands + m] * max(db[m * frames + t], floor) }
                        out[k * frames + t] = sum
                    }
                }
        }
        }
        }
        }
        }
        return FeatureMatrix(rowCount: coefficients, columnCount: frames, values: out)
    }

    /// Writes the dB mel spectrogram, bands × frames, not yet clipped, to the start of
    /// `melScratch`; returns the clip floor (max − top_db).
    private func melDBBandMajor(_ samples: [Float]) -> Float {
        let c = configuration
        let n = samples.count
        let frames = frameCount(forSampleCount: n)
        let bands = c.melBandCount
        let nfft = c.fftSize
        let half = nfft / 2
        let bins = nfft / 2 + 1
        if melScratch.count < frames * bands { melScratch = [Float](repeating: 0, count: frames * bands) }
        var loudest = SIMD8<Float>(repeating: -.infinity)
        let input = fft.input.baseAddress!
        let spectra = fft.output.baseAddress!
        let spectrumStride = fft.spectrumStride

        packedWeights.withUnsafeBufferPointer { packed in
        weightStarts.withUnsafeBufferPointer { weightStarts in
        firstBins.withUnsafeBufferPointer { firstBins in
        let weights = packed.baseAddress!
        samples.withUnsafeBufferPointer { signal in
            window.withUnsafeBufferPointer { window in
            pairedWindow.withUnsafeBufferPointer { pairedWindow in
                power.withUnsafeMutableBufferPointer { power in
                    melScratch.withUnsafeMutableBufferPointer { melDB in
                        // Frames go through in batches of `batch`: the power spectra of a batch are stored
                        // bin-major (bin k of all frames side by side), so applying a filter is a
                        // multiply-add across the frames of the batch, which the compiler vectorises,
                        // and each band's results land contiguously in the band-major output.
                        let batch = Self.batch
                        let powers = power.baseAddress!
                        var first = 0
                        while first < frames {
                            let count = min(batch, frames - first)
                            // Frames first + 2p and first + 2p + 1 go through one complex FFT as its real
                            // and imaginary parts.
                            for pair in 0..<(batch / 2) {
                                let a = first + 2 * pair
                                // Frame t covers padded[t·hop ..< t·hop + nfft], i.e. signal[t·hop − nfft/2 …].
                                let startA = a * c.hopLength - half, startB = startA + c.hopLength
                                if a + 1 < frames && startA >= 0 && startB + nfft <= n {
                                    Self.interleaveWindowed(signal.baseAddress! + startA, signal.baseAddress! + startB,
                                                            pairedWindow: pairedWindow.baseAddress!, count: nfft, into: input)
                                } else {
                                    for i in 0..<nfft {
                                        let indexA = startA + i, indexB = startB + i
                                        input[2 * i] = a < frames && indexA >= 0 && indexA < n ? signal[indexA] * window[i] : 0
                                        input[2 * i + 1] = a + 1 < frames && indexB >= 0 && indexB < n ? signal[indexB] * window[i] : 0
                                    }
                                }
                                fft.transform(intoSpectrum: pair)
                                // Bin N − k for k = 0 is bin 0: a copy in the spare slot keeps the loop below
                                // free of wrap-around.
                                let spectrum = spectra + pair * spectrumStride
                                spectrum[2 * nfft] = spectrum[0]
                                spectrum[2 * nfft + 1] = spectrum[1]
                            }
                            // With Z = FFT(a + i·b): A[k] = (Z[k] + conj Z[N−k]) / 2, B[k] = (Z[k] − conj Z[N−k]) / 2i.
                            // |A|² and |B|² are computed four bins at a time without the 1/4 (it is in the
                            // mel weights), then a transpose in registers puts them in the bin-major batch.
                            var k = 0
                            while k + 4 <= bins {
                                let (p0, p1) = Self.separatedPowers(spectra + 2 * k, mirrored: spectra + 2 * (nfft - k - 3))
                                let (p2, p3) = Self.separatedPowers(spectra + spectrumStride + 2 * k,
                                                                    mirrored: spectra + spectrumStride + 2 * (nfft - k - 3))
                                let (p4, p5) = Self.separatedPowers(spectra + 2 * spectrumStride + 2 * k,
                                                                    mirrored: spectra + 2 * spectrumStride + 2 * (nfft - k - 3))
                                let (p6, p7) = Self.separatedPowers(spectra + 3 * spectrumStride + 2 * k,
                                                                    mirrored: spectra + 3 * spectrumStride + 2 * (nfft - k - 3))
                                let (a0, a1, a2, a3) = Self.transpose(p0, p1, p2, p3)
                                let (b0, b1, b2, b3) = Self.transpose(p4, p5, p6, p7)
                                let out = UnsafeMutableRawPointer(powers + k * batch)
                                out.storeBytes(of: SIMD8(lowHalf: a0, highHalf: b0), toByteOffset: 0, as: SIMD8<Float>.self)
                                out.storeBytes(of: SIMD8(lowHalf: a1, highHalf: b1), toByteOffset: 32, as: SIMD8<Float>.self)
                                out.storeBytes(of: SIMD8(lowHalf: a2, highHalf: b2), toByteOffset: 64, as: SIMD8<Float>.self)
                                out.storeBytes(of: SIMD8(lowHalf: a3, highHalf: b3), toByteOffset: 96, as: SIMD8<Float>.self)
                                k += 4
                            }
                            for k in k..<bins {
                                for pair in 0..<(batch / 2) {
                                    let z = spectra + pair * spectrumStride
                                    let (ar, ai) = (z[2 * k], z[2 * k + 1])
                                    let (br, bi) = (z[2 * (nfft - k)], z[2 * (nfft - k) + 1])
                                    let (sr, si, dr, di) = (ar + br, ai - bi, ar - br, ai + bi)
                                    powers[k * batch + 2 * pair] = sr * sr + si * si
                                    powers[k * batch + 2 * pair + 1] = dr * dr + di * di
                                }
                            }
                            for m in 0..<bands {
                                // SIMD values, so the eight sums stay in registers across the loop; two of
                                // them (even and odd weights), so consecutive additions do not wait on
                                // each other.
                                var even = SIMD8<Float>(), odd = SIMD8<Float>()
                                var row = UnsafeRawPointer(powers + firstBins[m] * batch)
                                var j = weightStarts[m]
                                let end = weightStarts[m + 1]
                                while j + 2 <= end {
                                    even += weights[j] * row.loadUnaligned(as: SIMD8<Float>.self)
                                    odd += weights[j + 1] * row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                    row += 2 * batch * MemoryLayout<Float>.stride
                                    j += 2
                                }
                                if j < end { even += weights[j] * row.loadUnaligned(as: SIMD8<Float>.self) }
                                // dB here, while the sums are in registers; the top_db clip needs the
                                // loudest value of the whole input, so it is applied by the callers.
                                let decibels = Self.decibels(even + odd)
                                loudest = lanewiseMax(loudest, decibels)
                                let out = melDB.baseAddress! + m * frames + first
                                if count == batch {
                                    UnsafeMutableRawPointer(out).storeBytes(of: decibels, as: SIMD8<Float>.self)
                                } else {
                                    for f in 0..<count { out[f] = decibels[f] }
                                }
                            }
                            first += batch
                        }
                    }
                }
            }
            }
        }
        }
        }
        }
        // Same rounding as librosa: the float32 maximum minus top_db.
        return c.topDB.map { loudest.max() - $0 } ?? -.infinity
    }

    /// 4·|A[k]|² and 4·|B[k]|² for bins k…k+3 of the two real frames a, b inside Z = FFT(a + i·b):
    /// `spectrum` points at Z[k] (interleaved re, im), `mirrored` at Z[N−k−3], so its four bins
    /// reversed are Z[N−k] … Z[N−k−3].
    @inline(__always)
    private static func separatedPowers(_ spectrum: UnsafePointer<Float>, mirrored: UnsafePointer<Float>)
        -> (SIMD4<Float>, SIMD4<Float>) {
        let z = UnsafeRawPointer(spectrum).loadUnaligned(as: SIMD8<Float>.self)
        let m = UnsafeRawPointer(mirrored).loadUnaligned(as: SIMD8<Float>.self)
        let (zr, zi) = (z.evenHalf, z.oddHalf)
        let (me, mo) = (m.evenHalf, m.oddHalf)
        let (mr, mi) = (SIMD4(me[3], me[2], me[1], me[0]), SIMD4(mo[3], mo[2], mo[1], mo[0]))
        let (sr, si, dr, di) = (zr + mr, zi - mi, zr - mr, zi + mi)
        return (sr * sr + si * si, dr * dr + di * di)
    }

    /// Writes (a[i]·w[i], b[i]·w[i]) pairs: two windowed frames as one complex input.
    @inline(__always)
    private static func interleaveWindowed(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, pairedWindow: UnsafePointer<Float>,
                                           count: Int, into output: UnsafeMutablePointer<Float>) {
        // Eight samples of each frame per pass, with plain pointer steps: the loop is load/store
        // bound, so its own bookkeeping matters.
        var (x, y, w, out) = (UnsafeRawPointer(a), UnsafeRawPointer(b), UnsafeRawPointer(pairedWindow), UnsafeMutableRawPointer(output))
        let end = UnsafeRawPointer(a + count / 8 * 8)
        while x < end {
            let x0 = x.loadUnaligned(as: SIMD4<Float>.self), x1 = x.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
            let y0 = y.loadUnaligned(as: SIMD4<Float>.self), y1 = y.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
            out.storeBytes(of: SIMD8(x0[0], y0[0], x0[1], y0[1], x0[2], y0[2], x0[3], y0[3]) * w.loadUnaligned(as: SIMD8<Float>.self),
                           as: SIMD8<Float>.self)
            out.storeBytes(of: SIMD8(x1[0], y1[0], x1[1], y1[1], x1[2], y1[2], x1[3], y1[3])
                               * w.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
                           toByteOffset: 32, as: SIMD8<Float>.self)
            x += 32; y += 32; w += 64; out += 64
        }
        var i = count / 8 * 8
        while i < count {
            output[2 * i] = a[i] * pairedWindow[2 * i]
            output[2 * i + 1] = b[i] * pairedWindow[2 * i]
            i += 1
        }
    }

    /// Rows a, b, c, d of a 4 × 4 block to its columns.
    @inline(__always)
    private static func transpose(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>)
        -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        let ab = SIMD8(lowHalf: a, highHalf: b), cd = SIMD8(lowHalf: c, highHalf: d)
        // (a0 a2 b0 b2), (a1 a3 b1 b3), (c0 c2 d0 d2), (c1 c3 d1 d3)
        let even = SIMD8(lowHalf: ab.evenHalf, highHalf: cd.evenHalf)
        let odd = SIMD8(lowHalf: ab.oddHalf, highHalf: cd.oddHalf)
        return (even.evenHalf, odd.evenHalf, even.oddHalf, odd.oddHalf)
    }

    /// 10 · log10(max(x, 1e-10)) of eight values without a libm call, branch-free so it stays in
    /// SIMD registers: split off the binary exponent, then ln m = 2 atanh((m−1)/(m+1)) by its
    /// series on m ∈ [√½, √2) (truncation < 1e-9; rounding keeps the result within ~1e-5 dB of exact).
    @inline(__always)
    static func decibels(_ power: SIMD8<Float>) -> SIMD8<Float> {
        let x = lanewiseMax(power, SIMD8(repeating: 1e-10))
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let fraction = bits & 0x007f_ffff
        // 1 where the mantissa is > √2 (then m/2 and exponent + 1 are used), else 0.
        let upper = (fraction &+ (0x0080_0000 - 0x0035_04f4)) &>> 23
        let mantissa = unsafeBitCast((fraction | 0x3f80_0000) &- (upper &<< 23), to: SIMD8<Float>.self)
        // Integer to Float through the bits: 2^23 + i for i < 2^23 is exact.
        let biasedExponent = unsafeBitCast(((bits &>> 23) &+ upper) | 0x4b00_0000, to: SIMD8<Float>.self)
        let exponent = biasedExponent - (8_388_608 + 127 as Float)
        let s = (mantissa - 1) / (mantissa + 1), s2 = s * s
        let (c3, c5, c7, c9): (Float, Float, Float, Float) = (1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9)
        let inner: SIMD8<Float> = c7 + s2 * c9
        let series: SIMD8<Float> = 1 + s2 * (c3 + s2 * (c5 + s2 * inner))
        // ln 2 split in two so exponent · ln 2 keeps Float precision for large exponents.
        let (ln2High, ln2Low): (Float, Float) = (0.693145752, 1.42860677e-06)
        let naturalLog: SIMD8<Float> = (2 * s * series + exponent * ln2Low) + exponent * ln2High
        return naturalLog * (4.34294482 as Float)
    }

    /// The same for one value.
    static func decibels(_ power: Float) -> Float { decibels(SIMD8(repeating: power))[0] }
}

/// max per lane (a comparison and a select, which stays in SIMD registers; the generic
/// `pointwiseMax` goes through `Float.maximum` one lane at a time).
@inline(__always)
func lanewiseMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: a .< b) }

/// The DCT-II of eight frames at a time, using the symmetry of its basis: row k at band M−1−m
/// is (−1)^k times row k at band m, so even rows need x[m] + x[M−1−m] and odd rows
/// x[m] − x[M−1−m] for the first half of the bands only, half the multiplications of the plain
/// product. Rows go in groups of five, whose sums for eight frames fit in SSE registers.
struct SymmetricDCT: Sendable {
    static let groupSize = 5
    let bandCount: Int
    /// Per group and slot, the coefficient row it produces (−1: padding).
    let rows: [Int]
    /// Per group: true for even rows (sums of mirrored bands), false for odd rows (differences).
    let even: [Bool]
    /// Per group, (M+1)/2 band pairs × groupSize weights.
    let weights: [Float]

    var groupCount: Int { even.count }

    init(matrix: [Float], coefficientCount: Int, bandCount: Int) {
        self.bandCount = bandCount
        let pairCount = (bandCount + 1) / 2
        var rows: [Int] = [], even: [Bool] = [], weights: [Float] = []
        for parity in [0, 1] {
            let members = Array(stride(from: parity, to: coefficientCount, by: 2))
            for start in stride(from: 0, to: members.count, by: Self.groupSize) {
                let group = Array(members[start..<min(start + Self.groupSize, members.count)])
                let slots = group + Array(repeating: -1, count: Self.groupSize - group.count)
                rows += slots
                even.append(parity == 0)
                for m in 0..<pairCount {
                    for k in slots { weights.append(k >= 0 ? matrix[k * bandCount + m] : 0) }
                }
            }
        }
        self.rows = rows
        self.even = even
        self.weights = weights
    }

    /// Coefficients of frames t…t+7: `bands` points at band 0 of frame t in a band-major matrix
    /// with `rowStride` frames per band; values are clipped at `floor` as they are read; row k of
    /// the result goes to `output + k · rowStride`.
    @inline(__always)
    func transform(_ bands: UnsafePointer<Float>, rowStride: Int, floor: Float, into output: UnsafeMutablePointer<Float>,
                   weights: UnsafePointer<Float>, rows: UnsafePointer<Int>, even: UnsafePointer<Bool>) {
        let floor = SIMD8<Float>(repeating: floor)
        let half = bandCount / 2
        var w = weights
        for group in 0..<groupCount {
            var (a0, a1, a2, a3, a4) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            let sign: Float = even[group] ? 1 : -1
            for m in 0..<half {
                let low = lanewiseMax(UnsafeRawPointer(bands + m * rowStride).loadUnaligned(as: SIMD8<Float>.self), floor)
                let high = lanewiseMax(UnsafeRawPointer(bands + (bandCount - 1 - m) * rowStride).loadUnaligned(as: SIMD8<Float>.self), floor)
                let x = low + sign * high
                a0 += w[0] * x; a1 += w[1] * x; a2 += w[2] * x; a3 += w[3] * x; a4 += w[4] * x
                w += Self.groupSize
            }
            // The middle band of an odd count: its odd-row weights are cos(πk/2) = 0.
            if bandCount % 2 == 1 {
                let x = lanewiseMax(UnsafeRawPointer(bands + half * rowStride).loadUnaligned(as: SIMD8<Float>.self), floor)
                a0 += w[0] * x; a1 += w[1] * x; a2 += w[2] * x; a3 += w[3] * x; a4 += w[4] * x
                w += Self.groupSize
            }
            let slots = rows + group * Self.groupSize
            if slots[0] >= 0 { UnsafeMutableRawPointer(output + slots[0] * rowStride).storeBytes(of: a0, as: SIMD8<Float>.self) }
            if slots[1] >= 0 { UnsafeMutableRawPointer(output + slots[1] * rowStride).storeBytes(of: a1, as: SIMD8<Float>.self) }
            if slots[2] >= 0 { UnsafeMutableRawPointer(output + slots[2] * rowStride).storeBytes(of: a2, as: SIMD8<Float>.self) }
            if slots[3] >= 0 { UnsafeMutableRawPointer(output + slots[3] * rowStride).storeBytes(of: a3, as: SIMD8<Float>.self) }
            if slots[4] >= 0 { UnsafeMutableRawPointer(output + slots[4] * rowStride).storeBytes(of: a4, as: SIMD8<Float>.self) }
        }
    }
}
