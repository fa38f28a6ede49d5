import TimbreCore

extension BiasedMF.Model {
    /// The rated items' part of the estimate, b_u + p_u·q_i (μ + b_i belongs to no rated item), split
    /// exactly over the ratings: the fold-in's ridge solve is linear in each rating's residual
    /// r_j − μ − b_j (see `Ridge.terms`), and the members' terms are averaged as their estimates
    /// are. A training user whose stored rows are served (ratings unchanged since training) is
    /// explained by the fold-in of the same ratings, the ALS user step those rows were drawn around,
    /// so there the terms add up to that solve's part, close to but not exactly the served one.
    public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
        guard item >= 0, Int(item) < itemCount else { return nil }
        let w = width
        var sums: [Int32: Float] = [:]
        for member in members {
            let target = member.items[Int(item) * w..<(Int(item) + 1) * w]
            for t in ridge.terms(columns: user.items, values: user.ratings, against: member.items, mean: mean, onto: target) {
                sums[t.item, default: 0] += t.term / Float(members.count)
            }
        }
        return largestShares(sums.map { (item: $0.key, term: $0.value) }, limit: limit)
    }
}
