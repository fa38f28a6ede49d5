import Foundation
import Synchronization
import Testing
@testable import TimbreAudio

/// A store in memory, shared by the pipeline's threads: keyed by content hash like the catalog.
final class MemoryStore: AudioFeatureStore, Sendable {
    let tracks = Mutex<[String: AnalysedTrack]>([:])

    func contains(contentSHA256: [UInt8]) throws -> Bool { tracks.withLock { $0[contentSHA256.hexString] != nil } }

    func store(_ track: AnalysedTrack) throws -> Bool {
        tracks.withLock { stored in
            guard stored[track.contentSHA256.hexString] == nil else { return false }
            stored[track.contentSHA256.hexString] = track
            return true
        }
    }
}

@Suite struct Ingest {
    @Test func sha256KnownAnswers() throws {
        let empty = try SHA256()
        #expect(try empty.finalize().hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let abc = try SHA256()
        try abc.update(Array("abc".utf8))
        #expect(try abc.finalize().hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func batchStoresGoodFilesReportsBadOnesAndIsIdempotent() throws {
        let files = IngestPipeline.files(in: [Fixtures.directory.path])
        #expect(files.count == 10)  // five music clips, five bad inputs; reference/ holds no audio
        let store = MemoryStore()
        let pipeline = IngestPipeline(workerCount: 2)
        let first = try pipeline.run(files: files, makeStore: { store })
        #expect(first.stored == 5)
        #expect(Set(first.failures.map(\.kind)) == ["empty", "unsupported", "truncated", "silent"])
        #expect(first.failures.count == 5)
        #expect(first.failures.allSatisfy { $0.reason.contains($0.path) })

        let again = try pipeline.run(files: files, makeStore: { store })
        #expect(again.stored == 0 && again.alreadyStored == 5 && again.failures.count == 5)

        let track = try #require(store.tracks.withLock { $0.values.first { $0.path.hasSuffix("wesnoth-battle.ogg") } })
        #expect(track.mfcc.rowCount == 20 && track.mfcc.columnCount == 173)
        #expect(track.sampleRate == 44_100 && track.channelCount == 2 && track.format.description == "ogg/vorbis")
        #expect(track.mfcc.littleEndianBytes.count == 4 * 20 * 173)
    }

    /// A renamed copy has the same content hash and is not a new track.
    @Test func renamedFileIsTheSameTrack() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("renamed-\(UUID().uuidString).ogg").path
        try FileManager.default.copyItem(atPath: Fixtures.path("wesnoth-battle.ogg"), toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let store = MemoryStore()
        let summary = try IngestPipeline(workerCount: 2).run(files: [Fixtures.path("wesnoth-battle.ogg"), copy], makeStore: { store })
        #expect(summary.stored == 1 && summary.alreadyStored == 1)
    }

    @Test func plotWritesPNG() throws {
        let audio = try AudioDecoder().decode(path: Fixtures.path("wesnoth-battle.ogg"))
        let extractor = try MFCCExtractor()
        let image = TrackPlot().render(samples: audio.samples, sampleRate: audio.sampleRate,
                                       melDB: extractor.melSpectrogramDB(audio.samples), referenceDB: extractor.fullScaleReferenceDB(),
                                       filterbank: extractor.filterbank, title: "test")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try PNGWriter().write(image, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(throws: AudioError.self) { try PNGWriter().write(image, to: "/nonexistent-dir/x.png") }
    }
}
