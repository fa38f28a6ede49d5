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
/// Per class, seeded: the variant groups (tracks sharing a `variantStem`: one piece) are shuffled
/// and dealt whole — to test until it holds its share of the pieces (quota.test / total quota,
/// rounded, at least 1) and at least `quota.test` clips, then to validation likewise, the rest to
/// training; but a part never takes a piece that later parts need to get one each. Within each part the clips are taken round-robin over its pieces (one random
/// window of each piece in turn, then a second, …) up to the quota, so a part's clips are spread
/// over its pieces instead of coming mostly from the longest one (ufoai: about one training
/// clip per piece). A part with fewer clips than its quota keeps all of them and is reported in
/// `shortfalls`. A piece therefore lies in one part only.
public struct ClipSplit: Sendable, Equatable {
    public var train: [ClipReference]
    public var validation: [ClipReference]
    public var test: [ClipReference]
    /// One line per class and part that got fewer clips than its quota.
    public var shortfalls: [String]

    /// Parts chosen by the caller (e.g. a held-out fold as the test part).
    public init(train: [ClipReference], validation: [ClipReference], test: [ClipReference], shortfalls: [String] = []) {
        self.train = train
        self.validation = validation
        self.test = test
        self.shortfalls = shortfalls
    }

    /// `clipCounts[t]`: the number of whole 30 s windows of track t (0 for a track that failed).
    public init(tracks: [LabelledTrack], clipCounts: [Int], classNames: [String], quota: ClipQuota = ClipQuota(), seed: UInt64) {
        precondition(tracks.count == clipCounts.count, "\(tracks.count) tracks, \(clipCounts.count) clip counts")
        var rng = SeededGenerator(seed: seed)
        var parts: [[ClipReference]] = [[], [], []] // test, validation, train
        var shortfalls: [String] = []
        let quotas = [quota.test, quota.validation, quota.train]
        let total = Double(quotas.reduce(0, +))
        for (label, name) in classNames.enumerated() {
            // Groups in order of first appearance, so the shuffle's input does not depend on hashing.
            var stems: [String] = [], members: [String: [Int]] = [:]
            for (t, track) in tracks.enumerated() where track.label == label && clipCounts[t] > 0 {
                if members[track.variantStem] == nil { stems.append(track.variantStem) }
                members[track.variantStem, default: []].append(t)
            }
            rng.shuffle(&stems)
            let pieceShares = quotas.prefix(2).map { max(1, Int((Double(stems.count) * Double($0) / total).rounded())) }
            var pieces: [[[ClipReference]]] = [[], [], []]
            var clipsIn = [0, 0, 0]
            var part = 0
            for (index, stem) in stems.enumerated() {
                // Move on when this part has its share, or when taking this piece would leave a
                // later part without any (train comes last and must not be starved).
                while part < 2 && !pieces[part].isEmpty
                        && (pieces[part].count >= pieceShares[part] && clipsIn[part] >= quotas[part] || stems.count - index <= 2 - part) {
                    part += 1
                }
                var windows = members[stem]!.flatMap { t in (0..<clipCounts[t]).map { ClipReference(track: t, window: $0) } }
                rng.shuffle(&windows)
                pieces[part].append(windows)
                clipsIn[part] += windows.count
            }
            for p in 0..<3 {
                var chosen: [ClipReference] = []
                var round = 0
                while chosen.count < quotas[p] && pieces[p].contains(where: { $0.count > round }) {
                    for windows in pieces[p] where windows.count > round && chosen.count < quotas[p] { chosen.append(windows[round]) }
                    round += 1
                }
                if chosen.count < quotas[p] {
                    shortfalls.append("\(name): \(["test", "validation", "train"][p]) has \(chosen.count) clips of \(quotas[p])")
                }
                parts[p] += chosen.sorted()
            }
        }
        test = parts[0]
        validation = parts[1]
        train = parts[2]
        self.shortfalls = shortfalls
    }
}
