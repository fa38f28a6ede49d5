/// Scratch sums for one row `a` against every row `b` it shares a column with. Dense over `b`
/// with a list of touched slots, so resetting costs only what was used; one per worker chunk,
/// reused across rows, so the pair loop allocates nothing. Noncopyable: it owns its buffers.
public struct PairSums: ~Copyable {
    public let capacity: Int
    public let withMoments: Bool
    /// Σ x_a·x_b and the co-rating count n.
    let dot: UnsafeMutablePointer<Float>
    let count: UnsafeMutablePointer<Float>
    /// Σ x_a, Σ x_b, Σ x_a², Σ x_b² over co-rated entries (only with moments).
    let sa, sb, saa, sbb: UnsafeMutablePointer<Float>
    let touchedSlots: UnsafeMutablePointer<Int32>
    public private(set) var touchedCount = 0

    public init(capacity: Int, withMoments: Bool) {
        self.capacity = capacity
        self.withMoments = withMoments
        func zeros(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        let m = withMoments ? capacity : 0
        dot = zeros(capacity); count = zeros(capacity)
        sa = zeros(m); sb = zeros(m); saa = zeros(m); sbb = zeros(m)
        touchedSlots = .allocate(capacity: max(capacity, 1))
    }

    deinit {
        for p in [dot, count, sa, sb, saa, sbb] { p.deallocate() }
        touchedSlots.deallocate()
    }

    /// The rows `b` that share at least one column with `a`, in first-touch order.
    public var touched: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: touchedSlots, count: touchedCount) }

    @inline(__always) public func coCount(_ b: Int32) -> Float { count[Int(b)] }

    @inline(__always) public mutating func add(_ b: Int32, _ xa: Float, _ xb: Float) {
        let j = Int(b)
        if count[j] == 0 {
            touchedSlots[touchedCount] = b
            touchedCount += 1
        }
        dot[j] += xa * xb
        count[j] += 1
        if withMoments {
            sa[j] += xa; sb[j] += xb
            saa[j] += xa * xa; sbb[j] += xb * xb
        }
    }

    public mutating func reset() {
        for b in touched {
            let j = Int(b)
            dot[j] = 0; count[j] = 0
            if withMoments { sa[j] = 0; sb[j] = 0; saa[j] = 0; sbb[j] = 0 }
        }
        touchedCount = 0
    }

    /// The similarity of `a` and `b`; `normA`/`normB` are full-vector norms (used by cosine only).
    @inline(__always)
    public func similarity(_ b: Int32, _ kind: SimilarityKind, normA: Float, normB: Float, shrinkage: Float) -> Float {
        let j = Int(b)
        let n = count[j]
        var sim: Float
        switch kind {
        case .cosine, .adjustedCosine:
            let d = normA * normB
            sim = d > 0 ? dot[j] / d : 0
        case .pearson:
            let num = n * dot[j] - sa[j] * sb[j]
            let den = ((n * saa[j] - sa[j] * sa[j]) * (n * sbb[j] - sb[j] * sb[j])).squareRoot()
            sim = n >= 2 && den > 0 ? num / den : 0
        case .msd:
            let msd = max(0, saa[j] - 2 * dot[j] + sbb[j]) / n
            sim = 1 / (msd + 1)
        case .pearsonBaseline:
            let den = (saa[j] * sbb[j]).squareRoot()
            sim = den > 0 ? dot[j] / den : 0
        }
        if shrinkage > 0 { sim *= (n - 1) / (n - 1 + shrinkage) }
        return sim
    }
}

/// Compressed rows of (column, value) the neighbourhood models keep: a model's own copy of the
/// training ratings or of item neighbour lists, with model coding.
public struct CompressedRows: Sendable, Equatable {
    public var offsets: [Int]
    public var columns: [Int32]
    public var values: [Float]

    public init(offsets: [Int], columns: [Int32], values: [Float]) {
        self.offsets = offsets
        self.columns = columns
        self.values = values
    }

    public var rowCount: Int { offsets.count - 1 }

    @inline(__always) public func range(_ row: Int) -> Range<Int> { offsets[row]..<offsets[row + 1] }

    public func encode(to w: inout ModelWriter) {
        w.write(offsets.map { Int64($0) })
        w.write(columns)
        w.write(values)
    }

    public init(decoding r: inout ModelReader) throws {
        offsets = try r.read([Int64].self).map { Int($0) }
        columns = try r.read()
        values = try r.read()
        guard offsets.first == 0, offsets.last == columns.count, columns.count == values.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw ModelDecodingError(description: "neighbour rows are inconsistent")
        }
    }
}

import TimbreCore
