import Foundation
import PackagePlugin

/// Compiles the package's top-level `sql/*.sql` migrations into TimbreCatalog as Swift source, so
/// the migrations stay where the layout keeps them (reviewable SQL beside the code) while the
/// `timbre` binary carries them itself: nothing has to be copied beside it, and the manifest names
/// no files. The folder is listed each time SwiftPM plans a build, so adding a migration needs no
/// manifest change; a changed, added or removed file re-runs the command.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        // Sources/TimbreCatalog/Migrations is a link to sql/: SwiftPM lists the target's files
        // (the link's too) on every build, so an added, edited or removed migration re-runs this.
        let files = (target.sourceModule?.sourceFiles(withSuffix: "sql").map(\.url) ?? [])
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [.buildCommand(displayName: "Embedding \(files.count) migrations from sql/ into \(target.name)",
                              executable: try context.tool(named: "MigrationEmbedder").url,
                              arguments: [output.path] + files.map(\.path),
                              inputFiles: files, outputFiles: [output])]
    }
}
