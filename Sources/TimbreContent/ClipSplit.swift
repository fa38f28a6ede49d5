import TimbreCore

/// A 30 s clip: window `window` (0, 1, …) of track `track` of a `LabelledSet`.
public struct ClipReference: Sendable, Hashable, Comparable {
    public var track: Int
    public var window: Int

    public init(track: Int, window: Int) {
        self.track = track
        self.window = window
    }

    public static func < (a: ClipReference, b: ClipReference) -> Bool { (a.track, a.window) < (b.track, b.window) }
}

/// How many clips per class each part of the split takes (the reference's 56 / 12 / 12).
public struct ClipQuota: Sendable, Equatable {
    public var train: Int
    public var validation: Int
    public var test: Int

    public init(train: Int = 56, validation: Int = 12, test: Int = 12) {
        precondition(train >= 1 && validation >= 1 && test >= 1, "every part of the split needs ≥ 1 clip per class")
        self.train = train
        self.validation = validation
        self.test = test
    }
}

/// Train / validation / test clips, split by piece of music.
///
/// Per class, seeded: the variant groups (tracks sharing a `variantStem`) are shuffled and dealt
/// whole, first to test until it holds ≥ `quota.test` clips, then to validation until it holds
/// ≥ `quota.validation`, the rest to training. Each part then keeps a seeded random choice of
/// exactly its quota of clips from its groups' clips (all of them when it has fewer, which is
/// reported in `shortfalls`). A group therefore lies in one part only; a long piece dealt to
/// test or validation may leave some of its clips unused.
public struct ClipSplit: Sendable, Equatable {
    public var train: [ClipReference]
    public var validation: [ClipReference]
    public var test: [ClipReference]
    /// One line per class and part that got fewer clips than its quota.
    public var shortfalls: [String]

    /// `clipCounts[t]`: the number of whole 30 s windows of track t (0 for a track that failed).
    public init(tracks: [LabelledTrack], clipCounts: [Int], classNames: [String], quota: ClipQuota = ClipQuota(), seed: UInt64) {
        precondition(tracks.count == clipCounts.count, "\(tracks.count) tracks, \(clipCounts.count) clip counts")
        var rng = SeededGenerator(seed: seed)
        var parts: [[ClipReference]] = [[], [], []] // test, validation, train
        var shortfalls: [String] = []
        for (label, name) in classNames.enumerated() {
            // Groups in order of first appearance, so the shuffle's input does not depend on hashing.
            var stems: [String] = [], members: [String: [Int]] = [:]
            for (t, track) in tracks.enumerated() where track.label == label && clipCounts[t] > 0 {
                if members[track.variantStem] == nil { stems.append(track.variantStem) }
                members[track.variantStem, default: []].append(t)
            }
            rng.shuffle(&stems)
            let quotas = [quota.test, quota.validation, quota.train]
            var pools: [[ClipReference]] = [[], [], []]
            var part = 0
            for stem in stems {
                while part < 2 && pools[part].count >= quotas[part] { part += 1 }
                for t in members[stem]! { pools[part] += (0..<clipCounts[t]).map { ClipReference(track: t, window: $0) } }
            }
            for p in 0..<3 {
                var pool = pools[p]
                rng.shuffle(&pool)
                if pool.count < quotas[p] {
                    shortfalls.append("\(name): \(["test", "validation", "train"][p]) has \(pool.count) clips of \(quotas[p])")
                }
                parts[p] += pool.prefix(quotas[p]).sorted()
            }
        }
        test = parts[0]
        validation = parts[1]
        train = parts[2]
        self.shortfalls = shortfalls
    }
}
