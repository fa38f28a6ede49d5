import LatentFactors
import TimbreCore

extension IALS.Model {
    /// Exact, not "nearest in factor space": the fold-in makes the user's factors linear in the
    /// rated items' factors, x_u = A⁻¹ Σ_j c_j y_j with A = YᵀY + λI + Σ_j (c_j − 1) y_j y_jᵀ, so
    /// the score y_i·x_u = Σ_j c_j (A⁻¹ y_i)·y_j (A is symmetric) and item j's term is
    /// c_j (A⁻¹ y_i)·y_j. The terms add up to the score; one solve per explained item.
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
        guard item >= 0, Int(item) < interacted.count, interacted[Int(item)] else { return nil }
        let (columns, confidences) = observedCells(user)
        guard !columns.isEmpty else { return [] }
        let k = factors
        var z = Array(itemRows[Int(item) * k..<(Int(item) + 1) * k])
        let solver = RowSolver(factors: k)
        // A is positive definite (see userFactors): the solve cannot fail on finite factors.
        guard (try? columns.withUnsafeBufferPointer { cols in
            try confidences.withUnsafeBufferPointer { conf in
                try itemRows.withUnsafeBufferPointer { y in
                    try gram.withUnsafeBufferPointer { g in
                        try z.withUnsafeMutableBufferPointer { out in
                            try solver.solveSystem(ObservedRow(columns: cols.baseAddress!, confidences: conf.baseAddress!, count: cols.count),
                                                   fixed: y.baseAddress!, gram: g.baseAddress!, into: out.baseAddress!)
                        }
                    }
                }
            }
        }) != nil else { return nil }
        let terms = zip(columns, confidences).map { j, c in
            (item: j, term: c * z.withUnsafeBufferPointer { zp in
                itemRows.withUnsafeBufferPointer { LatentFactors.dot(zp.baseAddress!, $0.baseAddress! + Int(j) * k, k) }
            })
        }
        return largestShares(terms, limit: limit)
    }
}
