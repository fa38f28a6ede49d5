import Foundation
import TimbreCore

/// A NumPy `.npy` array (format 1.0/2.0/3.0, C order, little-endian numbers): the one reader and
/// writer of the format, for exports (content segments) and imports (embedding sets).
public struct NumPyArray: Sendable, Equatable {
    public let shape: [Int]
    /// The elements in C order, widened to Double (float32/float64/int32/int64 files).
    public let values: [Double]

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public init(shape: [Int], values: [Double]) {
        precondition(shape.reduce(1, *) == values.count)
        self.shape = shape
        self.values = values
    }

    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw FormatError("no NumPy magic (\\x93NUMPY) at the start")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw FormatError("truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            start = 12
        default: throw FormatError("format version \(major) is not supported")
        }
        guard bytes.count >= start + headerLength else { throw FormatError("truncated header") }
        let header = String(decoding: bytes[start..<start + headerLength], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let k = header.range(of: "'\(key)':") else { return nil }
            return String(header[k.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let q1 = descrField.firstIndex(of: "'"),
              let q2 = descrField[descrField.index(after: q1)...].firstIndex(of: "'") else {
            throw FormatError("header has no descr")
        }
        let descr = String(descrField[descrField.index(after: q1)..<q2])
        if let order = field("fortran_order"), order.hasPrefix("True") { throw FormatError("Fortran-ordered arrays are not supported") }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw FormatError("header has no shape")
        }
        let shape = try shapeField[shapeField.index(after: open)..<close].split(separator: ",").map { part -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw FormatError("bad shape \(shapeField[open...close])") }
            return n
        }
        let (count, overflow) = shape.reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n)
            return (p, acc.1 || o)
        }
        guard !overflow else { throw FormatError("shape \(shape) is too large") }
        let width: Int
        switch descr {
        case "<f4", "<i4": width = 4
        case "<f8", "<i8": width = 8
        default: throw FormatError("element type \(descr) is not supported (use <f4, <f8, <i4 or <i8)")
        }
        let dataStart = start + headerLength
        guard bytes.count - dataStart == count * width else {
            throw FormatError("\(bytes.count - dataStart) data bytes for shape \(shape) of \(descr) (expected \(count * width))")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            for k in 0..<count {
                let p = base + k * width
                switch descr {
                case "<f4": values[k] = Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
                case "<f8": values[k] = Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
                case "<i4": values[k] = Double(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                default: values[k] = Double(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                }
            }
        }
        self.init(shape: shape, values: values)
    }

    /// NPY 1.0 bytes of `values` (float32) in `shape`.
    public static func encode(_ values: [Float], shape: [Int]) -> Data {
        encode(bytes: values.withUnsafeBytes { Data($0) }, descr: "<f4", shape: shape)
    }

    /// NPY 1.0 bytes of integer `values` in `shape`.
    public static func encode<T: FixedWidthInteger>(_ values: [T], shape: [Int]) -> Data {
        encode(bytes: values.withUnsafeBytes { Data($0) }, descr: "<i\(MemoryLayout<T>.size)", shape: shape)
    }

    /// Magic, header length, a Python dict literal padded so the data starts on a multiple of 64
    /// bytes, then the little-endian values in C order.
    private static func encode(bytes: Data, descr: String, shape: [Int]) -> Data {
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
