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
    private let fft: RealFFT
    private let window: [Float]
    /// Orthonormal DCT-II rows, coefficientCount × melBandCount.
    private let dctMatrix: [Float]
    private var power: [Float]

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
        fft = try RealFFT(size: c.fftSize)
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
        power = [Float](repeating: 0, count: c.fftSize / 2 + 1)
    }

    /// Frames librosa produces for `sampleCount` samples with centring: 1 + n / hop.
    public func frameCount(forSampleCount sampleCount: Int) -> Int { 1 + sampleCount / configuration.hopLength }

    /// The mel power spectrogram in dB after top_db clipping, bands × frames.
    public func melSpectrogramDB(_ samples: [Float]) -> FeatureMatrix {
        let frameMajor = melDBFrameMajor(samples)
        let frames = frameCount(forSampleCount: samples.count)
        let bands = configuration.melBandCount
        var values = [Float](repeating: 0, count: frames * bands)
        for t in 0..<frames { for m in 0..<bands { values[m * frames + t] = frameMajor[t * bands + m] } }
        return FeatureMatrix(rowCount: bands, columnCount: frames, values: values)
    }

    /// MFCCs, coefficientCount × frames (rows are coefficients).
    public func mfcc(_ samples: [Float]) -> FeatureMatrix {
        let melDB = melDBFrameMajor(samples)
        let frames = frameCount(forSampleCount: samples.count)
        let bands = configuration.melBandCount
        let coefficients = configuration.coefficientCount
        var out = [Float](repeating: 0, count: coefficients * frames)
        melDB.withUnsafeBufferPointer { db in
            dctMatrix.withUnsafeBufferPointer { dct in
                out.withUnsafeMutableBufferPointer { out in
                    for t in 0..<frames {
                        let column = db.baseAddress! + t * bands
                        for k in 0..<coefficients {
                            let row = dct.baseAddress! + k * bands
                            var sum: Float = 0
                            for m in 0..<bands { sum += row[m] * column[m] }
                            out[k * frames + t] = sum
                        }
                    }
                }
            }
        }
        return FeatureMatrix(rowCount: coefficients, columnCount: frames, values: out)
    }

    /// dB mel spectrogram stored frame after frame (bands contiguous), clipped at max − top_db.
    private func melDBFrameMajor(_ samples: [Float]) -> [Float] {
        let c = configuration
        let n = samples.count
        let frames = frameCount(forSampleCount: n)
        let bands = c.melBandCount
        let nfft = c.fftSize
        let half = nfft / 2
        let bins = nfft / 2 + 1
        var melDB = [Float](repeating: 0, count: frames * bands)
        var loudest = -Float.infinity
        let input = fft.input.baseAddress!
        let spectrum = fft.output.baseAddress!
        let filters = filterbank.filters

        samples.withUnsafeBufferPointer { signal in
            window.withUnsafeBufferPointer { window in
                power.withUnsafeMutableBufferPointer { power in
                    melDB.withUnsafeMutableBufferPointer { melDB in
                        for t in 0..<frames {
                            // Frame t covers padded[t·hop ..< t·hop + nfft], i.e. signal[t·hop − nfft/2 …].
                            let start = t * c.hopLength - half
                            if start >= 0 && start + nfft <= n {
                                let source = signal.baseAddress! + start
                                for i in 0..<nfft { input[i] = source[i] * window[i] }
                            } else {
                                for i in 0..<nfft {
                                    let index = start + i
                                    input[i] = index >= 0 && index < n ? signal[index] * window[i] : 0
                                }
                            }
                            fft.transform()
                            for k in 0..<bins {
                                let re = spectrum[2 * k], im = spectrum[2 * k + 1]
                                power[k] = re * re + im * im
                            }
                            let row = melDB.baseAddress! + t * bands
                            for (m, filter) in filters.enumerated() {
                                var sum: Float = 0
                                filter.weights.withUnsafeBufferPointer { weights in
                                    let p = power.baseAddress! + filter.firstBin
                                    for j in 0..<weights.count { sum += weights[j] * p[j] }
                                }
                                row[m] = sum
                            }
                            for m in 0..<bands {
                                let db = 10 * log10f(max(1e-10, row[m]))
                                row[m] = db
                                loudest = max(loudest, db)
                            }
                        }
                        if let topDB = c.topDB {
                            let floor = loudest - topDB
                            for i in 0..<melDB.count where melDB[i] < floor { melDB[i] = floor }
                        }
                    }
                }
            }
        }
        return melDB
    }
}
