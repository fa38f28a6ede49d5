import ArgumentParser
import TimbreCore
import TimbreStrategies

@main
struct Timbre: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timbre",
        abstract: "A music and media recommender: catalog, strategies, evaluation and top-N lists.",
        subcommands: [Evaluate.self]
    )
}
