import TimbreCore
import TimbreNeural

/// Steck's EASE (2019): a dense item × item model in closed form. With X the user × item
/// interaction matrix, G = XᵀX + λI and P = G⁻¹ (by Cholesky), B = I − P · diag(1/diag P) with a
/// zero diagonal, and a user's scores are their profile row times B. The model is B and the items
/// it covers, so a new user, or a user's newest interactions, are served without retraining.
public struct EASE: Strategy {
    public static let name = "ease"
    public static let summary = "Closed-form item × item regression (Steck 2019 EASE), dense, via LAPACK Cholesky"
    public static let lambda = Setting("lambda", default: 500.0, above: 0, help: "ridge added to the Gram matrix's diagonal")
    public static let maxItems = Setting("max-items", default: 0, range: 0...1_000_000_000,
                                  help: "keep only this many most-interacted items (0: every item with an interaction)")
    public static let memoryGiB = Setting("memory-gib", default: 4.0, above: 0,
                                   help: "refuse to fit when the item × item matrix (4 bytes an entry) exceeds this")
    public static let useValues = Setting("use-values", default: false, help: "weigh interactions by their rating or play count instead of 1")
    public static let parameters = [lambda.spec, maxItems.spec, memoryGiB.spec, useValues.spec]

    let lambda: Float
    let maxItems: Int
    let memoryBytes: Double
    let useValues: Bool

    public init(parameters p: Parameters) {
        lambda = Float(p[Self.lambda])
        maxItems = p[Self.maxItems]
        memoryBytes = p[Self.memoryGiB] * 1_073_741_824
        useValues = p[Self.useValues]
    }

    /// LAPACK's 32-bit indices bound the matrix to 46 340² entries whatever the budget.
    static let largestMatrix = 46_340

    public func fit(_ data: TrainingData) throws -> Model {
        let m = data.ratings
        let kept = keptItems(m)
        let n = kept.count
        let bytes = Double(n) * Double(n) * 4
        guard bytes <= memoryBytes, n <= Self.largestMatrix else {
            let fits = min(Self.largestMatrix, Int((memoryBytes / 4).squareRoot()))
            throw TrainingDataError("ease: \(n) items need an item × item matrix of \(Int(bytes)) bytes (\(gib(bytes)) GiB), "
                + "over the memory-gib budget of \(gib(memoryBytes)) GiB\(n > Self.largestMatrix ? " or LAPACK's limit of \(Self.largestMatrix) items" : ""); "
                + "set max-items (e.g. max-items=\(fits)) to keep only the most-interacted items, or raise memory-gib")
        }
        var position = [Int32](repeating: -1, count: m.itemCount)
        for (p, item) in kept.enumerated() { position[Int(item)] = Int32(p) }

        var b = [Float](repeating: 0, count: n * n)
        try b.withUnsafeMutableBufferPointer { g in
            try BLAS.withThreads(availableCores) {
                accumulateGram(m, position: position, into: g.baseAddress!, n: n)
                for i in 0..<n { g[i * n + i] += lambda }
                try BLAS.invertPositiveDefinite(g.baseAddress!, n: n)
            }
            // B_ij = −P_ij / P_jj off the diagonal, 0 on it.
            let scale = (0..<n).map { -1 / g[$0 * n + $0] }
            for i in 0..<n {
                let row = g.baseAddress! + i * n
                for j in 0..<n { row[j] *= scale[j] }
                row[i] = 0
            }
        }
        return Model(itemCount: m.itemCount, kept: kept, weights: b, useValues: useValues)
    }

    /// Items with at least one interaction, the `max-items` most-interacted when capped (ties to the
    /// lower index), in index order.
    func keptItems(_ m: RatingMatrix) -> [Int32] {
        let rows = m.byItem
        var items = (0..<Int32(m.itemCount)).filter { rows.count($0) > 0 }
        if maxItems > 0, items.count > maxItems {
            items.sort { rows.count($0) != rows.count($1) ? rows.count($0) > rows.count($1) : $0 < $1 }
            items = Array(items.prefix(maxItems)).sorted()
        }
        return items
    }

    /// G ← XᵀX (upper triangle) over the kept items, densifying a block of users at a time so the
    /// product is one BLAS ssyrk per block.
    func accumulateGram(_ m: RatingMatrix, position: [Int32], into g: UnsafeMutablePointer<Float>, n: Int) {
        let blockRows = max(1, min(m.userCount, (1 << 24) / max(n, 1)))
        var block = [Float](repeating: 0, count: blockRows * n)
        var first = 0, beta: Float = 0
        while first < m.userCount {
            let users = first..<min(first + blockRows, m.userCount)
            block.withUnsafeMutableBufferPointer { x in
                x.update(repeating: 0)
                for (r, u) in users.enumerated() {
                    for k in m.byUser.range(Int32(u)) {
                        let p = Int(position[Int(m.byUser.columns[k])])
                        if p >= 0 { x[r * n + p] = useValues ? m.byUser.values[k] : 1 }
                    }
                }
                BLAS.gramUpper(x.baseAddress!, rows: users.count, columns: n, into: g, beta: beta)
            }
            beta = 1
            first = users.upperBound
        }
        if m.userCount == 0 { g.update(repeating: 0, count: n * n) }
    }

    public struct Model: TrainedModel {
        let itemCount: Int
        /// The items B covers, ascending; every other item scores −inf.
        public let kept: [Int32]
        /// B, kept.count² row-major: row i holds item kept[i]'s weight on every kept item.
        let weights: [Float]
        let useValues: Bool

        init(itemCount: Int, kept: [Int32], weights: [Float], useValues: Bool) {
            self.itemCount = itemCount
            self.kept = kept
            self.weights = weights
            self.useValues = useValues
        }

        /// The weight of item `from` on item `to` (both kept positions): B[from, to].
        public func weight(from: Int, to: Int) -> Float { weights[from * kept.count + to] }

        /// profile · B on the kept items, −inf elsewhere.
        public func score(_ user: UserProfile, into scores: inout [Float]) {
            let n = kept.count
            var accumulated = [Float](repeating: 0, count: n)
            var known = false
            accumulated.withUnsafeMutableBufferPointer { acc in
                weights.withUnsafeBufferPointer { b in
                    var p = 0
                    // Both lists are ascending: merge to find the profile's kept items.
                    for (item, value) in zip(user.items, user.ratings) {
                        while p < n, kept[p] < item { p += 1 }
                        guard p < n, kept[p] == item else { continue }
                        known = true
                        let x = useValues ? value : 1
                        let row = b.baseAddress! + p * n
                        for j in 0..<n { acc[j] += x * row[j] }
                    }
                }
            }
            for i in 0..<itemCount { scores[i] = -.infinity }
            // A profile with none of the kept items has nothing to go on: no list rather than ties.
            guard known else { return }
            for (p, item) in kept.enumerated() { scores[Int(item)] = accumulated[p] }
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(Int64(itemCount))
            writer.write(UInt8(useValues ? 1 : 0))
            writer.write(kept)
            writer.write(weights)
        }

        public init(decoding reader: inout ModelReader) throws {
            itemCount = Int(try reader.read(Int64.self))
            useValues = try reader.read(UInt8.self) != 0
            kept = try reader.read()
            weights = try reader.read()
            guard weights.count == kept.count * kept.count, kept.allSatisfy({ $0 >= 0 && Int($0) < itemCount }) else {
                throw ModelDecodingError(description: "ease model: \(weights.count) weights for \(kept.count) items")
            }
        }
    }
}

private func gib(_ bytes: Double) -> String {
    let v = bytes / 1_073_741_824
    return v >= 10 ? String(Int(v.rounded())) : String(Double(Int(v * 100)) / 100)
}
