import TimbreCore
import TimbreNeural

/// Test-set figures: segment accuracy, clip accuracy (a clip's class is the argmax of the mean of
/// its segments' softmax), per-class recall of both, and the clip confusion matrix.
public struct ClassificationReport: Sendable, Equatable, Codable {
    public var classNames: [String]
    public var segmentAccuracy: Double
    public var clipAccuracy: Double
    public var segmentRecall: [Double]
    public var clipRecall: [Double]
    /// confusion[true class][predicted class], counted in clips.
    public var clipConfusion: [[Int]]

    /// `probabilities`: one row per segment; `clipOfSegment[s]` groups segments into clips,
    /// `clipLabels[c]` is clip c's class.
    public init(probabilities: Matrix, clipOfSegment: [Int], clipLabels: [Int], classNames: [String]) {
        precondition(probabilities.rows == clipOfSegment.count && probabilities.columns == classNames.count,
                     "\(probabilities.rows)×\(probabilities.columns) probabilities for \(clipOfSegment.count) segments, \(classNames.count) classes")
        let classes = classNames.count
        var clipSums = [[Double]](repeating: [Double](repeating: 0, count: classes), count: clipLabels.count)
        var segmentHits = [Int](repeating: 0, count: classes), segmentTotals = segmentHits
        for (s, c) in clipOfSegment.enumerated() {
            let row = probabilities.row(s).map(Double.init)
            for k in 0..<classes { clipSums[c][k] += row[k] }
            let label = clipLabels[c]
            segmentTotals[label] += 1
            if row.offsetOfMaximum == label { segmentHits[label] += 1 }
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (c, label) in clipLabels.enumerated() { confusion[label][clipSums[c].offsetOfMaximum!] += 1 }
        let clipTotals = confusion.map { $0.reduce(0, +) }
        func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }
        self.classNames = classNames
        segmentAccuracy = ratio(segmentHits.reduce(0, +), clipOfSegment.count)
        clipAccuracy = ratio((0..<classes).reduce(0) { $0 + confusion[$1][$1] }, clipLabels.count)
        segmentRecall = (0..<classes).map { ratio(segmentHits[$0], segmentTotals[$0]) }
        clipRecall = (0..<classes).map { ratio(confusion[$0][$0], clipTotals[$0]) }
        clipConfusion = confusion
    }
}
