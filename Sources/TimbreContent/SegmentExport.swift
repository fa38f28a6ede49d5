import Foundation
import TimbreCore
import TimbreNeural
import TimbreInterchange

/// Writes a `ContentExperiment`'s standardised segments as NumPy `.npy` files, so another framework
/// (PyTorch, Keras) can be trained on exactly the data this one sees:
/// `{train,validation,test}_x.npy` (segments × steps × coefficients, float32),
/// `{…}_y.npy` (class per segment, int64) and `{…}_clip.npy` (clip index per segment, int64).
public enum SegmentExport {
    public static func write(_ experiment: ContentExperiment, to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (name, part) in [("train", experiment.train), ("validation", experiment.validation), ("test", experiment.test)] {
                let steps = part.sequences.first?.rows ?? 0, width = part.sequences.first?.columns ?? 0
                var values: [Float] = []
                values.reserveCapacity(part.sequences.count * steps * width)
                for s in part.sequences { values += s.values }
                try writeFileSafely(NumPyArray.encode(values, shape: [part.sequences.count, steps, width]), to: directory + "/\(name)_x.npy")
                try writeFileSafely(NumPyArray.encode(part.labels.map(Int64.init), shape: [part.labels.count]), to: directory + "/\(name)_y.npy")
                try writeFileSafely(NumPyArray.encode(part.clipOfSegment.map(Int64.init), shape: [part.clipOfSegment.count]),
                                    to: directory + "/\(name)_clip.npy")
            }
        } catch {
            throw ContentError.cannotWrite("\(directory): cannot write the segments: \(error)")
        }
    }
}
