import TimbreCore

extension EASE.Model {
    /// The score is Σ_j x_j·B[j, i] over the user's kept items j (x_j = 1, or their value with
    /// use-values), so each j's term is x_j·B[j, i] and the shares are exact parts of the score.
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
        guard let target = position(of: item) else { return nil }
        var terms: [(item: Int32, term: Float)] = []
        for (j, value) in zip(user.items, user.ratings) {
            guard let p = position(of: j) else { continue }
            terms.append((j, (useValues ? value : 1) * weight(from: p, to: target)))
        }
        return largestShares(terms, limit: limit)
    }

    /// The item's row in B, by binary search in the ascending `kept`; nil for an item B leaves out.
    func position(of item: Int32) -> Int? {
        var lo = 0, hi = kept.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if kept[mid] < item { lo = mid + 1 } else { hi = mid }
        }
        return lo < kept.count && kept[lo] == item ? lo : nil
    }
}
