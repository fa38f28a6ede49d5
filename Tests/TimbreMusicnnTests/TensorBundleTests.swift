import Foundation
import Testing
@testable import TimbreMusicnn
import TimbreTestSupport

/// Writes a checkpoint the way TensorFlow's BundleWriter and LevelDB's TableBuilder lay it out,
/// independently of the reader: varints, prefix-compressed keys with restart points, block
/// trailers, footer with magic.
struct HandMadeBundle {
    var tensors: [(name: String, shape: [Int], values: [Float])]
    var restartInterval = 2
    var blockType: UInt8 = 0

    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }

    static func fixed32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }

    func block(_ entries: [([UInt8], [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [], restarts: [UInt32] = [], previous: [UInt8] = []
        for (i, (key, value)) in entries.enumerated() {
            var shared = 0
            if i % restartInterval == 0 { restarts.append(UInt32(out.count)) } else {
                while shared < min(key.count, previous.count) && key[shared] == previous[shared] { shared += 1 }
            }
            out += Self.varint(UInt64(shared)) + Self.varint(UInt64(key.count - shared)) + Self.varint(UInt64(value.count))
            out += key[shared...] + value
            previous = key
        }
        if restarts.isEmpty { restarts = [0] }
        return out + restarts.flatMap(Self.fixed32) + Self.fixed32(UInt32(restarts.count))
    }

    func withTrailer(_ block: [UInt8], type: UInt8) -> [UInt8] {
        block + [type] + Self.fixed32(CRC32C.masked(CRC32C.checksum(block + [type])))
    }

    /// (index file, data file)
    func files() -> ([UInt8], [UInt8]) {
        var data: [UInt8] = []
        var entries: [([UInt8], [UInt8])] = [([], [0x08, 0x01])]  // BundleHeaderProto { num_shards: 1 }
        for tensor in tensors.sorted(by: { $0.name < $1.name }) {
            let bytes = tensor.values.flatMap { Self.fixed32($0.bitPattern) }
            var shape: [UInt8] = []
            for size in tensor.shape {
                let dim = [0x08] + Self.varint(UInt64(size))
                shape += [0x12] + Self.varint(UInt64(dim.count)) + dim
            }
            var entry: [UInt8] = [0x08, 0x01, 0x12] + Self.varint(UInt64(shape.count)) + shape
            if !data.isEmpty { entry += [0x20] + Self.varint(UInt64(data.count)) }
            entry += [0x28] + Self.varint(UInt64(bytes.count))
            entry += [0x35] + Self.fixed32(CRC32C.masked(CRC32C.checksum(bytes)))
            entries.append((Array(tensor.name.utf8), entry))
            data += bytes
        }
        var index = withTrailer(block(entries), type: blockType)
        let dataHandle = Self.varint(0) + Self.varint(UInt64(index.count - 5))
        let metaOffset = index.count
        index += withTrailer(block([]), type: 0)
        let indexOffset = index.count
        let lastKey = Array((entries.last?.0 ?? []) + [0])
        let indexBlock = block([(lastKey, dataHandle)])
        index += withTrailer(indexBlock, type: 0)
        var footer = Self.varint(UInt64(metaOffset)) + Self.varint(UInt64(indexOffset - metaOffset - 5))
            + Self.varint(UInt64(indexOffset)) + Self.varint(UInt64(indexBlock.count))
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += (0..<8).map { UInt8((SSTable.magic >> (8 * UInt64($0))) & 0xff) }
        return (index + footer, data)
    }

    /// Writes PREFIX.index and PREFIX.data-00000-of-00001 into a fresh folder; returns PREFIX.
    func write(edit: (inout [UInt8], inout [UInt8]) -> Void = { _, _ in }) throws -> String {
        let folder = try TestData.folder("bundle")
        var (index, data) = files()
        edit(&index, &data)
        try Data(index).write(to: folder.appendingPathComponent(".index"))
        try Data(data).write(to: folder.appendingPathComponent(".data-00000-of-00001"))
        return folder.path + "/"
    }
}

@Suite("TensorFlow checkpoint reader")
struct TensorBundleTests {
    static let sample = HandMadeBundle(tensors: [
        ("dense/kernel", [2, 3], [1, -2, 3.5, 0.25, -0, 1e-20]),
        ("dense/bias", [3], [0.5, 0.5, -7]),
        ("dense_1/kernel", [3, 1], [9, 8, 7]),
        ("batch_normalization/gamma", [1], [1.5]),
        ("conv2d/kernel", [1, 1, 1, 2], [-1, 1]),
    ])

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
    }

    @Test func readsBackEveryTensorExactly() throws {
        let bundle = try TensorBundle(prefix: try Self.sample.write())
        #expect(bundle.entries.count == 5)
        for tensor in Self.sample.tensors {
            let values = try bundle.floats(tensor.name, shape: tensor.shape)
            #expect(values.map(\.bitPattern) == tensor.values.map(\.bitPattern), "\(tensor.name)")
        }
        #expect(bundle.entries["dense/kernel"]?.shape == [2, 3])
    }

    @Test func restartPointsEveryEntryOrNeverGiveTheSameTable() throws {
        for interval in [1, 3, 16] {
            var bundle = Self.sample
            bundle.restartInterval = interval
            let read = try TensorBundle(prefix: try bundle.write())
            #expect(try read.floats("dense_1/kernel", shape: [3, 1]) == [9, 8, 7])
        }
    }

    @Test func aChangedTensorByteFailsItsChecksum() throws {
        let prefix = try Self.sample.write { _, data in data[1] ^= 0x01 }  // gamma sorts first: bytes 0..<4
        let bundle = try TensorBundle(prefix: prefix)
        #expect(throws: MusicnnError.self) { try bundle.floats("batch_normalization/gamma", shape: [1]) }
        do { _ = try bundle.floats("batch_normalization/gamma", shape: [1]); Issue.record("no error") } catch {
            #expect(error == .checksumMismatch(name: "batch_normalization/gamma", path: prefix + ".data-00000-of-00001"))
        }
    }

    @Test func wrongShapeAndMissingTensorAreNamed() throws {
        let prefix = try Self.sample.write()
        let bundle = try TensorBundle(prefix: prefix)
        do { _ = try bundle.floats("dense/kernel", shape: [3, 2]); Issue.record("no error") } catch {
            #expect(error == .wrongShape(name: "dense/kernel", expected: [3, 2], found: [2, 3], path: prefix + ".index"))
        }
        do { _ = try bundle.floats("dense_2/kernel", shape: [1]); Issue.record("no error") } catch {
            #expect(error == .missingTensor(name: "dense_2/kernel", path: prefix + ".index"))
        }
    }

    @Test func damagedIndexCompressedBlocksAndMissingFilesAreErrors() throws {
        func failure(_ prefix: String) -> MusicnnError? {
            do { _ = try TensorBundle(prefix: prefix); return nil } catch { return error }
        }
        // A flipped key byte in the data block: its CRC no longer matches.
        let damaged = try Self.sample.write { index, _ in index[12] ^= 0x20 }
        guard case .corruptCheckpoint(_, let reason)? = failure(damaged) else { Issue.record("accepted"); return }
        #expect(reason.contains("CRC-32C"))
        var compressed = Self.sample
        compressed.blockType = 1
        guard case .corruptCheckpoint(_, let why)? = failure(try compressed.write()) else { Issue.record("accepted"); return }
        #expect(why.contains("compressed"))
        let truncated = try Self.sample.write { index, _ in index.removeLast(3) }
        guard case .corruptCheckpoint(_, let magic)? = failure(truncated) else { Issue.record("accepted"); return }
        #expect(magic.contains("magic"))
        let noData = try Self.sample.write()
        try FileManager.default.removeItem(atPath: noData + ".data-00000-of-00001")
        #expect(failure(noData) == .missingFile(path: noData + ".data-00000-of-00001"))
    }

    @Test func aCheckpointWithoutMusicnnsTensorsIsRefusedNotFilledWithRandomWeights() throws {
        let prefix = try Self.sample.write()
        do { _ = try MusicnnNetwork(checkpointPrefix: prefix); Issue.record("accepted") } catch {
            // The first tensor musicnn asks for is the input norm's gamma, [1]; this one has it, so
            // the next one missing is named.
            #expect(error == .missingTensor(name: "batch_normalization/beta", path: prefix + ".index"))
        }
        do { _ = try MusicnnNetwork(.msd, weightsDirectory: "/nonexistent"); Issue.record("accepted") } catch {
            #expect(error == .missingFile(path: "/nonexistent/MSD_musicnn/.index"))
        }
    }

    @Test func theRealCheckpointsHaveEveryTensorWithItsShapeAndChecksum() throws {
        let dir = try MusicnnFixtures.weightsDirectory()
        for model in MusicnnModelName.allCases {
            let network = try MusicnnNetwork(model, weightsDirectory: dir)
            #expect(network.timbral.map(\.block.filters) == [204, 204])
            let bundle = try TensorBundle(prefix: dir + "/" + model.checkpointFolder + "/")
            // Adam's slots and step counters are in the file too; the reader sees them all.
            #expect(bundle.entries.keys.contains("dense_1/kernel/Adam_1"))
            #expect(bundle.entries.count > 100)
        }
    }
}
