import ArgumentParser
import TimbreCatalog

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Create and upgrade the catalog schema.",
        subcommands: [Migrate.self, Status.self]
    )

    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply pending migrations (the numbered files of sql/), each in its own transaction.",
            discussion: "Applied migrations are recorded in schema_migrations; running this again is a no-op.")
        @OptionGroup var catalog: CatalogOptions

        func run() throws {
            let db = try catalog.connect(requireMigrated: false)
            let applied = try Migrator.bundled().migrate(db)
            if applied.isEmpty {
                print("catalog is up to date (\(db.target))")
            } else {
                for m in applied { print("applied \(m.name)") }
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show which migrations are applied.")
        @OptionGroup var catalog: CatalogOptions

        func run() throws {
            let db = try catalog.connect(requireMigrated: false)
            let rows = try Migrator.bundled().status(db).map { s in
                [String(format: "%03d", s.migration.version), s.migration.name, s.appliedAt ?? "pending"]
            }
            print(renderTable(["version", "name", "applied"], rows))
        }
    }
}
