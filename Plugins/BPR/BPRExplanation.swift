import LatentFactors
import TimbreCore

extension BPR.Model {
    /// The rated items nearest the item in factor space: BPR's user vector comes from SGD (trained,
    /// or folded in), which does not split into per-item parts, so the score itself cannot be
    /// shared out. Each rated item j with a positive cosine between y_j and y_i gets that cosine;
    /// the shares are of the sum of those cosines (they add up to 1), not of the score. Items
    /// pointing away from the item (cosine ≤ 0) are not "near" and are left out.
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
        guard item >= 0, Int(item) < itemCount else { return nil }
        let d = factors
        return itemFactors.withUnsafeBufferPointer { y in
            let base = y.baseAddress!
            func norm(_ i: Int32) -> Float { LatentFactors.dot(base + Int(i) * d, base + Int(i) * d, d).squareRoot() }
            let target = norm(item)
            guard target > 0 else { return [] }
            var terms: [(item: Int32, term: Float)] = []
            for j in user.items where j >= 0 && Int(j) < itemCount {
                let length = norm(j)
                guard length > 0 else { continue }
                let cosine = LatentFactors.dot(base + Int(j) * d, base + Int(item) * d, d) / (length * target)
                if cosine > 0 { terms.append((j, cosine)) }
            }
            return largestShares(terms, limit: limit)
        }
    }
}
