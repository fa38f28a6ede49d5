import TimbreBaselines
import TimbreCore

/// Content-based ranking from item embeddings (the audio model's vectors, genre vectors, …).
/// The user's taste profile is the weighted sum of the L2-normalised embeddings of the items they
/// rated; an item's score is the cosine between the profile and its embedding, in [−1, 1]. No
/// rating of the item itself is needed, so items nobody has rated yet are recommended as soon as
/// they have an embedding (the point of this strategy). Implicit: every rated item weighs +1.
/// Explicit: rating − the user's mean, so disliked items push the profile away; a user whose
/// ratings are all equal says nothing about dislikes and is profiled as in implicit mode.
/// Ratings are predicted as the similarity-weighted mean of the user's ratings on the k rated
/// items most similar to the target (positive similarities only).
public struct Content: Strategy {
    public static let name = "content"
    public static let summary = "Content-based: cosine between each item's embedding and the user's profile of rated items' embeddings"
    public static let mode = Setting("mode", default: FeedbackMode.implicit,
                                     help: "implicit: every rated item pulls the profile towards it; explicit: weighted by rating − the user's mean, so disliked items push it away")
    public static let k = Setting("k", default: 20, range: 1...100_000, help: "most similar rated items averaged for one rating prediction")
    public static let minSimilarity = Setting("min-similarity", default: 0.0, range: 0...1,
                                              help: "items averaged for a prediction must have a cosine above this (1: none is)")
    public static let parameters = [mode.spec, k.spec, minSimilarity.spec]

    let mode: FeedbackMode
    let k: Int
    let minSimilarity: Float

    public init(parameters p: Parameters) {
        self.init(mode: p[Self.mode], k: p[Self.k], minSimilarity: Float(p[Self.minSimilarity]))
    }

    public init(mode: FeedbackMode = .implicit, k: Int = 20, minSimilarity: Float = 0) {
        self.mode = mode
        self.k = k
        self.minSimilarity = minSimilarity
    }

    public var usesItemEmbeddings: Bool { true }

    public func fit(_ data: TrainingData) throws -> Model {
        guard let table = data.itemEmbeddings else {
            throw TrainingDataError("content needs item embeddings and the training data has none: run `timbre content embed` first (none are read with --embedding-model none or --ratings FILE)")
        }
        let items = data.ratings.itemCount, d = table.dimension
        guard table.present.count == items else {
            throw TrainingDataError("content: the item embeddings have \(table.present.count) rows, the ratings \(items) items")
        }
        var columns = [Float](repeating: 0, count: d * items)
        var usable = [Bool](repeating: false, count: items)
        for i in 0..<items {
            guard let v = table.vector(Int32(i)) else { continue }
            let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            // A zero (or non-finite) vector has no direction: the item cannot be scored.
            guard norm > 0, norm.isFinite else { continue }
            for (j, x) in v.enumerated() { columns[j * items + i] = x / norm }
            usable[i] = true
        }
        guard usable.contains(true) else {
            throw TrainingDataError("content: none of the \(items) items has a usable (non-zero) embedding")
        }
        return Model(settings: self, itemCount: items, dimension: d, columns: columns, usable: usable)
    }

    public struct Model: TrainedModel, BatchRatingPredictor {
        let settings: Content
        let itemCount: Int
        let dimension: Int
        /// The unit item vectors stored dimension-major (`columns[j * itemCount + i]` is item i's
        /// j-th value), so scoring every item is `dimension` passes of out[i] += p_j · column_j[i]
        /// over contiguous memory: no reduction inside the loop, which the compiler vectorises
        /// (a row-major dot product per item would be a Float reduction it must not reorder).
        let columns: [Float]
        /// Items with a non-zero embedding; all others score −inf.
        let usable: [Bool]

        init(settings: Content, itemCount: Int, dimension: Int, columns: [Float], usable: [Bool]) {
            self.settings = settings
            self.itemCount = itemCount
            self.dimension = dimension
            self.columns = columns
            self.usable = usable
        }

        /// Whether `item` is in range and has an embedding.
        @inline(__always) func has(_ item: Int32) -> Bool { item >= 0 && Int(item) < itemCount && usable[Int(item)] }

        /// Item `item`'s unit vector, written into `out[0..<dimension]`.
        @inline(__always) func gather(_ item: Int32, into out: UnsafeMutableBufferPointer<Float>) {
            for j in 0..<dimension { out[j] = columns[j * itemCount + Int(item)] }
        }

        /// The user's unit profile, or nil when none of their rated items has an embedding (or
        /// their vectors cancel out exactly).
        func profile(_ user: UserProfile) -> [Float]? {
            func weighted(_ weight: (Float) -> Float) -> [Float]? {
                var p = [Float](repeating: 0, count: dimension)
                for (item, rating) in zip(user.items, user.ratings) where has(item) {
                    let w = weight(rating)
                    guard w != 0 else { continue }
                    for j in 0..<dimension { p[j] += w * columns[j * itemCount + Int(item)] }
                }
                let norm = p.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                guard norm > 0, norm.isFinite else { return nil }
                return p.map { $0 / norm }
            }
            if settings.mode == .explicit, let mean = user.meanRating, let p = weighted({ $0 - mean }) { return p }
            return weighted { _ in 1 }
        }

        /// Cosine of every item with the profile; −inf for items without an embedding, and for
        /// every item when the user has no rated item with one (nothing to go on: the list is empty).
        public func score(_ user: UserProfile, into scores: inout [Float]) {
            let profile = self.profile(user)
            scores.withUnsafeMutableBufferPointer { out in
                guard let profile else {
                    for i in 0..<itemCount { out[i] = -.infinity }
                    return
                }
                for i in 0..<itemCount { out[i] = 0 }
                columns.withUnsafeBufferPointer { c in
                    for j in 0..<dimension {
                        let w = profile[j], column = UnsafeBufferPointer(rebasing: c[j * itemCount..<(j + 1) * itemCount])
                        for i in 0..<itemCount { out[i] += w * column[i] }
                    }
                }
                for i in 0..<itemCount where !usable[i] { out[i] = -.infinity }
            }
        }

        public func predict(_ user: UserProfile, item: Int32) -> Float? { predict(user, items: [item])[0] }

        /// The user's rated items with an embedding are gathered into contiguous rows once, so
        /// each target costs one dot product per rated item.
        public func predict(_ user: UserProfile, items: [Int32]) -> [Float?] {
            let d = dimension
            var rated: [Int32] = [], ratings: [Float] = []
            for (item, rating) in zip(user.items, user.ratings) where has(item) {
                rated.append(item)
                ratings.append(rating)
            }
            guard !rated.isEmpty else { return items.map { _ in nil } }
            var rows = [Float](repeating: 0, count: rated.count * d), target = [Float](repeating: 0, count: d)
            var best = BestItems(capacity: settings.k)
            return rows.withUnsafeMutableBufferPointer { rows in
                for (m, item) in rated.enumerated() { gather(item, into: UnsafeMutableBufferPointer(rebasing: rows[m * d..<(m + 1) * d])) }
                return target.withUnsafeMutableBufferPointer { target in
                    items.map { i -> Float? in
                        guard has(i) else { return nil }
                        gather(i, into: target)
                        best.removeAll()
                        for m in 0..<rated.count where rated[m] != i {
                            var sim: Float = 0
                            for j in 0..<d { sim += target[j] * rows[m * d + j] }
                            if sim > settings.minSimilarity, sim >= best.threshold { best.offer(Int32(m), sim) }
                        }
                        guard best.count > 0 else { return nil }
                        var num: Float = 0, den: Float = 0
                        for n in best.unordered {
                            num += n.score * ratings[Int(n.item)]
                            den += n.score
                        }
                        return num / den
                    }
                }
            }
        }

        public func encode(to w: inout ModelWriter) {
            w.write(settings.mode.rawValue)
            w.write(Int64(settings.k))
            w.write(settings.minSimilarity)
            w.write(Int64(itemCount))
            w.write(Int64(dimension))
            w.write(columns)
            w.write(usable.map { UInt8($0 ? 1 : 0) })
        }

        public init(decoding r: inout ModelReader) throws {
            let modeName = try r.read(String.self)
            guard let mode = FeedbackMode(rawValue: modeName) else { throw ModelDecodingError(description: "content: unknown mode '\(modeName)'") }
            settings = Content(mode: mode, k: Int(try r.read(Int64.self)), minSimilarity: try r.read())
            itemCount = Int(try r.read(Int64.self))
            dimension = Int(try r.read(Int64.self))
            columns = try r.read()
            usable = try r.read([UInt8].self).map { $0 != 0 }
            // Multiplied with overflow reported: the counts come from the blob and may be anything.
            let values = itemCount.multipliedReportingOverflow(by: dimension)
            guard itemCount >= 0, dimension >= 0, !values.overflow, columns.count == values.partialValue, usable.count == itemCount else {
                throw ModelDecodingError(description: "content: \(columns.count) values and \(usable.count) flags for \(itemCount) items of dimension \(dimension)")
            }
        }
    }
}
