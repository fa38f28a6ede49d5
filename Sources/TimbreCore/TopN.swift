public struct ScoredItem: Sendable, Equatable {
    public var item: Int32
    public var score: Float
    public init(item: Int32, score: Float) {
        self.item = item
        self.score = score
    }
}

/// The `n` best-scoring items, best first, skipping `excluded` (sorted ascending) and
/// unscorable (-inf / NaN) items. Ties break by lower item index so results are reproducible.
/// A bounded min-heap: O(items · log n), no full sort of the catalog.
public func topN(_ scores: [Float], n: Int, excluding excluded: [Int32] = []) -> [ScoredItem] {
    guard n > 0 else { return [] }
    var heap: [ScoredItem] = []
    heap.reserveCapacity(n)
    // "a is worse than b": lower score, or same score and higher index.
    @inline(__always) func worse(_ a: ScoredItem, _ b: ScoredItem) -> Bool {
        a.score < b.score || (a.score == b.score && a.item > b.item)
    }
    func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, worse(heap[l], heap[m]) { m = l }
            if r < heap.count, worse(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
    var ex = 0
    for i in 0..<scores.count {
        let item = Int32(i)
        while ex < excluded.count, excluded[ex] < item { ex += 1 }
        if ex < excluded.count, excluded[ex] == item { continue }
        let s = scores[i]
        guard s > -Float.infinity else { continue } // also drops NaN
        let candidate = ScoredItem(item: item, score: s)
        if heap.count < n {
            heap.append(candidate)
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                guard worse(heap[c], heap[p]) else { break }
                heap.swapAt(c, p)
                c = p
            }
        } else if worse(heap[0], candidate) {
            heap[0] = candidate
            siftDown(0)
        }
    }
    return heap.sorted { worse($1, $0) }
}
