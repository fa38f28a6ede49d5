import Foundation
import TimbreAudio
import TimbreNeural

/// The two pretrained musicnn models of the musicnn 0.1.0 wheel (Pons & Serra 2019).
public enum MusicnnModelName: String, Sendable, CaseIterable, Codable {
    /// Trained on the Million Song Dataset's 50 most frequent last.fm tags.
    case msd = "musicnn-msd"
    /// Trained on MagnaTagATune's 50 most frequent tags.
    case mtt = "musicnn-mtt"

    public init(parsing text: String) throws(MusicnnError) {
        guard let name = Self(rawValue: text) else { throw .unknownModel(text) }
        self = name
    }

    /// The checkpoint's folder inside the wheel (and in scripts/fetch-musicnn's cache).
    public var checkpointFolder: String { self == .msd ? "MSD_musicnn" : "MTT_musicnn" }

    /// The tags of the output layer, in order (musicnn/configuration.py).
    public var tags: [String] { self == .msd ? Self.msdTags : Self.mttTags }

    static let mttTags = [
        "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient",
        "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals",
        "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo",
        "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
        "no voice", "weird", "country", "metal", "female voice", "choral",
    ]
    static let msdTags = [
        "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
        "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
        "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
        "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
        "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
        "House", "happy",
    ]
}

/// One patch's outputs: the layers musicnn's extractor returns that describe the whole patch.
public struct MusicnnOutputs: Sendable, Equatable {
    /// The 200-unit dense layer after its batch norm (musicnn's `penultimate`).
    public var penultimate: [Float]
    /// Mean and maximum over time of the 753 front- and mid-end features.
    public var meanPool: [Float]
    public var maxPool: [Float]
    /// Sigmoid of the 50 output logits.
    public var tags: [Float]
}

/// musicnn's "7774timbraltemporal" network (musicnn/models.py, `build_musicnn` with 64 mid-end
/// filters and 200 back-end units) with its trained weights, for inference.
///
/// Every batch norm (TensorFlow's, epsilon 1e-3, moving statistics) becomes a per-channel scale and
/// shift at load. They cannot be folded into the convolution weights themselves: musicnn applies
/// them *after* the ReLU, the padding of the next layer adds zeros after the norm, and the max-pool
/// that follows would change under a negative scale.
public struct MusicnnNetwork: Sendable {
    public static let frames = 187
    public static let bands = 96
    static let frontWidth = 561
    static let midFilters = 64
    public static let featureWidth = 753
    static let denseUnits = 200
    static let tagCount = 50
    static let epsilon = 1e-3

    struct Norm: Sendable {
        var scale: [Float]
        var shift: [Float]
    }

    /// A convolution whose kernel is stored as TensorFlow's HWIO array flattened: (height · width) × filters.
    struct Convolution: Sendable {
        var height: Int
        var width: Int
        var filters: Int
        var kernel: [Float]
        var bias: [Float]
        var norm: Norm
    }

    /// A timbral convolution (7 frames × `width` bands, valid in frequency) as musicnn runs it in the
    /// frequency domain along the bands. It has one input channel, so along frequency it is 204
    /// plain correlations of each spectrogram row: with the rows' and kernels' 96-point DFTs it
    /// becomes, per frequency bin, a complex product summed over the 7 time taps (one sgemm per
    /// bin, inner dimension 14 real), then one batched inverse FFT per chunk of frames. A 96-point
    /// circular correlation gives the valid positions exactly (the kernel never wraps past band 95).
    /// The outputs are real, so filters 2j and 2j + 1 share one complex inverse transform, the first
    /// as its real part and the second as its imaginary part: its spectrum is Y₂ⱼ + i·Y₂ⱼ₊₁ over
    /// all 96 bins, and both halves of it are linear in bins 0…48 of the input, so the sgemm of
    /// bin b writes bin b and bin 96 − b directly.
    /// Multiply-adds per patch: 7 × 38 block 598 M direct, about 85 M so; 7 × 67 block 537 M, also
    /// about 85 M (docs/musicnn.md, Speed).
    struct SpectralConvolution: Sendable {
        var block: Convolution
        /// Per bin b, two 14 × 204 matrices that map [Re x̂(t..t+6) | Im x̂(t..t+6)] at bin b to the
        /// 102 pair spectra (re, im side by side) at bin b and at bin 96 − b (the second unused for
        /// bins 0 and 48), scaled by 1/96 so FFTW's unnormalised inverse gives the outputs themselves.
        var kernelSpectra: [Float]

        init(_ block: Convolution) {
            self.block = block
            let n = MusicnnNetwork.bands, bins = MusicnnNetwork.bandBins, h = block.height, f = block.filters
            precondition(f % 2 == 0, "filters pair up")
            var spectra = [Float](repeating: 0, count: bins * 2 * 2 * h * f)
            for b in 0..<bins {
                // A real signal's spectrum is real at DC and Nyquist: the imaginary parts that
                // rounding leaves there are dropped, as an inverse real transform would drop them.
                let selfConjugate = b == 0 || 2 * b == n
                for i in 0..<h {
                    // The kernel spectrum k̂ = kr + i·ki of every filter at tap i, bin b.
                    var kr = [Double](repeating: 0, count: f), ki = kr
                    for c in 0..<f {
                        for j in 0..<block.width {
                            let angle = 2 * Double.pi * Double(j * b % n) / Double(n)
                            let k = Double(block.kernel[(i * block.width + j) * f + c])
                            kr[c] += k * cos(angle)
                            ki[c] -= k * sin(angle)
                        }
                        kr[c] /= Double(n)
                        ki[c] = selfConjugate ? 0 : ki[c] / Double(n)
                    }
                    // The layer correlates: Y = x̂ · conj(k̂), so Re Y = Xr·kr + Xi·ki, Im Y = Xi·kr − Xr·ki.
                    // Pair (a, c) = (2p, 2p + 1): Z(b) = Y_a + i·Y_c, Z(96 − b) = conj(Y_a) + i·conj(Y_c).
                    let forward = 2 * b * 2 * h * f, mirror = forward + 2 * h * f
                    for p in 0..<f / 2 {
                        let a = 2 * p, c = 2 * p + 1
                        func put(_ base: Int, _ row: Int, _ re: Double, _ im: Double) {
                            spectra[base + row * f + 2 * p] = Float(re)
                            spectra[base + row * f + 2 * p + 1] = Float(im)
                        }
                        put(forward, i, kr[a] + ki[c], kr[c] - ki[a])
                        put(mirror, i, kr[a] - ki[c], kr[c] + ki[a])
                        if !selfConjugate {
                            put(forward, h + i, ki[a] - kr[c], kr[a] + ki[c])
                            put(mirror, h + i, ki[a] + kr[c], ki[c] - kr[a])
                        }
                    }
                }
            }
            kernelSpectra = spectra
        }
    }

    /// Bins of a 96-point real DFT.
    static let bandBins = bands / 2 + 1

    /// The 96-point real DFT as a 96 × 98 matrix: a row of bands times it gives [Re x̂ | Im x̂].
    static let bandDFT: [Float] = {
        var matrix = [Float](repeating: 0, count: bands * 2 * bandBins)
        for n in 0..<bands {
            for b in 0..<bandBins {
                let angle = 2 * Double.pi * Double(n * b % bands) / Double(bands)
                matrix[n * 2 * bandBins + b] = Float(cos(angle))
                matrix[n * 2 * bandBins + bandBins + b] = Float(-sin(angle))
            }
        }
        return matrix
    }()

    let input: Norm
    let timbral: [SpectralConvolution]
    let temporal: [Convolution]
    let mid: [Convolution]
    let poolNorm: Norm
    let dense: [Float]
    let denseBias: [Float]
    let denseNorm: Norm
    let output: [Float]
    let outputBias: [Float]

    /// Reads the checkpoint at `prefix` (e.g. `…/MSD_musicnn/`) and checks that every tensor musicnn
    /// uses is there with its shape and checksum.
    public init(checkpointPrefix prefix: String) throws(MusicnnError) {
        let bundle = try TensorBundle(prefix: prefix)
        var normIndex = 0
        func norm(_ width: Int) throws(MusicnnError) -> Norm {
            let name = normIndex == 0 ? "batch_normalization" : "batch_normalization_\(normIndex)"
            normIndex += 1
            let gamma = try bundle.floats(name + "/gamma", shape: [width])
            let beta = try bundle.floats(name + "/beta", shape: [width])
            let mean = try bundle.floats(name + "/moving_mean", shape: [width])
            let variance = try bundle.floats(name + "/moving_variance", shape: [width])
            var scale = [Float](repeating: 0, count: width), shift = scale
            for c in 0..<width {
                let s = Double(gamma[c]) / (Double(variance[c]) + Self.epsilon).squareRoot()
                scale[c] = Float(s)
                shift[c] = Float(Double(beta[c]) - Double(mean[c]) * s)
            }
            return Norm(scale: scale, shift: shift)
        }
        var convIndex = 0
        func convolution(_ height: Int, _ width: Int, _ filters: Int) throws(MusicnnError) -> Convolution {
            let name = convIndex == 0 ? "conv2d" : "conv2d_\(convIndex)"
            convIndex += 1
            let kernel = try bundle.floats(name + "/kernel", shape: [height, width, 1, filters])
            let bias = try bundle.floats(name + "/bias", shape: [filters])
            return Convolution(height: height, width: width, filters: filters, kernel: kernel, bias: bias, norm: try norm(filters))
        }
        // Creation order in models.py fixes the variable names: the input norm, the two timbral
        // blocks (7×38, 7×67), the three temporal ones (128, 64, 32 frames), the three mid-end
        // layers, then the back end.
        input = try norm(1)
        timbral = [SpectralConvolution(try convolution(7, 38, 204)), SpectralConvolution(try convolution(7, 67, 204))]
        temporal = [try convolution(128, 1, 51), try convolution(64, 1, 51), try convolution(32, 1, 51)]
        mid = [try convolution(7, Self.frontWidth, Self.midFilters), try convolution(7, Self.midFilters, Self.midFilters),
               try convolution(7, Self.midFilters, Self.midFilters)]
        poolNorm = try norm(2 * Self.featureWidth)
        dense = try bundle.floats("dense/kernel", shape: [2 * Self.featureWidth, Self.denseUnits])
        denseBias = try bundle.floats("dense/bias", shape: [Self.denseUnits])
        denseNorm = try norm(Self.denseUnits)
        output = try bundle.floats("dense_1/kernel", shape: [Self.denseUnits, Self.tagCount])
        outputBias = try bundle.floats("dense_1/bias", shape: [Self.tagCount])
    }

    /// The model `name` from the folder scripts/fetch-musicnn prints.
    public init(_ name: MusicnnModelName, weightsDirectory: String) throws(MusicnnError) {
        try self.init(checkpointPrefix: URL(fileURLWithPath: weightsDirectory).appendingPathComponent(name.checkpointFolder).path + "/")
    }

    /// Runs one patch of `frames` × `bands` log-mel values (time-major).
    func run(_ patch: UnsafePointer<Float>, workspace w: MusicnnWorkspace) -> MusicnnOutputs {
        let frames = Self.frames, bands = Self.bands
        // Input norm, into the time-padded timbral input (3 zero frames each side, after the norm)
        // and, transposed, into the temporal input (63 before, 64 after: TensorFlow's 'same' for 128).
        let scale = input.scale[0], shift = input.shift[0]
        let timbralInput = w.timbralInput, temporalInput = w.temporalInput
        for t in 0..<frames {
            for f in 0..<bands {
                let value = patch[t * bands + f] * scale + shift
                timbralInput[(t + 3) * bands + f] = value
                temporalInput[f * MusicnnWorkspace.temporalStride + t + 63] = value
            }
        }
        // Every padded row's band spectrum, shared by both timbral blocks.
        Self.bandDFT.withUnsafeBufferPointer { dft in
            BLAS.multiply(timbralInput, rows: frames + 6, columns: bands, by: dft.baseAddress!, rows: bands, columns: 2 * Self.bandBins,
                          into: w.bandSpectra)
        }
        let front = w.midInputs[0] + 3 * Self.frontWidth
        var column = 0
        for block in timbral {
            timbralBlock(block, into: front + column, workspace: w)
            column += block.block.filters
        }
        for block in temporal {
            temporalBlock(block, into: front + column, workspace: w)
            column += block.filters
        }
        // Mid-end: layer k reads midInputs[k] (time-padded), writes the body of midInputs[k + 1];
        // layers 2 and 3 add their input (residual connections).
        for (k, layer) in mid.enumerated() {
            let source = w.midInputs[k], target = w.midInputs[k + 1] + 3 * Self.midFilters
            let inputWidth = layer.width
            for i in 0..<layer.height {
                layer.kernel.withUnsafeBufferPointer { kernel in
                    BLAS.multiply(source + i * inputWidth, rows: frames, columns: inputWidth,
                                  by: kernel.baseAddress! + i * inputWidth * layer.filters, rows: inputWidth, columns: layer.filters,
                                  into: target, beta: i == 0 ? 0 : 1)
                }
            }
            let residual: UnsafeMutablePointer<Float>? = k == 0 ? nil : source + 3 * Self.midFilters
            for t in 0..<frames {
                for c in 0..<layer.filters {
                    let index = t * layer.filters + c
                    var value = max(target[index] + layer.bias[c], 0) * layer.norm.scale[c] + layer.norm.shift[c]
                    if let residual { value += residual[index] }
                    target[index] = value
                }
            }
        }
        // Back end: max and mean over time of [front | mid 1 | mid 2 | mid 3].
        var maxPool = [Float](repeating: -.infinity, count: Self.featureWidth)
        var meanPool = [Float](repeating: 0, count: Self.featureWidth)
        var offset = 0
        for (k, width) in [Self.frontWidth, Self.midFilters, Self.midFilters, Self.midFilters].enumerated() {
            let body = w.midInputs[k] + 3 * width
            for t in 0..<frames {
                for c in 0..<width {
                    let value = body[t * width + c]
                    maxPool[offset + c] = max(maxPool[offset + c], value)
                    meanPool[offset + c] += value
                }
            }
            offset += width
        }
        for c in 0..<Self.featureWidth { meanPool[c] /= Float(frames) }
        // models.py concatenates the pools before squeezing their unit axis, (753, 1) and (753, 1)
        // along axis 2, so the flattened vector interleaves them: max 0, mean 0, max 1, mean 1, …
        var pooled = [Float](repeating: 0, count: 2 * Self.featureWidth)
        for c in 0..<Self.featureWidth {
            pooled[2 * c] = maxPool[c] * poolNorm.scale[2 * c] + poolNorm.shift[2 * c]
            pooled[2 * c + 1] = meanPool[c] * poolNorm.scale[2 * c + 1] + poolNorm.shift[2 * c + 1]
        }
        var penultimate = Self.affine(pooled, dense, denseBias, outputs: Self.denseUnits)
        for c in 0..<Self.denseUnits { penultimate[c] = max(penultimate[c], 0) * denseNorm.scale[c] + denseNorm.shift[c] }
        let logits = Self.affine(penultimate, output, outputBias, outputs: Self.tagCount)
        return MusicnnOutputs(penultimate: penultimate, meanPool: meanPool, maxPool: maxPool,
                              tags: logits.map { 1 / (1 + exp(-$0)) })
    }

    /// x · W + b for a row vector x and W stored inputs × outputs.
    private static func affine(_ x: [Float], _ weights: [Float], _ bias: [Float], outputs: Int) -> [Float] {
        var y = bias
        x.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { y in
                    BLAS.multiply(x.baseAddress!, rows: 1, columns: x.count, by: w.baseAddress!, rows: x.count, columns: outputs,
                                  into: y.baseAddress!, beta: 1)
                }
            }
        }
        return y
    }

    /// A 7 × width convolution over the padded spectrogram (valid in frequency), ReLU, norm, and
    /// the maximum over frequency, written as `filters` columns of the front-end rows; in the
    /// frequency domain (see `SpectralConvolution`), in chunks of `MusicnnWorkspace.spectralChunk` frames.
    private func timbralBlock(_ spectral: SpectralConvolution, into front: UnsafeMutablePointer<Float>, workspace w: MusicnnWorkspace) {
        let block = spectral.block, h = block.height, f = block.filters, bins = Self.bandBins
        let chunk = MusicnnWorkspace.spectralChunk, fft = w.inverseFFT
        let data = fft.data.baseAddress!
        let rows = w.spectralColumns, bandSpectra = w.bandSpectra
        spectral.kernelSpectra.withUnsafeBufferPointer { kernels in
            for t0 in stride(from: 0, to: Self.frames, by: chunk) {
                for b in 0..<bins {
                    // Row t: [Re x̂ of frames t0+t … t0+t+6 | Im x̂ of the same] at bin b.
                    for t in 0..<chunk {
                        for i in 0..<h {
                            let source = bandSpectra + (t0 + t + i) * 2 * bins
                            rows[t * 2 * h + i] = source[b]
                            rows[t * 2 * h + h + i] = source[bins + b]
                        }
                    }
                    let forward = kernels.baseAddress! + 2 * b * 2 * h * f
                    BLAS.multiply(rows, rows: chunk, columns: 2 * h, by: forward, rows: 2 * h, columns: f, into: data + b * fft.binStride)
                    if b > 0 && 2 * b < Self.bands {
                        BLAS.multiply(rows, rows: chunk, columns: 2 * h, by: forward + 2 * h * f, rows: 2 * h, columns: f,
                                      into: data + (Self.bands - b) * fft.binStride)
                    }
                }
                fft.transform()
                // Sample n of pair p: filter 2p's output, then filter 2p + 1's, so filters stay in order.
                Self.activateAndPoolFrequencies(data, frames: chunk, positions: Self.bands - block.width + 1,
                                                frameStride: f, positionStride: fft.binStride, block: block,
                                                into: front + t0 * Self.frontWidth)
            }
        }
    }

    /// A height × 1 convolution with TensorFlow's 'same' padding in time, ReLU, norm, maximum over
    /// the 96 bands.
    private func temporalBlock(_ block: Convolution, into front: UnsafeMutablePointer<Float>, workspace w: MusicnnWorkspace) {
        // Zero frames before the first one: (height − 1) / 2 ('same', rounded down before).
        let skip = 63 - (block.height - 1) / 2, input = w.temporalInput
        pooledConvolution(block, positions: Self.bands, into: front, workspace: w) { t, f, row in
            row.update(from: input + f * MusicnnWorkspace.temporalStride + t + skip, count: block.height)
        }
    }

    /// The front-end convolutions in chunks of frames: `gather(t, f, row)` writes the im2col row of
    /// frame t at frequency position f (the kernel window in kernel order); one sgemm per chunk.
    private func pooledConvolution(_ block: Convolution, positions: Int, into front: UnsafeMutablePointer<Float>, workspace w: MusicnnWorkspace,
                                   gather: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let depth = block.height * block.width
        let columns = w.columns, products = w.products
        var t0 = 0
        while t0 < Self.frames {
            let t1 = min(t0 + MusicnnWorkspace.timeChunk, Self.frames)
            var row = columns
            for t in t0..<t1 {
                for f in 0..<positions {
                    gather(t, f, row)
                    row += depth
                }
            }
            block.kernel.withUnsafeBufferPointer { kernel in
                BLAS.multiply(columns, rows: (t1 - t0) * positions, columns: depth, by: kernel.baseAddress!, rows: depth,
                              columns: block.filters, into: products)
            }
            Self.activateAndPoolFrequencies(products, frames: t1 - t0, positions: positions, frameStride: positions * block.filters,
                                            positionStride: block.filters, block: block, into: front + t0 * Self.frontWidth)
            t0 = t1
        }
    }

    /// products: the `filters` values of frame t at position f start at t · frameStride + f · positionStride;
    /// front rows get max over positions of norm(relu(x + b)).
    private static func activateAndPoolFrequencies(_ products: UnsafeMutablePointer<Float>, frames: Int, positions: Int,
                                                   frameStride: Int, positionStride: Int,
                                                   block: Convolution, into front: UnsafeMutablePointer<Float>) {
        let filters = block.filters
        block.bias.withUnsafeBufferPointer { bias in
        block.norm.scale.withUnsafeBufferPointer { scale in
        block.norm.shift.withUnsafeBufferPointer { shift in
            for t in 0..<frames {
                let out = front + t * frontWidth
                for c in 0..<filters { out[c] = -.infinity }
                for f in 0..<positions {
                    let values = products + t * frameStride + f * positionStride
                    for c in 0..<filters {
                        out[c] = max(out[c], max(values[c] + bias[c], 0) * scale[c] + shift[c])
                    }
                }
            }
        }
        }
        }
    }
}

/// Per-thread working memory of `MusicnnNetwork.run`: padded inputs, band spectra, an im2col chunk
/// and its product, the spectral products and their inverse FFT.
final class MusicnnWorkspace {
    /// Frames per im2col chunk: 16 × 59 rows × 266 floats ≈ 1 MB for the largest block, which
    /// stays in cache while the product reads it.
    static let timeChunk = 16
    static let temporalStride = 63 + MusicnnNetwork.frames + 64
    let timbralInput: UnsafeMutablePointer<Float>
    let temporalInput: UnsafeMutablePointer<Float>
    /// Front-end features and the mid-end layers' outputs, each with 3 zero frames either side.
    let midInputs: [UnsafeMutablePointer<Float>]
    let columns: UnsafeMutablePointer<Float>
    let products: UnsafeMutablePointer<Float>
    /// [Re | Im] band spectrum of every padded timbral input row: (frames + 6) × 98.
    let bandSpectra: UnsafeMutablePointer<Float>
    /// One bin's rows of the spectral product: spectralChunk × 14.
    let spectralColumns: UnsafeMutablePointer<Float>
    /// The timbral blocks' pair spectra, bin by bin, and (in place) their inverse transforms.
    let inverseFFT: BatchedInverseComplexFFT
    private let sizes: [Int]

    /// Frames per chunk of the spectral timbral convolution: 187 = 11 × 17, so chunks are whole;
    /// 96 bins × 17 × 204 floats (1.3 MB) of pair spectra per chunk.
    static let spectralChunk = 17

    init() throws(AudioError) {
        let frames = MusicnnNetwork.frames, bands = MusicnnNetwork.bands
        precondition(frames % Self.spectralChunk == 0, "spectral chunks must tile the patch")
        let chunk = Self.timeChunk
        // The temporal blocks' im2col (the timbral ones run in the frequency domain).
        let columnCount = chunk * bands * 128
        let productCount = chunk * bands * 51
        inverseFFT = try BatchedInverseComplexFFT(size: bands, rows: Self.spectralChunk, columns: 102, rowStride: 204)
        sizes = [(frames + 6) * bands, bands * Self.temporalStride, columnCount, productCount,
                 (frames + 6) * 2 * MusicnnNetwork.bandBins, Self.spectralChunk * 14,
                 (frames + 6) * MusicnnNetwork.frontWidth] + Array(repeating: (frames + 6) * MusicnnNetwork.midFilters, count: 3)
        let buffers = sizes.map { size in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: size)
            buffer.initialize(repeating: 0, count: size)
            return buffer
        }
        timbralInput = buffers[0]
        temporalInput = buffers[1]
        columns = buffers[2]
        products = buffers[3]
        bandSpectra = buffers[4]
        spectralColumns = buffers[5]
        midInputs = Array(buffers[6...])
    }

    deinit {
        for buffer in [timbralInput, temporalInput, columns, products, bandSpectra, spectralColumns] + midInputs { buffer.deallocate() }
    }
}
