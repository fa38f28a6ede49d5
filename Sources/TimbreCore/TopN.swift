public struct ScoredItem: Sendable, Equatable {
    public var item: Int32
    public var score: Float
    public init(item: Int32, score: Float) {
        self.item = item
        self.score = score
    }
}

/// The `capacity` best items offered so far: a bounded min-heap, O(log n) per offer, no full sort.
/// Ties break by lower item index so results are reproducible. Reusable after `removeAll()`, so a
/// hot loop keeps one and allocates nothing.
public struct BestItems: Sendable {
    public let capacity: Int
    private var heap: [ScoredItem] = []

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
        heap.reserveCapacity(self.capacity)
    }

    public var count: Int { heap.count }

    /// The score an offer must beat to enter once full; -inf while there is room.
    public var threshold: Float { heap.count < capacity ? -Float.infinity : heap[0].score }

    /// "a is worse than b": lower score, or same score and higher index.
    @inline(__always) static func worse(_ a: ScoredItem, _ b: ScoredItem) -> Bool {
        a.score < b.score || (a.score == b.score && a.item > b.item)
    }

    @inline(__always) public mutating func offer(_ item: Int32, _ score: Float) {
        guard capacity > 0 else { return }
        let candidate = ScoredItem(item: item, score: score)
        if heap.count < capacity {
            heap.append(candidate)
            var c = heap.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                guard Self.worse(heap[c], heap[p]) else { break }
                heap.swapAt(c, p)
                c = p
            }
        } else if Self.worse(heap[0], candidate) {
            heap[0] = candidate
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, Self.worse(heap[l], heap[m]) { m = l }
                if r < heap.count, Self.worse(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
    }

    /// Best first.
    public func sorted() -> [ScoredItem] { heap.sorted { Self.worse($1, $0) } }

    /// The kept items in heap order (no sort), for callers that only sum or re-sort them.
    public var unordered: [ScoredItem] { heap }

    public mutating func removeAll() { heap.removeAll(keepingCapacity: true) }
}

/// The `n` best-scoring items, best first, skipping `excluded` (sorted ascending) and
/// unscorable (-inf / NaN) items. Ties break by lower item index so results are reproducible.
public func topN(_ scores: [Float], n: Int, excluding excluded: [Int32] = []) -> [ScoredItem] {
    guard n > 0 else { return [] }
    // A list never holds more than every item: n beyond that must not reach the allocation.
    var best = BestItems(capacity: min(n, scores.count))
    var ex = 0
    scores.withUnsafeBufferPointer { s in
        for i in 0..<s.count {
            let item = Int32(i)
            while ex < excluded.count, excluded[ex] < item { ex += 1 }
            if ex < excluded.count, excluded[ex] == item { continue }
            let score = s[i]
            guard score > -Float.infinity else { continue } // also drops NaN
            // Cheap reject before touching the heap: most items lose once the heap is full.
            guard score >= best.threshold else { continue }
            best.offer(item, score)
        }
    }
    return best.sorted()
}

extension Collection where Element: Comparable {
    /// 0-based position of the largest element, the earliest of equal ones (nil when empty): the
    /// predicted class of a row of scores, reproducible on ties.
    public var offsetOfMaximum: Int? {
        var best: (offset: Int, value: Element)?
        for (offset, value) in enumerated() where best.map({ value > $0.value }) ?? true { best = (offset, value) }
        return best?.offset
    }
}
