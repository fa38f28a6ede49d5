import Foundation

/// A TensorFlow checkpoint ("tensor bundle", the V2 format of `tf.train.Saver`) read without
/// TensorFlow: `PREFIX.index` is a LevelDB-format table mapping tensor names to `BundleEntryProto`
/// records (dtype, shape, shard, offset, size, CRC-32C), and `PREFIX.data-00000-of-00001` holds
/// the raw little-endian tensor bytes those records point into.
///
/// Only what musicnn's checkpoints need: one shard, little-endian, unpartitioned tensors,
/// uncompressed table blocks. Everything else is refused with a reason, never guessed at.
public struct TensorBundle: Sendable {
    public struct Entry: Sendable, Equatable {
        /// TensorFlow's `DataType` enum value (1 = DT_FLOAT).
        public var dataType: Int
        public var shape: [Int]
        public var shard: Int
        public var offset: Int
        public var size: Int
        /// The masked CRC-32C of the tensor's bytes, as TensorFlow stores it.
        public var checksum: UInt32
    }

    public let indexPath: String
    public let dataPath: String
    public let entries: [String: Entry]
    private let data: Data

    /// `prefix` is the checkpoint path without its suffixes (`…/MSD_musicnn/` for musicnn, whose
    /// files are named `.index` and `.data-00000-of-00001`).
    public init(prefix: String) throws(MusicnnError) {
        indexPath = prefix + ".index"
        dataPath = prefix + ".data-00000-of-00001"
        let index = try Self.read(indexPath)
        var entries: [String: Entry] = [:]
        var sawHeader = false
        for (key, value) in try SSTable(bytes: index, path: indexPath).entries() {
            if key.isEmpty {
                try Self.checkHeader(value, path: indexPath)
                sawHeader = true
            } else {
                let name = String(decoding: key, as: UTF8.self)
                entries[name] = try Self.parseEntry(value, name: name, path: indexPath)
            }
        }
        guard sawHeader else { throw .corruptCheckpoint(path: indexPath, reason: "no bundle header (empty key)") }
        data = try Self.read(dataPath)
        for (name, entry) in entries where entry.offset + entry.size > data.count {
            throw .corruptCheckpoint(path: dataPath, reason: "tensor \(name) ends at byte \(entry.offset + entry.size), file has \(data.count)")
        }
        self.entries = entries
    }

    /// The float32 tensor `name`, which must have exactly `shape`; its checksum is verified.
    public func floats(_ name: String, shape: [Int]) throws(MusicnnError) -> [Float] {
        guard let entry = entries[name] else { throw .missingTensor(name: name, path: indexPath) }
        guard entry.dataType == 1 else {
            throw .corruptCheckpoint(path: indexPath, reason: "tensor \(name) has dtype \(entry.dataType), expected 1 (float32)")
        }
        guard entry.shape == shape else { throw .wrongShape(name: name, expected: shape, found: entry.shape, path: indexPath) }
        let count = shape.reduce(1, *)
        guard entry.size == 4 * count else {
            throw .corruptCheckpoint(path: indexPath, reason: "tensor \(name) holds \(entry.size) bytes for \(count) floats")
        }
        let bytes = data[data.startIndex + entry.offset ..< data.startIndex + entry.offset + entry.size]
        let actual = CRC32C.masked(bytes.withUnsafeBytes { CRC32C.checksum($0) })
        guard actual == entry.checksum else { throw .checksumMismatch(name: name, path: dataPath) }
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    private static func read(_ path: String) throws(MusicnnError) -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw .missingFile(path: path) }
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw .corruptCheckpoint(path: path, reason: "unreadable: \(error.localizedDescription)")
        }
    }

    /// BundleHeaderProto: num_shards = 1, endianness = 1 (little).
    private static func checkHeader(_ value: [UInt8], path: String) throws(MusicnnError) {
        var shards = 0, endianness = 0
        var reader = ProtobufReader(value, path: path, what: "bundle header")
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 0): shards = Int(try reader.varint())
            case (2, 0): endianness = Int(try reader.varint())
            default: try reader.skip(wire)
            }
        }
        guard shards == 1 else { throw .corruptCheckpoint(path: path, reason: "\(shards) shards; only single-shard checkpoints are read") }
        guard endianness == 0 else { throw .corruptCheckpoint(path: path, reason: "big-endian checkpoint") }
    }

    /// BundleEntryProto: 1 dtype, 2 shape (TensorShapeProto: 2 dim {1 size}), 3 shard_id,
    /// 4 offset, 5 size, 6 crc32c (fixed32), 7 slices (partitioned tensors, refused).
    static func parseEntry(_ value: [UInt8], name: String, path: String) throws(MusicnnError) -> Entry {
        var entry = Entry(dataType: 0, shape: [], shard: 0, offset: 0, size: 0, checksum: 0)
        var reader = ProtobufReader(value, path: path, what: "entry \(name)")
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 0): entry.dataType = Int(try reader.varint())
            case (2, 2):
                var shape = ProtobufReader(try reader.bytes(), path: path, what: "shape of \(name)")
                while let (shapeField, shapeWire) = try shape.nextField() {
                    if shapeField == 2 && shapeWire == 2 {
                        var dim = ProtobufReader(try shape.bytes(), path: path, what: "dimension of \(name)")
                        var size = 0
                        while let (dimField, dimWire) = try dim.nextField() {
                            if dimField == 1 && dimWire == 0 { size = Int(Int64(bitPattern: try dim.varint())) } else { try dim.skip(dimWire) }
                        }
                        entry.shape.append(size)
                    } else if shapeField == 3 && shapeWire == 0 {
                        if try shape.varint() != 0 { throw .corruptCheckpoint(path: path, reason: "tensor \(name) has an unknown rank") }
                    } else {
                        try shape.skip(shapeWire)
                    }
                }
            case (3, 0): entry.shard = Int(try reader.varint())
            case (4, 0): entry.offset = Int(try reader.varint())
            case (5, 0): entry.size = Int(try reader.varint())
            case (6, 5): entry.checksum = try reader.fixed32()
            case (7, _): throw .corruptCheckpoint(path: path, reason: "tensor \(name) is partitioned (slices); not supported")
            default: try reader.skip(wire)
            }
        }
        guard entry.shard == 0 else { throw .corruptCheckpoint(path: path, reason: "tensor \(name) is in shard \(entry.shard)") }
        guard entry.shape.allSatisfy({ $0 >= 0 }) else {
            throw .corruptCheckpoint(path: path, reason: "tensor \(name) has shape \(entry.shape)")
        }
        return entry
    }
}

/// A LevelDB table (TensorFlow's `tensorflow/core/lib/io/table` is the same format): data blocks
/// of prefix-compressed key/value entries with restart points, an index block of block handles,
/// and a 48-byte footer ending in a magic number. Each block has a one-byte compression type and
/// a masked CRC-32C of its contents and that byte.
struct SSTable {
    static let magic: UInt64 = 0xdb47_7524_8b80_fb57
    static let footerSize = 48
    let bytes: [UInt8]
    let path: String

    init(bytes data: Data, path: String) {
        bytes = [UInt8](data)
        self.path = path
    }

    struct Handle { var offset: Int, size: Int }

    /// Every key/value pair, in table order.
    func entries() throws(MusicnnError) -> [([UInt8], [UInt8])] {
        guard bytes.count >= Self.footerSize else { throw corrupt("\(bytes.count) bytes, shorter than a table footer") }
        let footer = bytes.count - Self.footerSize
        var magic: UInt64 = 0
        for i in 0..<8 { magic |= UInt64(bytes[bytes.count - 8 + i]) << (8 * UInt64(i)) }
        guard magic == Self.magic else { throw corrupt("no table magic number at the end (not a checkpoint index)") }
        var cursor = ByteCursor(bytes: bytes, position: footer, end: bytes.count - 8)
        _ = try handle(&cursor)  // the metaindex block: filters, unused by checkpoints
        let indexHandle = try handle(&cursor)
        var result: [([UInt8], [UInt8])] = []
        for (_, value) in try blockEntries(indexHandle) {
            var valueCursor = ByteCursor(bytes: value, position: 0, end: value.count)
            result += try blockEntries(try handle(&valueCursor))
        }
        return result
    }

    private func handle(_ cursor: inout ByteCursor) throws(MusicnnError) -> Handle {
        guard let offset = cursor.varint(), let size = cursor.varint() else { throw corrupt("bad block handle") }
        return Handle(offset: Int(offset), size: Int(size))
    }

    private func blockEntries(_ handle: Handle) throws(MusicnnError) -> [([UInt8], [UInt8])] {
        guard handle.offset >= 0, handle.size >= 4, handle.offset + handle.size + 5 <= bytes.count else {
            throw corrupt("block at \(handle.offset)+\(handle.size) lies outside the file")
        }
        let end = handle.offset + handle.size
        let type = bytes[end]
        var stored: UInt32 = 0
        for i in 0..<4 { stored |= UInt32(bytes[end + 1 + i]) << (8 * UInt32(i)) }
        guard CRC32C.masked(CRC32C.checksum(bytes[handle.offset...end])) == stored else {
            throw corrupt("block at byte \(handle.offset) fails its CRC-32C")
        }
        guard type == 0 else {
            throw corrupt("block at byte \(handle.offset) is compressed (type \(type)); only uncompressed tables are read")
        }
        let block = Array(bytes[handle.offset..<end])
        var restarts: UInt32 = 0
        for i in 0..<4 { restarts |= UInt32(block[block.count - 4 + i]) << (8 * UInt32(i)) }
        let entriesEnd = block.count - 4 * (Int(restarts) + 1)
        guard restarts >= 1, entriesEnd >= 0 else { throw corrupt("block at byte \(handle.offset) has \(restarts) restart points") }
        var cursor = ByteCursor(bytes: block, position: 0, end: entriesEnd)
        var key: [UInt8] = []
        var result: [([UInt8], [UInt8])] = []
        while cursor.position < entriesEnd {
            guard let shared = cursor.varint(), let unshared = cursor.varint(), let valueLength = cursor.varint(),
                  Int(shared) <= key.count,
                  let suffix = cursor.take(Int(unshared)), let value = cursor.take(Int(valueLength)) else {
                throw corrupt("bad entry in block at byte \(handle.offset), entry \(result.count)")
            }
            key = Array(key[..<Int(shared)]) + suffix
            result.append((key, value))
        }
        return result
    }

    private func corrupt(_ reason: String) -> MusicnnError { .corruptCheckpoint(path: path, reason: reason) }
}

/// Bounds-checked reading of LevelDB varints and raw runs.
struct ByteCursor {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end && shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, position + count <= end else { return nil }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }
}

/// The protobuf wire format, as much as checkpoint records use: varints, fixed32, length-delimited.
struct ProtobufReader {
    private var cursor: ByteCursor
    let path: String
    let what: String

    init(_ bytes: [UInt8], path: String, what: String) {
        cursor = ByteCursor(bytes: bytes, position: 0, end: bytes.count)
        self.path = path
        self.what = what
    }

    /// The next field's number and wire type, or nil at the end.
    mutating func nextField() throws(MusicnnError) -> (Int, Int)? {
        guard cursor.position < cursor.end else { return nil }
        let tag = try varint()
        return (Int(tag >> 3), Int(tag & 7))
    }

    mutating func varint() throws(MusicnnError) -> UInt64 {
        guard let value = cursor.varint() else { throw bad() }
        return value
    }

    mutating func fixed32() throws(MusicnnError) -> UInt32 {
        guard let raw = cursor.take(4) else { throw bad() }
        return raw.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    mutating func bytes() throws(MusicnnError) -> [UInt8] {
        guard let raw = cursor.take(Int(try varint())) else { throw bad() }
        return raw
    }

    mutating func skip(_ wire: Int) throws(MusicnnError) {
        switch wire {
        case 0: _ = try varint()
        case 1: guard cursor.take(8) != nil else { throw bad() }
        case 2: _ = try bytes()
        case 5: _ = try fixed32()
        default: throw bad()
        }
    }

    private func bad() -> MusicnnError { .corruptCheckpoint(path: path, reason: "malformed protobuf in \(what)") }
}

/// CRC-32C (Castagnoli), with LevelDB's masking (rotate right 15, add a constant), which
/// TensorFlow applies to both block and tensor checksums.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82f6_3b78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xffff_ffff
        table.withUnsafeBufferPointer { table in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        }
        return ~crc
    }

    static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8 }
}
