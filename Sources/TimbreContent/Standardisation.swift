import TimbreCore
import TimbreNeural

/// Per-feature standardisation (x − mean) / deviation, its statistics taken from the training
/// sequences only and stored with the model so inference applies the same transform.
public struct Standardisation: Sendable, Equatable {
    public var mean: [Float]
    public var deviation: [Float]

    public init(mean: [Float], deviation: [Float]) {
        precondition(mean.count == deviation.count, "\(mean.count) means, \(deviation.count) deviations")
        precondition(deviation.allSatisfy { $0 > 0 && $0.isFinite }, "deviations must be positive and finite")
        self.mean = mean
        self.deviation = deviation
    }

    /// Mean and population standard deviation of every column over all rows of all sequences,
    /// accumulated in Double. A constant feature gets deviation 1, so it maps to 0.
    public init(fitting sequences: [Matrix]) {
        precondition(!sequences.isEmpty, "standardisation needs ≥ 1 sequence")
        let features = sequences[0].columns
        var sum = [Double](repeating: 0, count: features), square = sum
        var count = 0
        for s in sequences {
            precondition(s.columns == features, "sequences of \(s.columns) and \(features) features")
            for r in 0..<s.rows {
                for f in 0..<features {
                    let v = Double(s.values[r * features + f])
                    sum[f] += v
                    square[f] += v * v
                }
            }
            count += s.rows
        }
        let n = Double(max(count, 1))
        let mean = sum.map { $0 / n }
        let deviation = (0..<features).map { f in
            let variance = max(square[f] / n - mean[f] * mean[f], 0)
            return variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        self.init(mean: mean.map(Float.init), deviation: deviation)
    }

    public func apply(_ sequence: Matrix) -> Matrix {
        precondition(sequence.columns == mean.count, "sequence has \(sequence.columns) features, standardisation \(mean.count)")
        var out = sequence
        let features = mean.count
        for r in 0..<out.rows {
            for f in 0..<features { out.values[r * features + f] = (out.values[r * features + f] - mean[f]) / deviation[f] }
        }
        return out
    }
}

// MARK: Coding

extension Standardisation {
    /// The means, then the deviations: how every content model file stores its standardisation.
    public func write(to writer: inout ModelWriter) {
        writer.write(mean)
        writer.write(deviation)
    }

    /// What `write(to:)` stored, as read: the network stored after it says how many inputs it
    /// must cover (`checked`).
    public struct Stored {
        let mean: [Float]
        let deviation: [Float]

        public init(reading reader: inout ModelReader) throws {
            mean = try reader.read([Float].self)
            deviation = try reader.read([Float].self)
        }

        /// The standardisation of `inputSize` features, or an error naming the file's `format`
        /// when the bytes hold another size or values no standardisation has.
        public func checked(inputSize: Int, in format: ModelFormat) throws -> Standardisation {
            guard mean.count == inputSize, deviation.count == inputSize,
                  mean.allSatisfy(\.isFinite), deviation.allSatisfy({ $0 > 0 && $0.isFinite })
            else { throw format.error("bad standardisation for \(inputSize) inputs") }
            return Standardisation(mean: mean, deviation: deviation)
        }
    }
}
