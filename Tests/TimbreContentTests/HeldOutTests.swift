import Foundation
import Testing
import TimbreContent
import TimbreCore
import TimbreNeural

/// The pieces of the retrieval benchmark that keep scored tracks unseen: grouped folds, the
/// linear probe, retrieval within pools, and each fold's training split.
@Suite struct HeldOutTests {
    /// Pieces a ×3, b ×2, c, d, two folds. Largest first: a → fold 0 (3 tracks), b → fold 1 (2);
    /// of the single tracks the later name first: d → fold 1 (3), then c → the first of the tied
    /// folds, 0. (sklearn's GroupKFold gives the same: argsort([3, 2, 1, 1]) reversed is a, b, d, c.)
    @Test func piecesDealtLargestFirstToTheLightestFold() throws {
        let pieces = ["a", "b", "a", "c", "d", "b", "a"]
        #expect(try PieceFolds.assign(pieces: pieces, folds: 2) == [0, 1, 0, 0, 1, 1, 0])
        let error = #expect(throws: ContentError.self) { try PieceFolds.assign(pieces: pieces, folds: 5) }
        #expect(error?.description.contains("5 folds for 4 pieces") == true)
        #expect(throws: ContentError.self) { try PieceFolds.assign(pieces: pieces, folds: 1) }
    }

    /// Two folds whose rule is reversed: in fold 0 a positive first feature is class 0, in fold 1
    /// class 1. A probe that holds each fold out learns the other fold's rule and gets every row
    /// wrong; one that had seen the row's fold would get some right.
    @Test func probeNeverSeesTheScoredFold() {
        var values: [Float] = [], labels: [Int] = [], folds: [Int] = []
        for fold in 0..<2 {
            for r in 0..<8 {
                let x: Float = r % 2 == 0 ? 1 + Float(r) * 0.1 : -1 - Float(r) * 0.1
                values += [x, Float(r % 3) * 0.01]
                labels.append((x > 0) == (fold == 0) ? 0 : 1)
                folds.append(fold)
            }
        }
        let vectors = Matrix(rows: 16, columns: 2, values: values)
        let predicted = LinearProbe.predictions(vectors, labels: labels, classCount: 2, foldOfRow: folds)
        #expect(zip(predicted, labels).allSatisfy { $0 != $1 }, "\(predicted) vs \(labels)")
        // The same rows with the rule shared by both folds: every row right.
        let shared = labels.indices.map { values[2 * $0] > 0 ? 0 : 1 }
        #expect(LinearProbe.predictions(vectors, labels: shared, classCount: 2, foldOfRow: folds) == shared)
    }

    /// StyleRetrievalTests' five clips in pools {a0, a1, b0} and {b1, a2}, k = 1: a0 → a1 ✓, a1 → a0 ✓
    /// (a2 is in the other pool), b0 → a1 (cos 0.110 over 0) ✗, b1 → a2 ✗, a2 → b1 ✗. Chance: ½, ½,
    /// 0, 0, 0 → 0.2; best possible at k = 1: 1, 1, 0, 0, 0 → 0.4, at k = 2: ½, ½, 0, 0, 0 → 0.2.
    @Test func retrievalWithinPoolsByHand() {
        let vectors = Matrix(rows: 5, columns: 2, values: [1, 0, 0.9, 0.1, 0, 1, 0.2, 1, 1, 0.05])
        let labels = [0, 0, 1, 1, 0], pieces = ["p", "q", "r", "s", "p"]
        let pooled = StyleRetrieval.pooled(vectors, labels: labels, pieces: pieces, k: 1, pools: [[0, 1, 2], [3, 4]])
        #expect(pooled.precisions == [1, 1, 0, 0, 0])
        #expect(abs(pooled.chance - 0.2) < 1e-12 && abs(pooled.ceiling - 0.4) < 1e-12)
        #expect(abs(StyleRetrieval.pooled(vectors, labels: labels, pieces: pieces, k: 2, pools: [[0, 1, 2], [3, 4]]).ceiling - 0.2) < 1e-12)
    }

    /// For every fold: no clip of a held-out track in training or validation, every clip of the
    /// held-out tracks in the test part, every class in training and validation.
    @Test func heldOutPiecesStayOutOfTraining() throws {
        let (tracks, counts, names) = syntheticSet(classes: 3, piecesPerClass: 14)
        let features = syntheticFeatures(tracks: tracks, counts: counts, names: names) { Float(tracks[$0].label) }
        let folds = try PieceFolds.assign(pieces: tracks.map(\.variantStem), folds: 5)
        for fold in 0..<5 {
            let split = HeldOutStyleEmbeddings.split(heldOut: fold, features: features, foldOfTrack: folds,
                                                     quota: ClipQuota(train: 20, validation: 6, test: 6), seed: UInt64(fold))
            let heldOut = Set(tracks.indices.filter { folds[$0] == fold })
            #expect(!(split.train + split.validation).contains { heldOut.contains($0.track) })
            #expect(Set(split.test) == Set(heldOut.flatMap { t in (0..<counts[t]).map { ClipReference(track: t, window: $0) } }))
            for part in [split.train, split.validation] { #expect(Set(part.map { tracks[$0.track].label }) == [0, 1, 2]) }
            #expect(Set(split.train).isDisjoint(with: split.validation))
            _ = try ContentExperiment(features: features, split: split)
        }
    }

    /// End to end on a small synthetic set, one epoch per fold: every track embedded by its
    /// fold's model (64 finite values, not all zero), labels predicted for all, one pool per fold.
    @Test func embedsEveryTrackOnce() throws {
        let (tracks, counts, names) = syntheticSet(classes: 2, piecesPerClass: 6)
        let features = syntheticFeatures(tracks: tracks, counts: counts, names: names) { Float(tracks[$0].label) }
        let folds = try PieceFolds.assign(pieces: tracks.map(\.variantStem), folds: 2)
        let result = try HeldOutStyleEmbeddings(features: features, foldOfTrack: folds, epochs: 1, seed: 3,
                                                quota: ClipQuota(train: 2, validation: 1, test: 1))
        #expect(result.embeddings.rows == tracks.count && result.embeddings.columns == 64)
        for t in tracks.indices {
            let row = result.embeddings.row(t)
            #expect(row.allSatisfy(\.isFinite) && row.contains { $0 != 0 }, "track \(t)")
        }
        #expect(result.probePredictions.allSatisfy { (0..<2).contains($0) } && result.modelPredictions.allSatisfy { (0..<2).contains($0) })
        #expect(result.pools.map(Set.init) == [Set(tracks.indices.filter { folds[$0] == 0 }), Set(tracks.indices.filter { folds[$0] == 1 })])
        #expect(result.keptEpochs == [1, 1])
        #expect(throws: ContentError.self) { try HeldOutStyleEmbeddings(features: features, foldOfTrack: folds, epochs: 0, seed: 3) }
    }
}
