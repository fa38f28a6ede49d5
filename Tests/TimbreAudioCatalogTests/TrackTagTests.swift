import Foundation
import Testing
import TimbreAudio
import TimbreAudioCatalog
import TimbreCatalog
import TimbreTestSupport

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct TrackTagTests {
    /// A tagged file's title, artist and album name its item; an untagged one keeps its file name.
    @Test func ingestNamesTracksByTheirTags() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let dir = URL(fileURLWithPath: try TestData.file("x", "")).deletingLastPathComponent().path
        let tagged = dir + "/track4.wav", plain = dir + "/theme.wav"
        try TestData.writeWAV(TestData.tone(hertz: 440, seconds: 2), rate: 22_050, to: tagged,
                              info: [("INAM", "Hold the Line"), ("IART", "Trent Kaniuga"), ("IPRD", "Warzone OST")])
        try TestData.writeWAV(TestData.tone(hertz: 660, seconds: 2), rate: 22_050, to: plain)
        #expect(try SoundFile(path: tagged).tags == TrackTags(title: "Hold the Line", artist: "Trent Kaniuga", album: "Warzone OST"))
        #expect(try SoundFile(path: plain).tags == TrackTags())
        let store = AudioCatalogStore(db: catalog.db)
        for path in [tagged, plain] { #expect(try store.store(try TrackAnalyser().analyse(path: path))) }
        let rows = try catalog.db.query("SELECT title, metadata::text AS metadata FROM items ORDER BY id")
        #expect(rows.count == 2)
        #expect(try rows[0].string("title") == "Hold the Line")
        #expect(try rows[0].string("metadata") == #"{"album": "Warzone OST", "artist": "Trent Kaniuga", "source": "audio ingest"}"#)
        #expect(try rows[1].string("title") == "theme" && rows[1].string("metadata") == #"{"source": "audio ingest"}"#)
    }
}
