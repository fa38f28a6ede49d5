import Foundation
import Testing
import TimbreTestSupport
@testable import TimbreMusicnn

@Suite("timbre audio embed")
struct EmbedCommandTests {
    @Test func csvRowIsTheMeanOfTheReferencePatches() throws {
        let weights = try MusicnnFixtures.weightsDirectory()
        let clip = TestData.audioFixtures.appendingPathComponent("wesnoth-battle.ogg").path
        let run = try TestData.runTimbre(["audio", "embed", clip, "--model", "musicnn-mtt", "--layer", "tags", "--weights", weights])
        #expect(run.status == 0, "\(run.err)")
        let lines = run.out.split(separator: "\n")
        try #require(lines.count == 2)
        #expect(lines[0].hasPrefix("file,patches,guitar,classical,"))
        let fields = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(fields[1] == "1")
        let reference = try MusicnnFixtures.reference(clip: "wesnoth-battle.ogg", model: .mtt)
        var agreement = Agreement()
        agreement.add(fields.dropFirst(2).map { Float(String($0))! }, try #require(reference.patches["tags"]?.first))
        #expect(agreement.outside == 0, "\(agreement)")
    }

    @Test func badSettingsAndShortFilesAreNamed() throws {
        let short = TestData.audioFixtures.appendingPathComponent("bad-silent.wav").path
        let unknown = try TestData.runTimbre(["audio", "embed", short, "--model", "musicnn-big"])
        #expect(unknown.status != 0 && unknown.err.contains("musicnn-msd, musicnn-mtt"))
        let layer = try TestData.runTimbre(["audio", "embed", short, "--layer", "cnn1"])
        #expect(layer.status != 0 && layer.err.contains("penultimate, mean_pool, max_pool, tags"))
        let tooShort = try TestData.runTimbre(["audio", "embed", short, "--weights", try MusicnnFixtures.weightsDirectory()])
        #expect(tooShort.status != 0 && tooShort.err.contains("bad-silent.wav") && tooShort.out.isEmpty)
    }
}
