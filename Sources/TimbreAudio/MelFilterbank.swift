import Foundation

/// Slaney-style mel filterbank, bit-for-bit the construction of librosa 0.11
/// `filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney', dtype=float32)`.
///
/// Each filter is stored as its non-zero run of weights over FFT bins, which is what makes
/// applying it cheap (a 2048-point FFT has ~2 non-zero weights per bin in total, not 128).
public struct MelFilterbank: Sendable, Equatable {
    public struct Filter: Sendable, Equatable {
        public var firstBin: Int
        public var weights: [Float]
    }

    public let sampleRate: Int
    public let fftSize: Int
    public let minimumFrequency: Double
    public let maximumFrequency: Double
    public let filters: [Filter]

    public var bandCount: Int { filters.count }
    public var binCount: Int { fftSize / 2 + 1 }

    public init(sampleRate: Int, fftSize: Int, bandCount: Int, minimumFrequency: Double = 0,
                maximumFrequency: Double? = nil) throws(AudioError) {
        let fmax = maximumFrequency ?? Double(sampleRate) / 2
        guard bandCount >= 1, fftSize >= 2, sampleRate > 0 else {
            throw .invalidArgument("mel filterbank needs ≥ 1 band, FFT size ≥ 2 and a positive sample rate")
        }
        guard minimumFrequency >= 0, fmax > minimumFrequency else {
            throw .invalidArgument("mel range must satisfy 0 ≤ fmin < fmax, got \(minimumFrequency)…\(fmax) Hz")
        }
        self.sampleRate = sampleRate
        self.fftSize = fftSize
        self.minimumFrequency = minimumFrequency
        self.maximumFrequency = fmax

        let binCount = fftSize / 2 + 1
        // numpy.fft.rfftfreq(n, d=1/sr): k · (1 / (n · d)).
        let spacing = 1.0 / (Double(fftSize) * (1.0 / Double(sampleRate)))
        let binFrequencies = (0..<binCount).map { Double($0) * spacing }
        let edges = Self.melFrequencies(count: bandCount + 2, from: minimumFrequency, to: fmax)

        var filters: [Filter] = []
        filters.reserveCapacity(bandCount)
        for band in 0..<bandCount {
            let lowerWidth = edges[band + 1] - edges[band]
            let upperWidth = edges[band + 2] - edges[band + 1]
            let areaNorm = 2.0 / (edges[band + 2] - edges[band])
            var weights = [Float](repeating: 0, count: binCount)
            for bin in 0..<binCount {
                let lower = -(edges[band] - binFrequencies[bin]) / lowerWidth
                let upper = (edges[band + 2] - binFrequencies[bin]) / upperWidth
                // librosa stores the triangle in float32, then scales it by the float64 norm.
                let triangle = Float(max(0, min(lower, upper)))
                weights[bin] = Float(Double(triangle) * areaNorm)
            }
            let first = weights.firstIndex(where: { $0 != 0 }) ?? 0
            let last = weights.lastIndex(where: { $0 != 0 }) ?? -1
            filters.append(Filter(firstBin: first, weights: last >= first ? Array(weights[first...last]) : []))
        }
        self.filters = filters
    }

    // Slaney's scale: linear below 1 kHz at 200/3 Hz per mel, logarithmic above (step ln 6.4 / 27).
    private static let linearHzPerMel = 200.0 / 3.0
    private static let breakHz = 1000.0
    private static let breakMel = breakHz / linearHzPerMel
    private static let logStep = log(6.4) / 27.0

    public static func hzToMel(_ hz: Double) -> Double {
        hz >= breakHz ? breakMel + log(hz / breakHz) / logStep : hz / linearHzPerMel
    }

    public static func melToHz(_ mel: Double) -> Double {
        mel >= breakMel ? breakHz * exp(logStep * (mel - breakMel)) : linearHzPerMel * mel
    }

    /// `count` frequencies evenly spaced in mel between two frequencies (numpy.linspace rules:
    /// i · step + start, last one exactly the end).
    public static func melFrequencies(count: Int, from fmin: Double, to fmax: Double) -> [Double] {
        let low = hzToMel(fmin), high = hzToMel(fmax)
        guard count > 1 else { return [melToHz(low)] }
        let step = (high - low) / Double(count - 1)
        return (0..<count).map { i in melToHz(i == count - 1 ? high : Double(i) * step + low) }
    }

    /// Dense weights, row-major by band (for inspection and tests).
    public var denseWeights: [Float] {
        var dense = [Float](repeating: 0, count: bandCount * binCount)
        for (band, filter) in filters.enumerated() {
            for (k, weight) in filter.weights.enumerated() { dense[band * binCount + filter.firstBin + k] = weight }
        }
        return dense
    }
}
