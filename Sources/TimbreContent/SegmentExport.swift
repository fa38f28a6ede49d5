import Foundation
import TimbreCore
import TimbreNeural

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
                try writeFileSafely(npy(values, shape: [part.sequences.count, steps, width]), to: directory + "/\(name)_x.npy")
                try writeFileSafely(npy(part.labels.map(Int64.init), shape: [part.labels.count]), to: directory + "/\(name)_y.npy")
                try writeFileSafely(npy(part.clipOfSegment.map(Int64.init), shape: [part.clipOfSegment.count]), to: directory + "/\(name)_clip.npy")
            }
        } catch {
            throw ContentError.cannotWrite("\(directory): cannot write the segments: \(error)")
        }
    }

    /// NPY format 1.0: magic, header length, a Python dict literal padded so the data starts on a
    /// multiple of 64 bytes, then little-endian values in C order.
    static func npy<T: FixedWidthInteger>(_ values: [T], shape: [Int]) -> Data {
        npy(bytes: values.withUnsafeBytes { Data($0) }, descr: "<i\(MemoryLayout<T>.size)", shape: shape)
    }

    static func npy(_ values: [Float], shape: [Int]) -> Data {
        npy(bytes: values.withUnsafeBytes { Data($0) }, descr: "<f4", shape: shape)
    }

    private static func npy(bytes: Data, descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(bytes)
        return data
    }
}
