import ArgumentParser
import Foundation
import TimbreStrategies

@main
struct Timbre: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timbre",
        abstract: "A music and media recommender: catalog, strategies, evaluation and top-N lists.",
        discussion: """
            Timbre keeps its catalog (users, items, ratings, audio features, trained models, evaluation \
            runs and published lists) in PostgreSQL. Every command that touches the catalog takes \
            --database URL; without it, DATABASE_URL, then libpq's PG* variables and ~/.pgpass are used.

            A typical session:
              timbre db migrate
              timbre import --ratings ml-100k.inter --items ml-100k.item --users ml-100k.user
              timbre strategies
              timbre recommend --user 196 -n 10 --strategy bias

            Strategy plugins (see Examples/StrategyPlugin) load at start from every --plugins DIR (or \
            library file; repeatable, anywhere on the command line) and every folder of TIMBRE_PLUGIN_PATH \
            (colon-separated); a plugin that cannot be used stops timbre with the reason.
            """,
        subcommands: [
            DatabaseCommand.self,
            ImportCommand.self,
            StrategiesCommand.self,
            TrainCommand.self,
            RecommendCommand.self,
            PublishCommand.self,
            ServeCommand.self,
            ListsCommand.self,
            ItemsCommand.self,
            ModelsCommand.self,
            Evaluate.self,
            Tune.self,
            RunsCommand.self,
            AudioCommand.self,
            ContentCommand.self,
            EmbeddingsCommand.self,
        ]
    )

    /// Loads the plugins, then runs the command line without its --plugins options.
    static func main() {
        do {
            let (arguments, paths) = try extractPluginPaths(Array(CommandLine.arguments.dropFirst()))
            hostStrategies = try PluginLoader.registry(adding: paths + PluginLoader.environmentFolders())
            main(arguments)
        } catch {
            exit(withError: error)
        }
    }
}
