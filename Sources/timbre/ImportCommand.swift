import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreInterchange
import TimbreTerminal

extension TableLayout: ExpressibleByArgument {}
extension TextEncoding: ExpressibleByArgument {}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import ratings, plays, items and users into the catalog in one transaction.",
        discussion: """
            Reads RecBole atomic files (.inter/.item/.user), MovieLens u.data/u.item/u.user, \
            ratings.dat/movies.dat/users.dat (::), ratings.csv/movies.csv, and any CSV (or .tsv) with a header \
            naming user/item/rating[/timestamp] columns. The layout is guessed from the file name \
            unless --layout is given.

            --plays takes a play log (user, item[, timestamp]: each line is one play) or a count file \
            (user, item, count or plays[, timestamp]: each line that many plays). Lines of one pair add up, \
            also across files; a file already imported (same SHA-256) adds nothing and is reported.

            Every line is checked before anything is written. A malformed line (wrong number of \
            fields, a rating that is not a number or lies outside --scale, an item missing from \
            --items and from the catalog) stops the import with the file and line number, and nothing \
            is imported. Importing the same files again changes nothing. Users and items a ratings or plays \
            file names that the catalog lacks are created bare and named in the summary ("created items: …"); \
            --no-new-items refuses such an item instead, naming the file and line.
            """)

    @OptionGroup var catalog: CatalogOptions

    @Option(help: ArgumentHelp("Ratings file (user, item, rating[, timestamp]).", valueName: "file"))
    var ratings: String?

    @Option(help: ArgumentHelp("Plays file: a play log (user, item[, timestamp]) or counts (user, item, count[, timestamp]).", valueName: "file"))
    var plays: String?

    @Option(help: ArgumentHelp("Items file (id, title, metadata).", valueName: "file"))
    var items: String?

    @Option(help: ArgumentHelp("Users file (id, attributes).", valueName: "file"))
    var users: String?

    @Option(help: "File layout: \(TableLayout.allCases.map(\.rawValue).joined(separator: ", ")) (default: from the file name).")
    var layout: TableLayout?

    @Option(help: "Text encoding of the files: utf8 (invalid UTF-8 is an error naming the line) or latin1 (e.g. MovieLens-100K's u.item).")
    var encoding: TextEncoding = .utf8

    @Option(help: ArgumentHelp("Allowed rating range, lowest:highest (default 0.5:5).", valueName: "lo:hi"), transform: { text in
        guard let scale = RatingScale(parsing: text) else { throw ValidationError("--scale should look like 1:5, got '\(text)'") }
        return scale
    })
    var scale: RatingScale = 0.5...5

    @Flag(help: "Refuse a ratings or plays line whose item is neither in --items nor in the catalog (default: create it bare).")
    var noNewItems = false

    @Option(help: "Output format of the summary: table, json or csv (field,value rows; one row per created user or item).")
    var format: OutputFormat = .table

    func validate() throws {
        guard ratings != nil || plays != nil || items != nil || users != nil else {
            throw ValidationError("give at least one of --ratings, --plays, --items, --users")
        }
    }

    func run() throws {
        let db = try catalog.connect()
        var importer = CatalogImporter(ratingsFile: ratings, playsFile: plays, itemsFile: items, usersFile: users,
                                       layout: layout, scale: scale)
        importer.encoding = encoding
        importer.noNewItems = noNewItems
        let start = Date()
        let summary = try importer.run(db, progress: ProgressReporter("importing", total: nil, unit: "rows"))
        let seconds = Date().timeIntervalSince(start)
        switch format {
        case .json: try printJSON(summary)
        case .csv:
            print("field,value")
            let counts: [(String, Int)] = [("users_added", summary.usersAdded), ("users_updated", summary.usersUpdated),
                                           ("items_added", summary.itemsAdded), ("items_updated", summary.itemsUpdated),
                                           ("ratings_added", summary.ratingsAdded), ("ratings_updated", summary.ratingsUpdated),
                                           ("plays_added", summary.playsAdded), ("play_lines_added", summary.playRowsAdded),
                                           ("play_pairs_added", summary.playPairsAdded), ("play_pairs_grown", summary.playPairsUpdated)]
            for (field, value) in counts { print("\(field),\(value)") }
            for id in summary.createdUsers { print("created_user,\(csvField(id))") }
            for id in summary.createdItems { print("created_item,\(csvField(id))") }
            for skipped in summary.alreadyImported { print("skipped,\(csvField(skipped))") }
        case .table:
            print("""
                users added \(summary.usersAdded), updated \(summary.usersUpdated); items added \(summary.itemsAdded), updated \(summary.itemsUpdated); \
                ratings added \(summary.ratingsAdded), updated \(summary.ratingsUpdated)\
                \(plays == nil ? "" : "; plays added \(summary.playsAdded) (\(summary.playRowsAdded) lines), pairs added \(summary.playPairsAdded), grown \(summary.playPairsUpdated)") \
                (\(String(format: "%.2f", seconds)) s)
                """)
            for (kind, ids) in [("users", summary.createdUsers), ("items", summary.createdItems)] where !ids.isEmpty {
                print("created \(kind) named only by the ratings or plays file (no title or attributes): \(listed(ids))")
            }
            for skipped in summary.alreadyImported { print("skipped \(skipped)") }
        }
    }

    /// The first ids and how many more (a first import creates every user; the JSON and CSV list all).
    func listed(_ ids: [String]) -> String {
        let shown = 20
        return ids.prefix(shown).joined(separator: ", ") + (ids.count > shown ? " … and \(ids.count - shown) more (--format json lists all)" : "")
    }
}
