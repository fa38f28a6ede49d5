import Foundation
import TimbreCore

/// One LSTM layer with Keras semantics (`keras.layers.LSTM(units)` defaults):
/// z = x·W + h·U + b split into gates (i, f, c, o) in that order, i, f, o = sigmoid,
/// candidate = tanh, c' = f⊙c + i⊙candidate, h' = o⊙tanh(c'); initial h and c are zero.
/// Weights load directly from Keras: `kernel` [inputSize × 4·units], `recurrentKernel`
/// [units × 4·units], `bias` [4·units].
public struct LSTMLayer: Sendable, Equatable {
    public let inputSize: Int
    public let units: Int
    public var kernel: Matrix
    public var recurrentKernel: Matrix
    public var bias: [Float]

    /// Keras initialisation: Glorot-uniform kernel, orthogonal recurrent kernel, zero bias but
    /// the forget gate's at 1 (unit_forget_bias), so early training does not forget everything.
    public init(inputSize: Int, units: Int, generator rng: inout SeededGenerator) {
        precondition(inputSize >= 1 && units >= 1, "an LSTM layer needs ≥ 1 input and unit (got \(inputSize), \(units))")
        let kernel = Initialiser.glorotUniform(rows: inputSize, columns: 4 * units, &rng)
        let recurrent = Initialiser.orthogonal(rows: units, columns: 4 * units, &rng)
        var bias = [Float](repeating: 0, count: 4 * units)
        for j in units..<(2 * units) { bias[j] = 1 }
        self.init(kernel: kernel, recurrentKernel: recurrent, bias: bias)
    }

    public init(kernel: Matrix, recurrentKernel: Matrix, bias: [Float]) {
        let units = recurrentKernel.rows
        precondition(units >= 1 && kernel.rows >= 1, "an LSTM layer needs ≥ 1 input and unit")
        precondition(recurrentKernel.columns == 4 * units,
                     "recurrent kernel is \(recurrentKernel.rows)×\(recurrentKernel.columns), expected \(units)×\(4 * units)")
        precondition(kernel.columns == 4 * units, "kernel is \(kernel.rows)×\(kernel.columns), expected ?×\(4 * units)")
        precondition(bias.count == 4 * units, "bias has \(bias.count) values, expected \(4 * units)")
        inputSize = kernel.rows
        self.units = units
        self.kernel = kernel
        self.recurrentKernel = recurrentKernel
        self.bias = bias
    }

    /// What the backward pass needs from a forward pass.
    public struct Trace: Sendable {
        public let input: SequenceBatch
        /// Activated gates (i, f, candidate, o) per step, time-major: (steps·batch) × 4·units.
        let gates: [Float]
        /// c₀ … c_T, time-major: ((steps+1)·batch) × units; c₀ = 0.
        let cells: [Float]
        /// h₀ … h_T, time-major: ((steps+1)·batch) × units; h₀ = 0.
        let hiddens: [Float]
        /// tanh(c₁) … tanh(c_T), time-major: (steps·batch) × units, kept for the backward pass.
        let cellTanhs: [Float]

        /// Hidden states h₁ … h_T: the input of the next layer.
        public var outputs: SequenceBatch {
            let units = hiddens.count / ((input.steps + 1) * input.batch)
            return SequenceBatch(batch: input.batch, steps: input.steps, features: units,
                                 values: Array(hiddens[(input.batch * units)...]))
        }

        /// h_T, batch × units: the sequence summary the classifier head and embeddings use.
        public var finalHidden: Matrix {
            let units = hiddens.count / ((input.steps + 1) * input.batch)
            return Matrix(rows: input.batch, columns: units,
                          values: Array(hiddens[(input.steps * input.batch * units)...]))
        }
    }

    public struct Gradients: Sendable, Equatable {
        public var kernel: [Float]
        public var recurrentKernel: [Float]
        public var bias: [Float]

        mutating func add(_ other: Gradients) {
            for i in kernel.indices { kernel[i] += other.kernel[i] }
            for i in recurrentKernel.indices { recurrentKernel[i] += other.recurrentKernel[i] }
            for i in bias.indices { bias[i] += other.bias[i] }
        }
    }

    public func forward(_ input: SequenceBatch) -> Trace {
        precondition(input.features == inputSize, "LSTM layer takes \(inputSize) features, got \(input.features)")
        let batch = input.batch, steps = input.steps, h = units, g4 = 4 * units
        var gates = [Float](repeating: 0, count: steps * batch * g4)
        var cells = [Float](repeating: 0, count: (steps + 1) * batch * h)
        var hiddens = [Float](repeating: 0, count: (steps + 1) * batch * h)
        var cellTanhs = [Float](repeating: 0, count: steps * batch * h)
        kernel.values.withUnsafeBufferPointer { w in
        recurrentKernel.values.withUnsafeBufferPointer { u in
        input.values.withUnsafeBufferPointer { x in
        gates.withUnsafeMutableBufferPointer { gv in
        cells.withUnsafeMutableBufferPointer { cv in
        hiddens.withUnsafeMutableBufferPointer { hv in
        cellTanhs.withUnsafeMutableBufferPointer { tv in
            let z = gv.baseAddress!, c = cv.baseAddress!, hs = hv.baseAddress!
            // Every step's input projection in one product: z = b + X·W.
            for r in 0..<(steps * batch) { for j in 0..<g4 { z[r * g4 + j] = bias[j] } }
            BLAS.multiply(x.baseAddress!, rows: steps * batch, columns: inputSize,
                          by: w.baseAddress!, rows: inputSize, columns: g4, into: z, beta: 1)
            for t in 0..<steps {
                let zt = z + t * batch * g4
                let hPrev = hs + t * batch * h, hNext = hs + (t + 1) * batch * h
                let cPrev = c + t * batch * h, cNext = c + (t + 1) * batch * h
                let tanhNext = tv.baseAddress! + t * batch * h
                if t > 0 { // h₀ = 0 adds nothing
                    BLAS.multiply(hPrev, rows: batch, columns: h, by: u.baseAddress!, rows: h, columns: g4,
                                  into: zt, beta: 1)
                }
                // One simple loop per quantity, each over contiguous memory, so that each vectorises.
                for b in 0..<batch {
                    let row = zt + b * g4
                    let c = cNext + b * h, cellTanh = tanhNext + b * h, hidden = hNext + b * h
                    activate(row, count: 2 * h, sigmoid)                 // i, f
                    activate(row + 2 * h, count: h, hyperbolicTangent)   // candidate
                    activate(row + 3 * h, count: h, sigmoid)             // o
                    combine(row, row + 2 * h, into: c, count: h) { $0 * $1 }
                    let previous = UnsafePointer(cPrev + b * h), forget = UnsafePointer(row + h)
                    for j in 0..<h { c[j] += forget[j] * previous[j] }
                    for j in 0..<h { cellTanh[j] = hyperbolicTangent(c[j]) }
                    combine(row + 3 * h, cellTanh, into: hidden, count: h) { $0 * $1 }
                }
            }
        }}}}}}}
        return Trace(input: input, gates: gates, cells: cells, hiddens: hiddens, cellTanhs: cellTanhs)
    }

    /// Backpropagation through time. `outputGradient` is ∂loss/∂h_t for every step, time-major
    /// (steps·batch) × units (zero where a step's output is unused). Returns the parameter
    /// gradients and, when asked, ∂loss/∂input in the input's layout.
    public func backward(_ trace: Trace, outputGradient: [Float], inputGradient wantsInputGradient: Bool)
        -> (gradients: Gradients, inputGradient: [Float]?)
    {
        let batch = trace.input.batch, steps = trace.input.steps, h = units, g4 = 4 * units
        precondition(trace.input.features == inputSize && trace.gates.count == steps * batch * g4,
                     "trace does not come from this layer's shape")
        precondition(outputGradient.count == steps * batch * h,
                     "output gradient has \(outputGradient.count) values, expected \(steps * batch * h)")
        var dz = [Float](repeating: 0, count: steps * batch * g4)
        var dh = [Float](repeating: 0, count: batch * h)
        var dc = [Float](repeating: 0, count: batch * h)
        var gradients = Gradients(kernel: [Float](repeating: 0, count: inputSize * g4),
                                  recurrentKernel: [Float](repeating: 0, count: h * g4),
                                  bias: [Float](repeating: 0, count: g4))
        var inputGradient: [Float]? = nil
        recurrentKernel.values.withUnsafeBufferPointer { u in
        trace.gates.withUnsafeBufferPointer { gv in
        trace.cells.withUnsafeBufferPointer { cv in
        trace.cellTanhs.withUnsafeBufferPointer { tv in
        outputGradient.withUnsafeBufferPointer { dout in
        dz.withUnsafeMutableBufferPointer { dzv in
        dh.withUnsafeMutableBufferPointer { dhv in
        dc.withUnsafeMutableBufferPointer { dcv in
            let dhNext = dhv.baseAddress!, dcNext = dcv.baseAddress!
            for t in stride(from: steps - 1, through: 0, by: -1) {
                let gt = gv.baseAddress! + t * batch * g4, dzt = dzv.baseAddress! + t * batch * g4
                let cPrev = cv.baseAddress! + t * batch * h, tanhNow = tv.baseAddress! + t * batch * h
                let doutT = dout.baseAddress! + t * batch * h
                for b in 0..<batch {
                    let gate = gt + b * g4, d = dzt + b * g4
                    for j in 0..<h {
                        let k = b * h + j
                        let i = gate[j], f = gate[h + j], candidate = gate[2 * h + j], o = gate[3 * h + j]
                        let dhTotal = doutT[k] + dhNext[k]
                        let tanhCell = tanhNow[k]
                        let dcTotal = dcNext[k] + dhTotal * o * (1 - tanhCell * tanhCell)
                        d[j] = dcTotal * candidate * i * (1 - i)
                        d[h + j] = dcTotal * cPrev[k] * f * (1 - f)
                        d[2 * h + j] = dcTotal * i * (1 - candidate * candidate)
                        d[3 * h + j] = dhTotal * tanhCell * o * (1 - o)
                        dcNext[k] = dcTotal * f
                    }
                }
                // ∂loss/∂h_{t−1} through the recurrence: dz_t · Uᵀ (h₀ is fixed, so not at t = 0).
                if t > 0 {
                    BLAS.multiply(dzt, rows: batch, columns: g4, by: u.baseAddress!, rows: h, columns: g4,
                                  transposeB: true, into: dhNext)
                }
            }
        }}}}}}}}
        // Whole-sequence products, one each: dW = Xᵀ·dz, dU = [h₀ … h_{T−1}]ᵀ·dz, db = Σ dz.
        trace.input.values.withUnsafeBufferPointer { x in
        trace.hiddens.withUnsafeBufferPointer { hs in
        dz.withUnsafeBufferPointer { dzv in
        gradients.kernel.withUnsafeMutableBufferPointer { dw in
        gradients.recurrentKernel.withUnsafeMutableBufferPointer { du in
            BLAS.multiply(x.baseAddress!, rows: steps * batch, columns: inputSize, transposeA: true,
                          by: dzv.baseAddress!, rows: steps * batch, columns: g4, into: dw.baseAddress!)
            BLAS.multiply(hs.baseAddress!, rows: steps * batch, columns: h, transposeA: true,
                          by: dzv.baseAddress!, rows: steps * batch, columns: g4, into: du.baseAddress!)
            if wantsInputGradient {
                var dx = [Float](repeating: 0, count: steps * batch * inputSize)
                kernel.values.withUnsafeBufferPointer { w in
                    dx.withUnsafeMutableBufferPointer { dxv in
                        BLAS.multiply(dzv.baseAddress!, rows: steps * batch, columns: g4,
                                      by: w.baseAddress!, rows: inputSize, columns: g4, transposeB: true,
                                      into: dxv.baseAddress!)
                    }
                }
                inputGradient = dx
            }
        }}}}}
        dz.withUnsafeBufferPointer { dzv in
            gradients.bias.withUnsafeMutableBufferPointer { db in
                for r in 0..<(steps * batch) {
                    let row = dzv.baseAddress! + r * g4
                    for j in 0..<g4 { db[j] += row[j] }
                }
            }
        }
        return (gradients, inputGradient)
    }
}

@inline(__always) private func activate(_ p: UnsafeMutablePointer<Float>, count: Int, _ f: (Float) -> Float) {
    for j in 0..<count { p[j] = f(p[j]) }
}

@inline(__always) private func combine(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>,
                                       into c: UnsafeMutablePointer<Float>, count: Int, _ f: (Float, Float) -> Float) {
    for j in 0..<count { c[j] = f(a[j], b[j]) }
}
