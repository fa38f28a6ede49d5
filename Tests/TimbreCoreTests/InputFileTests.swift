import Foundation
import Testing
import TimbreCore
import TimbreInterchange

/// Bad input files: every error names the file and line and quotes at most a short excerpt.
struct InputFileTests {
    let nfc = "caf\u{E9}"
    let nfd = "cafe\u{301}"

    private func ratings(_ text: String, layout: TableLayout = .csv) throws -> [RatingRecord] {
        try DelimitedTable.parse(Array(text.utf8), file: "r.csv", kind: .ratings, layout: layout).ratingRecords(scale: .movieLens)
    }

    private func error(_ body: () throws -> Void) -> InputFileError? {
        do { try body() } catch let error as InputFileError { return error } catch { Issue.record("unexpected \(error)") }
        return nil
    }

    private func file(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-input-\(UUID().uuidString).csv").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    @Test func twoSpellingsOfOneIdAreRefusedNamingBothLines() throws {
        #expect(nfc == nfd && Array(nfc.utf8) != Array(nfd.utf8), "Swift's String == is canonical equivalence")
        let e = error { _ = try ratings("user,item,rating\n\(nfc),1,4\nbob,1,3\n\(nfd),2,3\n") }
        #expect(e?.line == 4)
        #expect(e?.message.contains("line 2") == true, "\(e.map { "\($0)" } ?? "")")
        #expect(e?.message.contains("U+0301") == true)
        // Users and items files too.
        let users = error {
            _ = try DelimitedTable.parse(Array("user_id,age\n\(nfd),20\n\(nfc),30\n".utf8), file: "u.csv", kind: .users, layout: .csv).userRecords()
        }
        #expect(users?.line == 3 && users?.message.contains("line 2") == true)
    }

    /// An items or users file describes each id once: a second row for one is refused on its
    /// line, naming the first.
    @Test(arguments: [TableKind.items, .users])
    func anIdListedTwiceIsRefusedNamingTheFirstLine(_ kind: TableKind) throws {
        let (column, what) = kind == .items ? ("item_id", "item") : ("user_id", "user")
        let text = "\(column),title\nA,x\nB,y\nA,z\n"
        let e = error {
            let table = try DelimitedTable.parse(Array(text.utf8), file: "f.csv", kind: kind, layout: .csv)
            _ = kind == .items ? try table.itemRecords().count : try table.userRecords().count
        }
        #expect(e?.line == 4)
        #expect(e?.message == "\(what) A is listed again (first on line 2)", "\(e.map { "\($0)" } ?? "")")
    }

    @Test func idsAreReadInNFCForm() throws {
        let records = try ratings("user,item,rating\n\(nfd),\(nfd),4\n\(nfd),x,3\n")
        #expect(records.map { Array($0.user.utf8) } == [Array(nfc.utf8), Array(nfc.utf8)])
        #expect(Array(records[0].item.utf8) == Array(nfc.utf8))
    }

    @Test func nulByteIsRejectedOnItsLine() throws {
        let e = error { _ = try ratings("user,item,rating\na,x,4\nb\u{0},y,3\n") }
        #expect(e?.line == 3 && e?.message.contains("NUL") == true)
    }

    @Test func overlongIdIsRejectedWithItsLineAndAnExcerpt() throws {
        let long = String(repeating: "u", count: 10_000)
        let e = error { _ = try ratings("user,item,rating\na,x,4\n\(long),y,3\n") }
        #expect(e?.line == 3)
        #expect(e?.message.contains("10000 bytes") == true && e?.message.contains("at most 256") == true)
        #expect((e.map { "\($0)" } ?? "").count < 200, "the message quotes an excerpt, not the id")
        #expect(try ratings("user,item,rating\n\(String(repeating: "u", count: 256)),x,4\n").count == 1)
    }

    @Test func aHugeLineFailsWithAShortMessage() throws {
        let path = try file(Array("user,item,rating\na,x,4\n".utf8) + [UInt8](repeating: UInt8(ascii: ","), count: 3 << 20) + Array("\nb,y,3\n".utf8))
        let e = error { _ = try DelimitedTable.read(path: path, kind: .ratings) }
        #expect(e?.file == path && e?.line == 3)
        #expect(e?.message.contains("longer than 1 MiB") == true, "\(e.map { "\($0)" } ?? "")")
        #expect((e.map { "\($0)" } ?? "").count < 200 + path.count)
    }

    @Test func aLineOfManyFieldsIsCountedWithoutSplittingThemAll() throws {
        let e = error { _ = try ratings("user,item,rating\n" + String(repeating: ",", count: 500_000) + "\n") }
        #expect(e?.line == 2 && e?.message.contains("expected 3 fields") == true && e?.message.contains("found more") == true)
    }

    @Test func invalidUTF8IsRefusedUnlessLatin1IsAsked() throws {
        let bytes = Array("item_id,title\n1,Toy Story\n2,Les Mis".utf8) + [0xE9] + Array("rables\n".utf8)
        let e = error { _ = try DelimitedTable.parse(bytes, file: "i.csv", kind: .items, layout: .csv).itemRecords() }
        #expect(e?.line == 3 && e?.message.contains("--encoding latin1") == true && e?.message.contains("0xE9") == true)
        let latin1 = try DelimitedTable.parse(bytes, file: "i.csv", kind: .items, layout: .csv, encoding: .latin1).itemRecords()
        #expect(latin1.map(\.title) == ["Toy Story", "Les Mis\u{E9}rables"])
    }

    @Test func carriageReturnOnlyLineEndsAreLineEnds() throws {
        let records = try ratings("user,item,rating\ra,x,4\r\rb,y,3\r")
        #expect(records.map(\.user) == ["a", "b"] && records.map(\.line) == [2, 4] && records.map(\.value) == [4, 3])
    }

    @Test func aCRLFSplitBetweenTwoReadsIsOneLineEnd() throws {
        // The reader fills 1 MiB at a time: put the \r of a \r\n on the last byte of the first read.
        let header = Array("user,item,rating\r\n".utf8)
        let padding = [UInt8](repeating: UInt8(ascii: " "), count: (1 << 20) - 1 - header.count) + Array("\r\n".utf8)
        let path = try file(header + padding + Array("a,x,4\r\nb,y,3".utf8))
        let records = try DelimitedTable.read(path: path, kind: .ratings).ratingRecords(scale: .movieLens)
        #expect(records.map(\.item) == ["x", "y"] && records.map(\.line) == [3, 4])
    }

    @Test(arguments: ["0x1p2", "inf", "nan", "1e", "+-4", "four", " "])
    func onlyDecimalRatingsAreNumbers(_ text: String) throws {
        let e = error { _ = try ratings("user,item,rating\na,x,\(text)\n") }
        #expect(e?.line == 2 && e?.message.contains("is not a number") == true, "\(text)")
    }

    @Test func decimalRatingsAndTimestampsAreRead() throws {
        let records = try ratings("user,item,rating,timestamp\na,x,4.5,1.5\na,y,.5,2.4\na,z,4e0,-1.5\na,w,+3,7\n")
        #expect(records.map(\.value) == [4.5, 0.5, 4, 3])
        // Fractions of a second are rounded to the nearest second (halves away from zero).
        #expect(records.map(\.timestamp) == [2, 2, -2, 7])
        let e = error { _ = try ratings("user,item,rating,timestamp\na,x,4,0x10\n") }
        #expect(e?.line == 2 && e?.message.contains("timestamp") == true)
    }

    @Test func aFIFOIsNotReadAsATable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("timbre-fifo-\(UUID().uuidString)").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let e = error { _ = try DelimitedTable.read(path: path, kind: .ratings) }
        #expect(e?.message.contains("not a regular file") == true)
    }
}
