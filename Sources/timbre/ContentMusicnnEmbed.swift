import Foundation
import TimbreContentCatalog
import TimbreCore
import TimbreMusicnn
import TimbreTerminal

extension ContentCommand.Embed {
    struct MusicnnReport: Encodable {
        struct Skipped: Encodable { var item: Int64; var reason: String }
        var set: Int64
        var name: String
        var model: String
        var layer: String
        var embedded: Int
        var skipped: [Skipped]
        var seconds: Double
    }

    /// `content embed --model musicnn-msd|musicnn-mtt`: see `MusicnnCatalog.run`.
    func runMusicnn(_ name: MusicnnModelName, layer: MusicnnLayer) throws {
        let catalog = catalog
        let run = try MusicnnCatalog.run(model: name, layer: layer, weightsDirectory: weights ?? MusicnnEmbedder.defaultWeightsDirectory,
                                         jobs: jobs, batchSize: batchSize, connect: { try catalog.connect() },
                                         progress: { ProgressReporter("embed", total: $0, unit: "tracks") })
        let report = MusicnnReport(set: run.set.id, name: run.set.name, model: name.rawValue, layer: layer.rawValue,
                                   embedded: run.tally.embedded,
                                   skipped: run.tally.skipped.map { MusicnnReport.Skipped(item: $0.item, reason: $0.reason) },
                                   seconds: run.seconds)
        switch format {
        case .json: try printJSON(report)
        case .table:
            for s in report.skipped { note("skipped item \(s.item): \(s.reason)") }
            print(String(format: "embedding set #%lld '%@' (%@ %@, %d-d): %d tracks embedded in %.1f s, %d skipped",
                         run.set.id, run.set.name, name.rawValue, layer.rawValue, layer.width, run.tally.embedded, run.seconds,
                         run.tally.skipped.count))
            print("tags: items.metadata \(MusicnnCatalog.metadataPrefix(name))_tags (top \(MusicnnCatalog.topTagCount)) "
                  + "and \(MusicnnCatalog.metadataPrefix(name))_tag_probabilities")
        }
    }
}
