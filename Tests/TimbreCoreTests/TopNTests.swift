import Testing
import TimbreCore

@Suite struct OffsetOfMaximum {
    @Test func earliestOfEqualMaximaInArraysAndSlices() {
        #expect([0.2, 0.7, 0.7, 0.1].offsetOfMaximum == 1)
        #expect([Float(3)].offsetOfMaximum == 0)
        #expect([Int]().offsetOfMaximum == nil)
        // A slice's offset counts from its own start, not from the array's.
        let row = [9, 1, 5, 5, 2][1...]
        #expect(row.offsetOfMaximum == 1)
    }
}

@Suite struct TopNAgainstAPlainSort {
    /// The heap-based top-N equals a full sort by (score descending, index ascending) of the items
    /// that are neither excluded nor unscorable, for many sizes, tie-heavy scores and exclusions.
    @Test(arguments: [1, 3, 10, 64])
    func equalsSortingEveryScore(n: Int) {
        var rng = SeededGenerator(seed: UInt64(n))
        for trial in 0..<200 {
            let count = Int.random(in: 0...120, using: &rng)
            // Few distinct values, so ties are common; some -inf and NaN.
            let scores: [Float] = (0..<count).map { _ in
                switch Int.random(in: 0..<12, using: &rng) {
                case 0: -.infinity
                case 1: .nan
                default: Float(Int.random(in: -4...4, using: &rng)) / 2
                }
            }
            let excluded = (0..<count).filter { _ in Int.random(in: 0..<5, using: &rng) == 0 }.map(Int32.init)
            let expected = scores.enumerated()
                .filter { !excluded.contains(Int32($0.offset)) && !$0.element.isNaN && $0.element != -.infinity }
                .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
                .prefix(n).map { ScoredItem(item: Int32($0.offset), score: $0.element) }
            #expect(topN(scores, n: n, excluding: excluded) == Array(expected), "trial \(trial)")
        }
    }
}
