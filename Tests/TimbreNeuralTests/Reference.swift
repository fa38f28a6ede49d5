import Foundation
import TimbreCore
import TimbreNeural

/// A straightforward Double-precision LSTM → (Dense + ReLU)* → Dense → softmax cross-entropy
/// written from the Keras definition, one sequence at a time with plain loops, sharing no code
/// with TimbreNeural; dropout is left out (inference mode). Tensors are flat row-major arrays:
/// per LSTM layer kernel [F × 4H], recurrent [H × 4H], bias [4H]; per ReLU layer kernel
/// [in × out] and bias [out]; then the head's kernel [H × C] and bias [C].
struct ReferenceModel {
    var layerSizes: [Int]
    var hiddenSizes: [Int]
    var inputSize: Int
    var classCount: Int
    var tensors: [[Double]]

    init(_ model: SequenceClassifier) {
        layerSizes = model.layerSizes
        hiddenSizes = model.hiddenSizes
        inputSize = model.inputSize
        classCount = model.classCount
        tensors = []
        for layer in model.layers {
            tensors += [layer.kernel.values, layer.recurrentKernel.values, layer.bias].map { $0.map(Double.init) }
        }
        for dense in model.hidden { tensors += [dense.kernel.values, dense.bias].map { $0.map(Double.init) } }
        tensors += [model.head.kernel.values, model.head.bias].map { $0.map(Double.init) }
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// Hidden states h_1 … h_T of one layer for one sequence x[t][f].
    static func lstm(_ x: [[Double]], kernel: [Double], recurrent: [Double], bias: [Double], units h: Int) -> [[Double]] {
        let features = x[0].count
        var hidden = [Double](repeating: 0, count: h), cell = [Double](repeating: 0, count: h)
        var out: [[Double]] = []
        for xt in x {
            var z = [Double](repeating: 0, count: 4 * h)
            for j in 0..<(4 * h) {
                var s = bias[j]
                for f in 0..<features { s += xt[f] * kernel[f * 4 * h + j] }
                for k in 0..<h { s += hidden[k] * recurrent[k * 4 * h + j] }
                z[j] = s
            }
            for j in 0..<h {
                let i = sigmoid(z[j]), f = sigmoid(z[h + j]), g = tanh(z[2 * h + j]), o = sigmoid(z[3 * h + j])
                cell[j] = f * cell[j] + i * g
                hidden[j] = o * tanh(cell[j])
            }
            out.append(hidden)
        }
        return out
    }

    func finalHidden(_ x: [[Double]]) -> [Double] {
        var seq = x
        for (l, units) in layerSizes.enumerated() {
            seq = Self.lstm(seq, kernel: tensors[3 * l], recurrent: tensors[3 * l + 1], bias: tensors[3 * l + 2], units: units)
        }
        return seq[seq.count - 1]
    }

    /// The head's outputs (logits, or regression outputs) for one sequence.
    func outputs(_ x: [[Double]]) -> [Double] {
        let headAt = 3 * layerSizes.count + 2 * hiddenSizes.count
        let kernel = tensors[headAt], bias = tensors[headAt + 1]
        let h = hiddenSizes.last ?? layerSizes[layerSizes.count - 1]
        var summary = finalHidden(x)
        for (l, units) in hiddenSizes.enumerated() {
            let k = tensors[3 * layerSizes.count + 2 * l], b = tensors[3 * layerSizes.count + 2 * l + 1]
            var next = [Double](repeating: 0, count: units)
            for j in 0..<units {
                var z = b[j]
                for i in summary.indices { z += summary[i] * k[i * units + j] }
                next[j] = max(0, z)
            }
            summary = next
        }
        return (0..<classCount).map { c in bias[c] + (0..<h).reduce(0) { $0 + summary[$1] * kernel[$1 * classCount + c] } }
    }

    /// Mean cross-entropy over the sequences.
    func loss(_ sequences: [[[Double]]], labels: [Int]) -> Double {
        var total = 0.0
        for (x, label) in zip(sequences, labels) {
            let logits = outputs(x)
            let top = logits.max()!
            let logSum = log(logits.reduce(0) { $0 + exp($1 - top) }) + top
            total += logSum - logits[label]
        }
        return total / Double(sequences.count)
    }

    /// Σ_n w_n · mean_k (output_nk − target_nk)² / Σ_n w_n: the regression head's objective.
    func squaredError(_ sequences: [[[Double]]], targets: [[Double]], weights: [Double]) -> Double {
        var total = 0.0
        for (n, x) in sequences.enumerated() {
            let y = outputs(x)
            total += weights[n] * zip(y, targets[n]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(y.count)
        }
        return total / weights.reduce(0, +)
    }
}

func randomSequences(count: Int, steps: Int, features: Int, seed: UInt64, scale: Double = 1) -> [Matrix] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        Matrix(rows: steps, columns: features, values: (0..<(steps * features)).map { _ in Float((2 * rng.unit() - 1) * scale) })
    }
}

func asDouble(_ m: Matrix) -> [[Double]] { (0..<m.rows).map { m.row($0).map(Double.init) } }

/// Every analytic gradient (per tensor of `reference`, in its order, then ∂loss/∂input laid out
/// time-major like a `SequenceBatch`) against central differences of `loss` on the Double reference.
struct GradientCheck {
    var checked = 0
    var largest = 0.0
    var failures: [String] = []

    init(reference: ReferenceModel, inputs: [[[Double]]], analytic: [[Float]], inputGradient: [Float],
         loss: (ReferenceModel, [[[Double]]]) -> Double) {
        var reference = reference, inputs = inputs
        let eps = 1e-6
        func check(_ a: Float, _ numeric: Double, _ what: String) {
            let allowed = 2e-5 + 1e-3 * abs(numeric)
            largest = max(largest, abs(numeric))
            checked += 1
            if abs(Double(a) - numeric) > allowed { failures.append("\(what): analytic \(a), numeric \(numeric)") }
        }
        for t in reference.tensors.indices {
            precondition(analytic[t].count == reference.tensors[t].count, "tensor \(t): \(analytic[t].count) gradients")
            for i in reference.tensors[t].indices {
                let saved = reference.tensors[t][i]
                reference.tensors[t][i] = saved + eps
                let up = loss(reference, inputs)
                reference.tensors[t][i] = saved - eps
                let down = loss(reference, inputs)
                reference.tensors[t][i] = saved
                check(analytic[t][i], (up - down) / (2 * eps), "tensor \(t)[\(i)]")
            }
        }
        let batch = inputs.count, steps = inputs[0].count, features = inputs[0][0].count
        for b in 0..<batch {
            for step in 0..<steps {
                for f in 0..<features {
                    let saved = inputs[b][step][f]
                    inputs[b][step][f] = saved + eps
                    let up = loss(reference, inputs)
                    inputs[b][step][f] = saved - eps
                    let down = loss(reference, inputs)
                    inputs[b][step][f] = saved
                    check(inputGradient[(step * batch + b) * features + f], (up - down) / (2 * eps), "input[\(b)][\(step)][\(f)]")
                }
            }
        }
    }
}
