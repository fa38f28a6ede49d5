import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreTerminal

struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Create and upgrade the catalog schema.",
        subcommands: [Migrate.self, Status.self, Stats.self]
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

extension DatabaseCommand {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count the catalog's rows and time loading the rating (or play-total) snapshot into memory.",
            discussion: "The snapshot is what every strategy trains on. With both ratings and plays in the catalog, --feedback says which to load (default ratings here).")
        @OptionGroup var catalog: CatalogOptions
        @OptionGroup var feedback: FeedbackOptions
        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        struct Output: Encodable {
            let feedback: FeedbackKind, users: Int, items: Int, ratings: Int, ratedItems: Int, snapshotSeconds: Double
        }

        func run() throws {
            let db = try catalog.connect()
            // A count should not fail on a catalog with both kinds: ratings unless told otherwise.
            let kind = feedback.kind ?? ((try? db.feedbackKind(nil)) ?? .ratings)
            let start = Date()
            let snapshot = try db.loadConsistentSnapshot(feedback: kind).ratings
            let seconds = Date().timeIntervalSince(start)
            let rated = (0..<Int32(snapshot.itemCount)).filter { snapshot.byItem.count($0) > 0 }.count
            let output = Output(feedback: kind, users: snapshot.userCount, items: snapshot.itemCount, ratings: snapshot.ratingCount,
                                ratedItems: rated, snapshotSeconds: seconds)
            if format == .json { return try printJSON(output) }
            let pairs = kind == .plays ? "played pairs" : "ratings"
            print(renderTable(["users", "items", kind == .plays ? "played items" : "rated items", pairs, "snapshot load"],
                              [[String(output.users), String(output.items), String(rated), String(output.ratings),
                                String(format: "%.3f s", seconds)]], rightAligned: [0, 1, 2, 3, 4]))
        }
    }
}
