import Foundation
import TimbreCore
import TimbreNeural
import LatentFactors

/// Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008): every user × item cell is
/// an observation, preference 1 where the user interacted and 0 elsewhere, weighted by confidence
/// c = 1 + α·r (or 1 + α·log(1 + r/ε)) where they did and 1 where they did not. Factors are fitted
/// by alternating least squares, each row's solve a few conjugate-gradient steps warm-started from
/// its previous value (Takács, Pilászy & Tikk 2011), with YᵀY computed once per half-iteration.
/// The model keeps the item factors only: a user's factors are solved exactly from their profile
/// at query time (fold-in), so new users and new plays are served without retraining.
public struct IALS: Strategy {
    public static let name = "ials"
    public static let summary = "Implicit ALS matrix factorisation with confidence weights and conjugate-gradient solves (Hu et al. 2008)"
    public static let factors = Setting("factors", default: 50, range: 1...1000, help: "latent dimensions")
    public static let iterations = Setting("iterations", default: 15, range: 1...1000, help: "alternating user and item half-steps")
    public static let regularisation = Setting("regularisation", default: 20.0, above: 0,
                                        help: "ridge λ on every factor row, not scaled by its interaction count (LensKit's convention, whose default is 0.1)")
    public static let alpha = Setting("alpha", default: 1.0, range: 0...1e9, help: "confidence weight α of an interaction (LensKit's `weight`)")
    public static let confidence = Setting("confidence", default: ConfidenceMode.auto,
                                    help: "linear: c = 1 + α·r, log: c = 1 + α·log(1 + r/ε); auto: log for plays, linear for ratings")
    public static let epsilon = Setting("epsilon", default: 1.0, above: 0, help: "ε of the log confidence")
    public static let useValues = Setting("use-values", default: false, help: "ratings: r is the rating instead of 1 (plays always use their count)")
    public static let cgSteps = Setting("cg-steps", default: 3, range: 0...1000, help: "conjugate-gradient steps per row solve (0: exact Cholesky solves)")
    public static let seed = Setting("seed", default: 0, range: 0...4_294_967_295, help: "seed of the initial item factors")
    public static let parameters = [factors.spec, iterations.spec, regularisation.spec, alpha.spec, confidence.spec, epsilon.spec,
                                    useValues.spec, cgSteps.spec, seed.spec]

    let factors: Int
    let iterations: Int
    let regularisation: Float
    let confidence: ConfidenceSetting
    let cgSteps: Int
    let seed: UInt64

    public init(parameters p: Parameters) {
        factors = p[Self.factors]
        iterations = p[Self.iterations]
        regularisation = Float(p[Self.regularisation])
        cgSteps = p[Self.cgSteps]
        seed = UInt64(p[Self.seed])
        confidence = ConfidenceSetting(mode: p[Self.confidence], alpha: Float(p[Self.alpha]), epsilon: Float(p[Self.epsilon]),
                                       useValues: p[Self.useValues])
    }

    public func fit(_ data: TrainingData) throws -> Model {
        let (_, items) = try train(data)
        return Model(factors: factors, itemFactors: items, interacted: interacted(data.ratings),
                     regularisation: regularisation, confidence: confidence.resolved(for: data.feedback))
    }

    func interacted(_ m: RatingMatrix) -> [Bool] { (0..<Int32(m.itemCount)).map { m.byItem.count($0) > 0 } }

    /// Both factor matrices (users × factors and items × factors, row-major) after `iterations`
    /// user-then-item half-steps.
    func train(_ data: TrainingData) throws -> (users: [Float], items: [Float]) {
        let m = data.ratings, k = factors
        let weigh = confidence.resolved(for: data.feedback)
        let byUser = m.byUser.values.map(weigh.confidence), byItem = m.byItem.values.map(weigh.confidence)
        var rng = SeededGenerator(seed: seed)
        var users = [Float](repeating: 0, count: m.userCount * k)
        var items = (0..<m.itemCount * k).map { _ in Float(0.01 * rng.gaussian()) }
        for _ in 0..<iterations {
            try halfStep(m.byUser, confidences: byUser, fixed: items, solving: &users)
            try halfStep(m.byItem, confidences: byItem, fixed: users, solving: &items)
        }
        return (users, items)
    }

    /// Re-solves every row of `target` (one per row of `rows`) against the fixed side: CG steps
    /// warm-started from the row's current value, or exact solves when cg-steps is 0.
    func halfStep(_ rows: SparseRows, confidences: [Float], fixed: [Float], solving target: inout [Float], steps: Int? = nil) throws {
        let k = factors, steps = steps ?? cgSteps
        let gram = regularisedGram(fixed, factors: k, regularisation: regularisation)
        try target.withUnsafeMutableBufferPointer { out in
            let shared = SharedRows(base: out.baseAddress!)
            let failures = concurrentChunks(rows.rowCount) { range -> FactorisationError? in
                let solver = RowSolver(factors: k)
                for r in range {
                    let span = rows.range(Int32(r))
                    let row = shared.base + r * k
                    do {
                        try fixed.withUnsafeBufferPointer { y in
                            try gram.withUnsafeBufferPointer { g in
                                try rows.columns.withUnsafeBufferPointer { cols in
                                    try confidences.withUnsafeBufferPointer { conf in
                                        let observed = ObservedRow(columns: cols.baseAddress! + span.lowerBound,
                                                                   confidences: conf.baseAddress! + span.lowerBound, count: span.count)
                                        if steps == 0 {
                                            try solver.exact(observed, fixed: y.baseAddress!, gram: g.baseAddress!, into: row)
                                        } else {
                                            solver.conjugateGradient(observed, fixed: y.baseAddress!, gram: g.baseAddress!, row: row, steps: steps)
                                        }
                                    }
                                }
                            }
                        }
                    } catch let error as FactorisationError { return error } catch { preconditionFailure("\(error)") }
                }
                return nil
            }
            if let failure = failures.compactMap({ $0 }).first { throw failure }
        }
    }

    public struct Model: ItemFactorModel {
        public let factors: Int
        /// items × factors, row-major; rows of items without training interactions are zero.
        let itemRows: [Float]
        let interacted: [Bool]
        let regularisation: Float
        let confidence: Confidence
        /// YᵀY + λI, derived from the item factors (not stored).
        let gram: [Float]

        init(factors: Int, itemFactors: [Float], interacted: [Bool], regularisation: Float, confidence: Confidence) {
            self.factors = factors
            self.itemRows = itemFactors
            self.interacted = interacted
            self.regularisation = regularisation
            self.confidence = confidence
            gram = regularisedGram(itemRows, factors: factors, regularisation: regularisation)
        }

        /// The item factors as an embedding table (one row per training item), e.g. to store as
        /// "CF factors" embeddings for content-based and cold-start uses.
        public var itemFactors: (dimension: Int, vectors: [Float]) { (factors, itemRows) }

        public var itemFactorDimension: Int { factors }
        public var itemFactorRows: [Float] { itemRows }
        public func userFactorRow(_ user: UserProfile) -> [Float]? { userFactors(user) }

        /// The user's factors solved exactly from their profile against the item factors: the
        /// same normal equations a training user half-step solves, so a training user gets the
        /// row a final exact user step would give them. Nil when no profile item is known.
        public func userFactors(_ user: UserProfile) -> [Float]? {
            let itemCount = interacted.count
            var columns: [Int32] = [], confidences: [Float] = []
            for (item, value) in zip(user.items, user.ratings) where item >= 0 && Int(item) < itemCount && interacted[Int(item)] {
                columns.append(item)
                confidences.append(confidence.confidence(value))
            }
            guard !columns.isEmpty else { return nil }
            var x = [Float](repeating: 0, count: factors)
            let solver = RowSolver(factors: factors)
            // YᵀY + λ·I plus positive semi-definite terms is positive definite: the solve cannot fail
            // on finite factors.
            try? columns.withUnsafeBufferPointer { cols in
                confidences.withUnsafeBufferPointer { conf in
                    itemRows.withUnsafeBufferPointer { y in
                        gram.withUnsafeBufferPointer { g in
                            x.withUnsafeMutableBufferPointer { out in
                                try? solver.exact(ObservedRow(columns: cols.baseAddress!, confidences: conf.baseAddress!, count: cols.count),
                                                  fixed: y.baseAddress!, gram: g.baseAddress!, into: out.baseAddress!)
                            }
                        }
                    }
                }
            }
            return x
        }

        /// x_u · y_i for every item with training interactions; −inf for the rest, and for every
        /// item when the profile has no known item.
        public func score(_ user: UserProfile, into scores: inout [Float]) {
            BLAS.scoreRows(itemRows, by: userFactors(user), scorable: interacted, into: &scores)
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(Int64(factors))
            writer.write(regularisation)
            confidence.encode(to: &writer)
            writer.write(interacted.map { UInt8($0 ? 1 : 0) })
            writer.write(itemRows)
        }

        public init(decoding reader: inout ModelReader) throws {
            let factors = try IALS.storedSetting(IALS.factors, try reader.read(Int64.self))
            let regularisation: Float = try reader.read()
            let confidence = try Confidence(decoding: &reader)
            let interacted = try reader.read([UInt8].self).map { $0 != 0 }
            let itemFactors: [Float] = try reader.read()
            guard itemFactors.count == interacted.count * factors else {
                throw ModelDecodingError(description: "ials model: \(itemFactors.count) factor values for \(interacted.count) items × \(factors)")
            }
            self.init(factors: factors, itemFactors: itemFactors, interacted: interacted, regularisation: regularisation, confidence: confidence)
        }
    }
}

public enum ConfidenceMode: String, CaseIterable, SettingChoice {
    case auto, linear, log
}

/// The confidence settings as given; `auto` is decided by the training data's feedback kind.
struct ConfidenceSetting: Sendable {
    let mode: ConfidenceMode
    let alpha: Float
    let epsilon: Float
    let useValues: Bool

    func resolved(for feedback: FeedbackKind) -> Confidence {
        let logarithmic = mode == .log || (mode == .auto && feedback == .plays)
        return Confidence(logarithmic: logarithmic, alpha: alpha, epsilon: epsilon, useValues: useValues || feedback == .plays)
    }
}

/// c(v) for one interaction of value v (a rating or a play total): r = v when values are used,
/// else 1; c = 1 + α·r, or 1 + α·log(1 + r/ε).
struct Confidence: Sendable, Equatable {
    let logarithmic: Bool
    let alpha: Float
    let epsilon: Float
    let useValues: Bool

    @inline(__always) func confidence(_ value: Float) -> Float {
        let r = useValues ? value : 1
        return 1 + alpha * (logarithmic ? Float(log1p(Double(r / epsilon))) : r)
    }

    func encode(to writer: inout ModelWriter) {
        writer.write(UInt8(logarithmic ? 1 : 0))
        writer.write(UInt8(useValues ? 1 : 0))
        writer.write(alpha)
        writer.write(epsilon)
    }

    init(logarithmic: Bool, alpha: Float, epsilon: Float, useValues: Bool) {
        self.logarithmic = logarithmic
        self.alpha = alpha
        self.epsilon = epsilon
        self.useValues = useValues
    }

    init(decoding reader: inout ModelReader) throws {
        logarithmic = try reader.read(UInt8.self) != 0
        useValues = try reader.read(UInt8.self) != 0
        alpha = try reader.read()
        epsilon = try reader.read()
    }
}

/// FᵀF + λI (factors × factors, full symmetric) for F stored rows × factors.
func regularisedGram(_ f: [Float], factors k: Int, regularisation: Float) -> [Float] {
    var g = [Float](repeating: 0, count: k * k)
    f.withUnsafeBufferPointer { fv in
        g.withUnsafeMutableBufferPointer { gv in
            if !fv.isEmpty { BLAS.gramUpper(fv.baseAddress!, rows: fv.count / k, columns: k, into: gv.baseAddress!) }
            BLAS.mirrorUpper(gv.baseAddress!, n: k)
        }
    }
    for d in 0..<k { g[d * k + d] += regularisation }
    return g
}

/// One row's observed cells: the other side's indices and their confidences.
struct ObservedRow {
    let columns: UnsafePointer<Int32>
    let confidences: UnsafePointer<Float>
    let count: Int
}

/// Each chunk writes only its own rows.
private struct SharedRows: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
}

/// Scratch for one thread's row solves. The normal equations of row u, with Y the fixed side and
/// G = YᵀY + λI: (G + Σ_i (c_i − 1) y_i y_iᵀ) x = Σ_i c_i y_i over the row's observed cells.
final class RowSolver {
    let k: Int
    /// Residual, search direction, system · direction (k each), then the assembled k × k system.
    private let scratch: UnsafeMutablePointer<Float>

    init(factors k: Int) {
        self.k = k
        scratch = .allocate(capacity: 3 * k + k * k)
    }

    deinit { scratch.deallocate() }

    /// out ← (G + Σ (c_i − 1) y_i y_iᵀ) v.
    @inline(__always)
    func applySystem(_ row: ObservedRow, fixed y: UnsafePointer<Float>, gram g: UnsafePointer<Float>,
                     _ v: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for a in 0..<k { out[a] = LatentFactors.dot(g + a * k, v, k) }
        for n in 0..<row.count {
            let yi = y + Int(row.columns[n]) * k
            axpy((row.confidences[n] - 1) * LatentFactors.dot(yi, v, k), yi, out, k)
        }
    }

    /// `steps` CG iterations on the row's normal equations from the current `row` (Takács et al.'s
    /// warm start: a few steps per half-iteration track the solution as the other side moves).
    func conjugateGradient(_ observed: ObservedRow, fixed y: UnsafePointer<Float>, gram g: UnsafePointer<Float>,
                        row x: UnsafeMutablePointer<Float>, steps: Int) {
        let k = self.k
        let r = scratch, p = scratch + k, q = scratch + 2 * k
        // r = b − A x, with b = Σ c_i y_i.
        applySystem(observed, fixed: y, gram: g, x, into: q)
        for a in 0..<k { r[a] = -q[a] }
        for n in 0..<observed.count { axpy(observed.confidences[n], y + Int(observed.columns[n]) * k, r, k) }
        for a in 0..<k { p[a] = r[a] }
        var rr = LatentFactors.dot(r, r, k)
        for _ in 0..<steps {
            guard rr > 1e-20 else { break }
            applySystem(observed, fixed: y, gram: g, p, into: q)
            let pq = LatentFactors.dot(p, q, k)
            guard pq > 0 else { break }
            let step = rr / pq
            axpy(step, p, x, k)
            axpy(-step, q, r, k)
            let next = LatentFactors.dot(r, r, k)
            let beta = next / rr
            for a in 0..<k { p[a] = r[a] + beta * p[a] }
            rr = next
        }
    }

    /// x ← the exact solution, by Cholesky (LAPACK sposv) of the assembled k × k system.
    func exact(_ observed: ObservedRow, fixed y: UnsafePointer<Float>, gram g: UnsafePointer<Float>,
                   into x: UnsafeMutablePointer<Float>) throws {
        let k = self.k, s = scratch + 3 * k
        s.update(from: g, count: k * k)
        for a in 0..<k { x[a] = 0 }
        for n in 0..<observed.count {
            let yi = y + Int(observed.columns[n]) * k, c = observed.confidences[n]
            // Upper triangle only: sposv reads no more.
            for a in 0..<k { axpyTail((c - 1) * yi[a], yi, s + a * k, from: a, k) }
            axpy(c, yi, x, k)
        }
        try BLAS.solvePositiveDefinite(s, n: k, x)
    }
}

/// y ← y + alpha · x over k floats.
@inline(__always) func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ k: Int) {
    axpyTail(alpha, x, y, from: 0, k)
}

/// y[j] += alpha · x[j] for j in from..<k.
@inline(__always) func axpyTail(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, from: Int, _ k: Int) {
    for j in from..<k { y[j] += alpha * x[j] }
}
