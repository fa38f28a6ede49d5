import TimbreCore

extension ItemKNN.Model {
    /// Implicit: the score is Σ s_ji over the user's items j that have `item` among their k nearest,
    /// so each such j's term is s_ji. Explicit: the prediction is a similarity-weighted mean of the
    /// residuals of the k most similar rated neighbours, so each neighbour's share is its weight
    /// s_ij / Σ s_ij in that mean.
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
        guard item >= 0, Int(item) < itemCount else { return nil }
        var terms: [(item: Int32, term: Float)] = []
        switch settings.mode {
        case .implicit:
            for j in user.items where Int(j) < itemCount {
                let r = neighbours.range(Int(j))
                for n in r.lowerBound..<min(r.upperBound, r.lowerBound + settings.k) where neighbours.columns[n] == item {
                    terms.append((j, neighbours.values[n]))
                }
            }
        case .explicit:
            let rated = Set(user.items)
            for n in neighbours.range(Int(item)) where rated.contains(neighbours.columns[n]) {
                terms.append((neighbours.columns[n], neighbours.values[n]))
                if terms.count == settings.k { break }
            }
            guard terms.count >= settings.minNeighbours else { return [] }
        }
        return largestShares(terms, limit: limit)
    }
}
