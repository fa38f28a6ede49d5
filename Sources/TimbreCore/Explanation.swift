/// One rated item's part in a recommended item's score: `share` is its term divided by the sum of
/// all terms (so the shares of every term add up to 1; a list cut at `limit` adds up to less).
/// A negative share is a term that pulled the score down.
public struct Contribution: Sendable, Equatable {
    public var item: Int32
    public var share: Float

    public init(item: Int32, share: Float) {
        self.item = item
        self.share = share
    }
}

/// The `limit` largest terms of a score that is their sum, as shares of that sum, largest first
/// (ties by lower item index). Empty when the terms add up to nothing (no share is defined).
/// For strategies whose score is a sum over the user's rated items (item-kNN, EASE, content).
public func largestShares(_ terms: [(item: Int32, term: Float)], limit: Int) -> [Contribution] {
    let total = terms.reduce(Float(0)) { $0 + $1.term }
    guard limit > 0, total != 0, total.isFinite else { return [] }
    var best = BestItems(capacity: limit)
    for t in terms { best.offer(t.item, t.term / total) }
    return best.sorted().map { Contribution(item: $0.item, share: $0.score) }
}
