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
    private let fft: ComplexFFT
    private let window: [Float]
    /// Orthonormal DCT-II rows, coefficientCount × melBandCount.
    private let dctMatrix: [Float]
    /// Power spectra of one batch of frames, bin-major.
    private var power: [Float]
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
        guard c.coefficientCount >= 1, c.coefficientCount <= c.melBandCount else {
            throw .invalidArgument("need 1 ≤ n_mfcc ≤ n_mels, got \(c.coefficientCount) and \(c.melBandCount)")
        }
        self.configuration = c
        filterbank = try MelFilterbank(sampleRate: c.sampleRate, fftSize: c.fftSize, bandCount: c.melBandCount,
                                       minimumFrequency: c.minimumFrequency, maximumFrequency: c.maximumFrequency)
        fft = try ComplexFFT(size: c.fftSize, spectrumCount: Self.batch / 2)
        // scipy.signal.get_window('hann', n, fftbins=True): the periodic window.
        window = (0..<c.fftSize).map { i in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(c.fftSize))) }
        let bands = c.melBandCount
        var dct = [Float](repeating: 0, count: c.coefficientCount * bands)
        for k in 0..<c.coefficientCount {
            let scale = k == 0 ? (1.0 / Double(bands)).squareRoot() : (2.0 / Double(bands)).squareRoot()
            for m in 0..<bands {
                dct[k * bands + m] = Float(scale * cos(Double.pi * Double(k) * (2 * Double(m) + 1) / (2 * Double(bands))))
            }
        }
        dctMatrix = dct
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
        FeatureMatrix(rowCount: configuration.melBandCount, columnCount: frameCount(forSampleCount: samples.count),
                      values: melDBBandMajor(samples))
    }

    /// MFCCs, coefficientCount × frames (rows are coefficients).
    public func mfcc(_ samples: [Float]) -> FeatureMatrix {
        let melDB = melDBBandMajor(samples)
        let frames = frameCount(forSampleCount: samples.count)
        let bands = configuration.melBandCount
        let coefficients = configuration.coefficientCount
        var out = [Float](repeating: 0, count: coefficients * frames)
        // Row k of the output accumulates dct[k, m] · band m across all frames at once: a loop over
        // frames without a reduction, which the compiler vectorises (a per-frame dot product would not be).
        // Four bands per pass keep the partial sum in a register instead of reloading the row; the
        // additions stay in band order, so the result is the same to the bit.
        melDB.withUnsafeBufferPointer { db in
            dctMatrix.withUnsafeBufferPointer { dct in
                out.withUnsafeMutableBufferPointer { out in
                    for k in 0..<coefficients {
                        let row = out.baseAddress! + k * frames
                        let weights = dct.baseAddress! + k * bands
                        var m = 0
                        while m + 4 <= bands {
                            let (w0, w1, w2, w3) = (weights[m], weights[m + 1], weights[m + 2], weights[m + 3])
                            let b0 = db.baseAddress! + m * frames, b1 = b0 + frames, b2 = b1 + frames, b3 = b2 + frames
                            for t in 0..<frames { row[t] = row[t] + w0 * b0[t] + w1 * b1[t] + w2 * b2[t] + w3 * b3[t] }
                            m += 4
                        }
                        for m in m..<bands {
                            let band = db.baseAddress! + m * frames
                            for t in 0..<frames { row[t] += weights[m] * band[t] }
                        }
                    }
                }
            }
        }
        return FeatureMatrix(rowCount: coefficients, columnCount: frames, values: out)
    }

    /// dB mel spectrogram, bands × frames, clipped at max − top_db.
    private func melDBBandMajor(_ samples: [Float]) -> [Float] {
        let c = configuration
        let n = samples.count
        let frames = frameCount(forSampleCount: n)
        let bands = c.melBandCount
        let nfft = c.fftSize
        let half = nfft / 2
        let bins = nfft / 2 + 1
        var melDB = [Float](repeating: 0, count: frames * bands)
        let input = fft.input.baseAddress!
        let spectra = fft.output.baseAddress!
        let spectrumStride = fft.spectrumStride

        packedWeights.withUnsafeBufferPointer { packed in
        weightStarts.withUnsafeBufferPointer { weightStarts in
        firstBins.withUnsafeBufferPointer { firstBins in
        let weights = packed.baseAddress!
        samples.withUnsafeBufferPointer { signal in
            window.withUnsafeBufferPointer { window in
                power.withUnsafeMutableBufferPointer { power in
                    melDB.withUnsafeMutableBufferPointer { melDB in
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
                                                            window: window.baseAddress!, count: nfft, into: input)
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
                                // A SIMD value, so the eight sums stay in registers across the loop.
                                var sums = SIMD8<Float>()
                                var row = UnsafeRawPointer(powers + firstBins[m] * batch)
                                for j in weightStarts[m]..<weightStarts[m + 1] {
                                    sums += weights[j] * row.loadUnaligned(as: SIMD8<Float>.self)
                                    row += batch * MemoryLayout<Float>.stride
                                }
                                let out = melDB.baseAddress! + m * frames + first
                                for f in 0..<count { out[f] = sums[f] }
                            }
                            first += batch
                        }
                        // log is monotonic, so the loudest dB value is the dB of the loudest power, known
                        // before any dB is taken; same rounding as librosa: float32 max minus top_db.
                        let loudestPower = UnsafeBufferPointer(melDB).largestMagnitude
                        let floor = c.topDB.map { Self.decibels(loudestPower) - $0 } ?? -.infinity
                        // dB and top_db clipping in one branch-free pass, which the compiler vectorises.
                        for i in 0..<melDB.count { melDB[i] = max(Self.decibels(melDB[i]), floor) }
                    }
                }
            }
        }
        }
        }
        }
        return melDB
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
    private static func interleaveWindowed(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, window: UnsafePointer<Float>,
                                           count: Int, into output: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 4 <= count {
            let w = UnsafeRawPointer(window + i).loadUnaligned(as: SIMD4<Float>.self)
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD4<Float>.self) * w
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD4<Float>.self) * w
            UnsafeMutableRawPointer(output + 2 * i).storeBytes(
                of: SIMD8(x[0], y[0], x[1], y[1], x[2], y[2], x[3], y[3]), as: SIMD8<Float>.self)
            i += 4
        }
        while i < count {
            output[2 * i] = a[i] * window[i]
            output[2 * i + 1] = b[i] * window[i]
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

    /// 10 · log10(max(x, 1e-10)) without a libm call, branch-free so the dB pass vectorises:
    /// split off the binary exponent, then ln m = 2 atanh((m−1)/(m+1)) by its series on
    /// m ∈ [√½, √2) (truncation < 1e-9; rounding keeps the result within ~1e-5 dB of exact).
    @inline(__always)
    static func decibels(_ power: Float) -> Float {
        let x = max(power, 1e-10)
        let bits = x.bitPattern
        let upper = (bits & 0x007f_ffff) > 0x0035_04f3  // mantissa > √2
        let exponent = Float(Int32(bitPattern: (bits >> 23) & 0xff) - (upper ? 126 : 127))
        let mantissa = Float(bitPattern: (bits & 0x007f_ffff) | (upper ? 0x3f00_0000 : 0x3f80_0000))
        let s = (mantissa - 1) / (mantissa + 1), s2 = s * s
        let series: Float = 1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9))))
        // ln 2 split in two so exponent · ln 2 keeps Float precision for large exponents.
        let naturalLog = (2 * s * series + exponent * 1.42860677e-06) + exponent * 0.693145752
        return naturalLog * 4.34294482
    }
}
