import Foundation
import Testing
import TimbreAudio
import TimbreContent
import TimbreCore
import TimbreNeural
import TimbreTestSupport

/// A synthetic set: per class, pieces of several clips each, some with an `_enhanced` variant.
func syntheticSet(classes: Int = 3, piecesPerClass: Int = 14) -> (tracks: [LabelledTrack], clipCounts: [Int], names: [String]) {
    var tracks: [LabelledTrack] = [], counts: [Int] = []
    for c in 0..<classes {
        for p in 0..<piecesPerClass {
            tracks.append(LabelledTrack(path: "/set/class\(c)/piece\(p).ogg", label: c))
            counts.append(1 + (p * 7 + c) % 6)
            if p % 3 == 0 {
                tracks.append(LabelledTrack(path: "/set/class\(c)/piece\(p)_enhanced.ogg", label: c))
                counts.append(2)
            }
        }
    }
    return (tracks, counts, (0..<classes).map { "class\($0)" })
}

@Suite struct SplitTests {
    @Test func variantStems() {
        #expect(VariantStem.of(path: "/a/track3_enhanced.opus") == VariantStem.of(path: "/b/track3.opus"))
        #expect(VariantStem.of(path: "menu_enhanced.opus") == "menu")
        #expect(VariantStem.of(path: "frantic-old.ogg") == "frantic")
        #expect(VariantStem.of(path: "sixtyfour_revisited.ogg") == VariantStem.of(path: "sixtyfour_.ogg"))
        #expect(VariantStem.of(path: "defeat2.ogg") != VariantStem.of(path: "defeat.ogg"))
        #expect(VariantStem.of(path: "Track1.ogg") != VariantStem.of(path: "track10.ogg"))
    }

    @Test func variantGroupsStayInOnePartAndQuotasHold() {
        let (tracks, counts, names) = syntheticSet()
        let quota = ClipQuota(train: 20, validation: 5, test: 5)
        let split = ClipSplit(tracks: tracks, clipCounts: counts, classNames: names, quota: quota, seed: 1)
        let parts = [split.train, split.validation, split.test]
        // No clip twice, every clip exists.
        let all = parts.flatMap { $0 }
        #expect(Set(all).count == all.count)
        #expect(all.allSatisfy { $0.window >= 0 && $0.window < counts[$0.track] })
        // Every (class, stem) group appears in exactly one part.
        var partOfGroup: [String: Set<Int>] = [:]
        for (p, part) in parts.enumerated() {
            for clip in part { partOfGroup["\(tracks[clip.track].label)/\(tracks[clip.track].variantStem)", default: []].insert(p) }
        }
        #expect(partOfGroup.values.allSatisfy { $0.count == 1 }, "\(partOfGroup.filter { $0.value.count > 1 })")
        // Both tracks of a variant pair are in the same part when both are used.
        #expect(partOfGroup.keys.contains("0/piece0"))
        // Per-class quotas.
        for c in 0..<3 {
            #expect(split.train.filter { tracks[$0.track].label == c }.count == 20)
            #expect(split.validation.filter { tracks[$0.track].label == c }.count == 5)
            #expect(split.test.filter { tracks[$0.track].label == c }.count == 5)
        }
        #expect(split.shortfalls.isEmpty)
        // Round-robin: within a part, the pieces' clip counts differ by at most one unless a piece ran out.
        for part in parts {
            for c in 0..<3 {
                var perPiece: [String: Int] = [:], available: [String: Int] = [:]
                for clip in part where tracks[clip.track].label == c { perPiece[tracks[clip.track].variantStem, default: 0] += 1 }
                for (t, track) in tracks.enumerated() where track.label == c && perPiece[track.variantStem] != nil {
                    available[track.variantStem, default: 0] += counts[t]
                }
                let most = perPiece.values.max()!
                #expect(perPiece.allSatisfy { $0.value >= most - 1 || $0.value == available[$0.key] }, "\(perPiece) of \(available)")
            }
        }
        // Test and validation each get their share of the pieces: 14 pieces × 5/30, rounded → 2.
        for c in 0..<3 {
            #expect(Set(split.test.filter { tracks[$0.track].label == c }.map { tracks[$0.track].variantStem }).count >= 2)
        }
    }

    @Test func seededReproducibleAndSeedSensitive() {
        let (tracks, counts, names) = syntheticSet()
        let quota = ClipQuota(train: 20, validation: 5, test: 5)
        let a = ClipSplit(tracks: tracks, clipCounts: counts, classNames: names, quota: quota, seed: 7)
        let b = ClipSplit(tracks: tracks, clipCounts: counts, classNames: names, quota: quota, seed: 7)
        let c = ClipSplit(tracks: tracks, clipCounts: counts, classNames: names, quota: quota, seed: 8)
        #expect(a == b)
        #expect(a.test != c.test || a.validation != c.validation)
    }

    @Test func smallClassTakesWhatExistsAndSaysSo() {
        var (tracks, counts, names) = syntheticSet(classes: 2, piecesPerClass: 14)
        // Class 1 gets only three one-clip pieces; failed tracks (0 clips) are never used.
        let keep = tracks.indices.filter { tracks[$0].label == 0 || tracks[$0].path.hasSuffix("piece1.ogg")
            || tracks[$0].path.hasSuffix("piece2.ogg") || tracks[$0].path.hasSuffix("piece4.ogg") }
        tracks = keep.map { tracks[$0] }
        counts = keep.map { counts[$0] }
        for t in tracks.indices where tracks[t].label == 1 { counts[t] = 1 }
        counts[0] = 0
        let split = ClipSplit(tracks: tracks, clipCounts: counts, classNames: names, quota: ClipQuota(train: 20, validation: 5, test: 5), seed: 3)
        #expect(split.train.filter { tracks[$0.track].label == 1 }.count + split.validation.filter { tracks[$0.track].label == 1 }.count
                + split.test.filter { tracks[$0.track].label == 1 }.count == 3)
        #expect(split.shortfalls.contains { $0.hasPrefix("class1: train has") })
        #expect(!(split.train + split.validation + split.test).contains { $0.track == 0 })
    }
}

@Suite struct StandardisationTests {
    @Test func usesTrainingStatisticsOnly() {
        let train = [Matrix(rows: 2, columns: 2, values: [1, 10, 3, 10]), Matrix(rows: 2, columns: 2, values: [5, 10, 7, 10])]
        let s = Standardisation(fitting: train)
        #expect(s.mean == [4, 10])
        #expect(abs(s.deviation[0] - Float(5.0.squareRoot())) < 1e-6)
        #expect(s.deviation[1] == 1) // constant feature
        let test = Matrix(rows: 1, columns: 2, values: [100, 20])
        // A test sequence is transformed with the training mean and deviation, not its own.
        let out = s.apply(test)
        #expect(abs(out[0, 0] - (100 - 4) / Float(5.0.squareRoot())) < 1e-4 && out[0, 1] == 10)
        let standardisedTrain = Standardisation(fitting: train.map(s.apply))
        #expect(standardisedTrain.mean.allSatisfy { abs($0) < 1e-6 })
        #expect(abs(standardisedTrain.deviation[0] - 1) < 1e-5)
    }

    /// The experiment's standardisation comes from the training clips: a test clip with far larger
    /// values does not move it.
    @Test func experimentFitsOnTrainingClips() throws {
        let (tracks, counts, names) = syntheticSet(classes: 2, piecesPerClass: 10)
        let quota = ClipQuota(train: 8, validation: 3, test: 3)
        let split = ClipSplit(tracks: tracks, clipCounts: counts, classNames: names, quota: quota, seed: 2)
        let features = syntheticFeatures(tracks: tracks, counts: counts, names: names) { t in
            split.test.contains { $0.track == t } ? 1000 : Float(tracks[t].label)
        }
        let experiment = try ContentExperiment(features: features, quota: quota, seed: 2)
        #expect(experiment.split == split)
        #expect(experiment.standardisation.mean.allSatisfy { $0 < 3 }, "\(experiment.standardisation.mean)")
        #expect(experiment.train.sequences.count == 2 * 8 * 10 && experiment.test.sequences.count == 2 * 3 * 10)
        #expect(experiment.train.sequences[0].rows == 130 && experiment.train.sequences[0].columns == 20)
    }
}

/// Features for the synthetic set without audio: each track's MFCC matrix has exactly its clip
/// count of 30 s windows, filled with `level(track)` plus a ramp over coefficients.
func syntheticFeatures(tracks: [LabelledTrack], counts: [Int], names: [String], level: (Int) -> Float) -> TrackFeatures {
    let configuration = MFCCConfiguration()
    let step = Int(30.0 * Double(configuration.sampleRate) / Double(configuration.hopLength))
    let mfcc: [FeatureMatrix?] = tracks.indices.map { t in
        guard counts[t] > 0 else { return nil }
        let frames = counts[t] * step + 1
        var values = [Float](repeating: 0, count: 20 * frames)
        for r in 0..<20 { for c in 0..<frames { values[r * frames + c] = level(t) + Float(r) * 0.1 + Float(c % 7) * 0.01 } }
        return FeatureMatrix(rowCount: 20, columnCount: frames, values: values)
    }
    return TrackFeatures(set: LabelledSet(classNames: names, tracks: tracks), mfcc: mfcc, skipped: [], configuration: configuration)
}

@Suite struct UnusableSets {
    /// Two pieces cannot fill train, validation and test without sharing one: an error naming the
    /// class, not a model scored on a class it never saw.
    @Test func aClassWithTooFewPiecesIsRejected() {
        var (tracks, counts, names) = syntheticSet(classes: 2, piecesPerClass: 10)
        tracks += [LabelledTrack(path: "/set/sparse/a.ogg", label: 2), LabelledTrack(path: "/set/sparse/b.ogg", label: 2)]
        counts += [5, 5]
        names.append("sparse")
        let features = syntheticFeatures(tracks: tracks, counts: counts, names: names) { Float(tracks[$0].label) }
        let error = #expect(throws: ContentError.self) {
            try ContentExperiment(features: features, quota: ClipQuota(train: 8, validation: 3, test: 3), seed: 0)
        }
        #expect(error?.description.contains("'sparse'") == true, "\(String(describing: error))")
    }

    /// Three one-clip pieces and quotas far above them: test and validation must not swallow
    /// the piece training needs.
    @Test func threePiecesGiveEveryPartOne() {
        let tracks = (0..<3).map { LabelledTrack(path: "/set/few/piece\($0).ogg", label: 0) }
        for seed in UInt64(0)..<5 {
            let split = ClipSplit(tracks: tracks, clipCounts: [1, 1, 1], classNames: ["few"], seed: seed)
            let sizes: [Int] = [split.train.count, split.validation.count, split.test.count]
            #expect(sizes == [1, 1, 1], "seed \(seed)")
        }
    }

    @Test func variantStemsDoNotDependOnHashing() {
        // Two stacked markers: exactly one is removed, whatever the process.
        #expect(VariantStem.of(path: "a_old-old.ogg") == "a_old")
        #expect(VariantStem.of(path: "theme-new_enhanced.ogg") == "theme-new")
    }
}

@Suite struct ContentModelFileTests {
    @Test func roundTrip() throws {
        let classifier = SequenceClassifier.contentModel(classCount: 5, seed: 1)
        let model = ContentModel(classifier: classifier,
                                 standardisation: Standardisation(mean: (0..<20).map { Float($0) }, deviation: (0..<20).map { 1 + Float($0) }),
                                 classNames: ["a", "b", "c", "d", "e"])
        let bytes = model.encode()
        let decoded = try ContentModel(decoding: bytes)
        #expect(decoded == model)
        var rng = SeededGenerator(seed: 5)
        let sequences = (0..<3).map { _ in Matrix(rows: 130, columns: 20, values: (0..<2600).map { _ in Float(rng.unit() * 40 - 20) }) }
        #expect(decoded.probabilities(for: sequences) == model.probabilities(for: sequences))
        #expect(throws: ModelDecodingError.self) { try ContentModel(decoding: Array(bytes.dropLast())) }
        #expect(throws: ModelDecodingError.self) { try ContentModel(decoding: bytes + [0]) }
        #expect(throws: ModelDecodingError.self) { try ContentModel(decoding: classifier.encode()) }
    }
}

@Suite struct ReportTests {
    @Test func clipVotesAreMeanSoftmax() {
        let p = Matrix(rows: 5, columns: 2, values: [0.6, 0.4, 0.1, 0.9, 0.6, 0.4, 0.2, 0.8, 0.3, 0.7])
        let report = ClassificationReport(probabilities: p, clipOfSegment: [0, 0, 0, 1, 1], clipLabels: [0, 1], classNames: ["x", "y"])
        // Segments: clip 0 right 2 of 3, clip 1 right 2 of 2 → 4 / 5.
        #expect(report.segmentAccuracy == 0.8)
        // Clip 0 mean: (0.4333, 0.5667) → class 1, wrong although most segments were right.
        #expect(report.clipAccuracy == 0.5)
        #expect(report.clipConfusion == [[0, 1], [0, 1]])
        #expect(report.clipRecall == [0, 1] && abs(report.segmentRecall[0] - 2.0 / 3) < 1e-12)
    }
}

@Suite struct LabelledSetTests {
    @Test func classesAreSubFolders() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-content-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (folder, files) in [("rock", ["b.ogg", "a.opus", "notes.txt"]), ("ambient", ["x.flac"])] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
            for f in files { _ = FileManager.default.createFile(atPath: root + "/" + folder + "/" + f, contents: Data([1])) }
        }
        // A link to a file counts (sets are often folders of links); a dangling one does not.
        try FileManager.default.createSymbolicLink(atPath: root + "/rock/c.ogg", withDestinationPath: root + "/rock/b.ogg")
        try FileManager.default.createSymbolicLink(atPath: root + "/rock/d.ogg", withDestinationPath: root + "/nowhere.ogg")
        let set = try LabelledSet.scan(root)
        #expect(set.classNames == ["ambient", "rock"])
        #expect(set.tracks.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["x.flac", "a.opus", "b.ogg", "c.ogg"])
        #expect(set.tracks.map(\.label) == [0, 1, 1, 1])
        // Unreadable audio is skipped with its path and reason, not fatal.
        let features = try TrackFeatures.analyse(set)
        #expect(features.skipped.count == 4 && features.skipped.allSatisfy { $0.reason.contains($0.path) })
        #expect(features.clipCounts == [0, 0, 0, 0])
        #expect(throws: ContentError.self) { try LabelledSet.scan(root + "/rock") }
    }
}

@Suite struct ExcerptSegments {
    /// A 31 s mono WAV at 22 050 Hz (no resampling, so excerpts can be checked exactly): the
    /// reference protocol's segment k is the MFCC of samples k·66 150 ..< (k+1)·66 150 on its own.
    @Test func eachExcerptIsAnalysedOnItsOwn() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-excerpts-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("tones"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let rate = 22_050, count = 31 * rate
        let samples: [Int16] = (0..<count).map { i in
            // Loudness changes every 3 s, so a per-excerpt top_db floor differs from the track's.
            let loudness = i / (3 * rate) % 2 == 0 ? 0.5 : 0.001
            return Int16(loudness * 32_000 * sin(Double(i) * 2 * .pi * 440 / Double(rate)))
        }
        let path = folder.appendingPathComponent("tones/a.wav").path
        try TestData.writeWAV(samples, rate: rate, to: path)

        let set = LabelledSet(classNames: ["tones"], tracks: [LabelledTrack(path: path, label: 0)])
        let features = try TrackFeatures.analyse(set, workers: 1)
        #expect(features.clipCounts == [1])
        let clip = ClipReference(track: 0, window: 0)
        let segments = try #require(try features.excerptSegments(of: [clip], workers: 1)[clip])
        #expect(segments.count == 10)

        let decoded = try AudioDecoder().decode(path: path).samples
        let extractor = try MFCCExtractor()
        for (k, segment) in segments.enumerated() {
            let expected = extractor.mfcc(Array(decoded[(k * 66_150)..<((k + 1) * 66_150)]))
            #expect(segment.rows == 130 && segment.columns == 20)
            #expect(segment == Matrix(rows: 20, columns: 130, values: expected.values).transposed, "excerpt \(k)")
        }
        // Cut from the track's sequence instead, the quiet excerpts keep the track's floor: different.
        #expect(features.segments(of: clip)[1] != segments[1])
    }
}

@Suite struct TrackDescriptionTests {
    /// A 7.5 s sequence: two whole 3 s segments (frames 0–129 and 129–258), the tail dropped.
    @Test func meanOverTheTracksSegments() throws {
        var rng = SeededGenerator(seed: 11)
        let frames = 1 + Int(7.5 * 22_050) / 512
        let mfcc = FeatureMatrix(rowCount: 20, columnCount: frames, values: (0..<20 * frames).map { _ in Float(rng.gaussian()) * 30 - 10 })
        let model = ContentModel(classifier: .contentModel(classCount: 3, seed: 5),
                                 standardisation: Standardisation(mean: [Float](repeating: -10, count: 20), deviation: [Float](repeating: 30, count: 20)),
                                 classNames: ["a", "b", "c"])
        let description = try #require(model.describe(mfcc))
        #expect(description.segmentCount == 2)
        // The two segments cut by hand, frames × coefficients.
        let segments = [0, 129].map { start in
            Matrix(rows: 130, columns: 20, values: (0..<130).flatMap { t in (0..<20).map { c in mfcc.values[c * frames + start + t] } })
        }
        let embeddings = model.embeddings(of: segments), probabilities = model.probabilities(for: segments)
        for j in 0..<64 {
            #expect(abs(description.embedding[j] - (embeddings.values[j] + embeddings.values[64 + j]) / 2) <= 1e-6)
        }
        for c in 0..<3 {
            #expect(abs(description.probabilities[c] - (probabilities.values[c] + probabilities.values[3 + c]) / 2) <= 1e-6)
        }
        #expect(abs(description.probabilities.reduce(0, +) - 1) <= 1e-5)
        #expect(description.label == description.probabilities.offsetOfMaximum)

        // Too short for one segment, or another coefficient count: no description.
        #expect(model.describe(mfcc.columns(0..<129)) == nil)
        #expect(model.describe(FeatureMatrix(rowCount: 13, columnCount: 300, values: [Float](repeating: 0, count: 13 * 300))) == nil)
    }
}

@Suite struct StyleRetrievalTests {
    /// Five clips: a0, a1 (class 0, piece p and q), b0, b1 (class 1, pieces r, s), a2 (class 0, piece p).
    /// Vectors: a0 (1, 0), a1 (0.9, 0.1), b0 (0, 1), b1 (0.2, 1), a2 (1, 0.05).
    /// k = 1, other pieces only: a0 → a1 (same class) ✓; a1 → a2 (cos 0.999) ✓; b0 → b1 ✓;
    /// b1 → b0 ✓; a2 → a1 ✓ (a0 shares its piece) → 1.0. k = 2: a0 → a1, b1: ½; a1 → a2, a0: 1;
    /// b0 → b1, a1: ½; b1 → b0, then a1 (cos 0.303) over a2 (0.245): ½; a2 → a1, b1: ½ → 0.6.
    @Test func precisionByHand() {
        let vectors = Matrix(rows: 5, columns: 2, values: [1, 0, 0.9, 0.1, 0, 1, 0.2, 1, 1, 0.05])
        let labels = [0, 0, 1, 1, 0], pieces = ["p", "q", "r", "s", "p"]
        #expect(StyleRetrieval.precision(vectors, labels: labels, pieces: pieces, k: 1) == 1)
        #expect(abs(StyleRetrieval.precision(vectors, labels: labels, pieces: pieces, k: 2) - 0.6) < 1e-12)
        // Chance: a0 1/3 (a1 of a1, b0, b1), a1 2/4, b0 1/4, b1 1/4, a2 1/3 → mean 0.333…
        #expect(abs(StyleRetrieval.chanceLevel(labels: labels, pieces: pieces) - (1.0 / 3 + 0.5 + 0.25 + 0.25 + 1.0 / 3) / 5) < 1e-12)
    }
}
