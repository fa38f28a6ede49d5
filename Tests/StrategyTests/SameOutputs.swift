import Testing
import TimbreCore

/// Checks that `b` (e.g. `a` stored and reloaded) scores, ranks and predicts exactly as `a` for
/// every `step`-th user of `m` (NaN scores match NaN). Whether the predictions are right is for
/// the naive references (NaiveReferences.swift).
func expectSameOutputs(_ a: any TrainedModel, _ b: any TrainedModel, on m: RatingMatrix, every step: Int32, items: [Int32],
                       sourceLocation: SourceLocation = #_sourceLocation) {
    var x = [Float](repeating: 0, count: m.itemCount), y = x
    for u in stride(from: Int32(0), to: Int32(m.userCount), by: Int(step)) {
        let profile = m.profile(of: u)
        a.score(profile, into: &x)
        b.score(profile, into: &y)
        #expect(x.elementsEqual(y) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "user \(u)", sourceLocation: sourceLocation)
        #expect(topN(x, n: 10, excluding: profile.items) == topN(y, n: 10, excluding: profile.items), sourceLocation: sourceLocation)
        let batch = a.predictAll(profile, items: items)
        #expect(batch == b.predictAll(profile, items: items), "user \(u)", sourceLocation: sourceLocation)
    }
}
