import Foundation
import Testing
@testable import TimbreAudio
import TimbreCore
import TimbreInterchange

/// Ingest never hangs on special files, says what it skipped, and output files never follow links.
@Suite struct IngestSafetyTests {
    private func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-safety-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` on a thread of its own whose file-system uid is `nobody`, so permission bits
    /// apply even when the tests run as root (setfsuid is per thread and drops CAP_DAC_OVERRIDE).
    private func asNobody<T>(_ body: @escaping () -> T) -> T {
        typealias SetFSUID = @convention(c) (UInt32) -> Int32
        let setfsuid = unsafeBitCast(dlsym(nil, "setfsuid")!, to: SetFSUID.self)
        nonisolated(unsafe) var result: T?
        nonisolated(unsafe) let task = body
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let previous = setfsuid(65534)
            result = task()
            _ = setfsuid(UInt32(previous))
            done.signal()
        }
        done.wait()
        return result!
    }

    @Test func fifosAndUnreadableFoldersAreReportedAndSkipped() throws {
        let root = try folder()
        defer { chmod(root + "/locked", 0o755); try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.copyItem(atPath: Fixtures.path("wesnoth-battle.ogg"), toPath: root + "/good.ogg")
        #expect(mkfifo(root + "/pipe.wav", 0o644) == 0)
        try FileManager.default.createDirectory(atPath: root + "/locked", withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: Fixtures.path("wesnoth-battle.ogg"), toPath: root + "/locked/hidden.ogg")
        chmod(root + "/locked", 0o711)  // searchable, not listable
        chmod(root, 0o755)

        let scan = asNobody { IngestPipeline.scan([root]) }
        #expect(scan.files == [root + "/good.ogg"])
        let skipped = Dictionary(uniqueKeysWithValues: scan.skipped.map { ($0.path, $0) })
        #expect(skipped[root + "/pipe.wav"]?.kind == "not a regular file")
        #expect(skipped[root + "/locked"]?.reason.contains("cannot list the folder") == true, "\(scan.skipped)")
        #expect(skipped[root + "/locked"]?.reason.contains("denied") == true)

        // A FIFO handed straight to the pipeline (e.g. queued by another process) fails, never blocks.
        let summary = try IngestPipeline(workerCount: 1).run(files: [root + "/pipe.wav", root + "/good.ogg"], makeStore: { MemoryStore() })
        #expect(summary.stored == 1)
        #expect(summary.failures.map(\.kind) == ["not a regular file"])
        #expect(summary.failures.first?.path == root + "/pipe.wav")
    }

    @Test func aDecodeOverTheTimeLimitIsAReportedFailure() throws {
        let summary = try IngestPipeline(workerCount: 1, timeLimit: .zero)
            .run(files: [Fixtures.path("wesnoth-battle.ogg")], makeStore: { MemoryStore() })
        #expect(summary.stored == 0)
        #expect(summary.failures.map(\.kind) == ["timed out"])
        #expect(summary.failures.first?.reason.contains("wesnoth-battle.ogg") == true)
        // Within the limit the same file goes through.
        #expect(try IngestPipeline(workerCount: 1).run(files: [Fixtures.path("wesnoth-battle.ogg")], makeStore: { MemoryStore() }).stored == 1)
    }

    @Test func outputsReplaceFilesButNeverFollowLinksOrOpenSpecialFiles() throws {
        let root = try folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let victim = root + "/victim.txt", link = root + "/plot.png"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        let image = RGBImage(width: 4, height: 3)
        #expect(throws: AudioError.self) { try PNGWriter().write(image, to: link) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
        #expect(FileKind.of(link, followingLinks: false) == .symbolicLink)

        #expect(mkfifo(root + "/fifo.png", 0o644) == 0)
        #expect(throws: OutputFileError.self) { try writeFileSafely(Array("x".utf8), to: root + "/fifo.png") }

        // A regular file is replaced whole, keeping its mode, and no temporary file is left.
        let target = root + "/out.svg"
        try writeFileSafely(Array("old".utf8), to: target)
        chmod(target, 0o600)
        try writeFileSafely(Array("new".utf8), to: target)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new")
        #expect(try (FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int) == 0o600)
        try PNGWriter().write(image, to: root + "/real.png")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: root + "/real.png")).prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["fifo.png", "out.svg", "plot.png", "real.png", "victim.txt"])
    }
}
