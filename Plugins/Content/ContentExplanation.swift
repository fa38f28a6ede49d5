import TimbreCore

extension Content.Model {
    /// The score is the cosine between the profile (Σ_j w_j e_j, normalised) and the item's unit
    /// vector e_i, so it is the sum over rated items j of w_j (e_j · e_i) up to one common factor:
    /// the rated items most similar to the item (weighted by what the user thought of them) lead.
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
        guard has(item) else { return nil }
        let rated = zip(user.items, user.ratings).filter { has($0.0) }
        func terms(_ weight: (Float) -> Float) -> [(item: Int32, term: Float)] {
            rated.compactMap { j, rating in
                let w = weight(rating)
                guard w != 0 else { return nil }
                var dot: Float = 0
                for d in 0..<dimension { dot += columns[d * itemCount + Int(j)] * columns[d * itemCount + Int(item)] }
                return (j, w * dot)
            }
        }
        // The same weights as `profile`: explicit ones unless they cancel out (all ratings equal).
        if settings.mode == .explicit, let mean = user.meanRating, rated.contains(where: { $0.1 != mean }) {
            return largestShares(terms { $0 - mean }, limit: limit)
        }
        return largestShares(terms { _ in 1 }, limit: limit)
    }
}
