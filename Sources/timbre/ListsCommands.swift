import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreServing
import TimbreTerminal

struct ListsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lists",
        abstract: "Published lists: list them, read one user's entries, prune old ones.",
        subcommands: [List.self, Show.self, Prune.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every published list, newest first; `current` marks the one each name serves.")
        @OptionGroup var catalog: CatalogOptions
        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        func run() throws {
            let lists = try catalog.connect().publishedLists()
            switch format {
            case .json: try printJSON(lists)
            case .csv:
                print("id,name,strategy,model,n,users,published_at,current")
                for l in lists {
                    print([String(l.id), csvField(l.name), csvField(l.strategy), l.modelID.map(String.init) ?? "", String(l.listLength),
                           String(l.users), l.publishedAt, String(l.current)].joined(separator: ","))
                }
            case .table:
                print(renderTable(["id", "name", "strategy", "model", "n", "users", "published", "current"], lists.map { l in
                    [String(l.id), l.name, l.strategy, l.modelID.map { "#\($0)" } ?? "", String(l.listLength), String(l.users),
                     l.publishedAt, l.current ? "yes" : ""]
                }, rightAligned: [0, 4, 5]))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A user's entries in the current list of a name, read from the published_recommendations view.")
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "The list's name (see `timbre lists list`).")
        var name: String
        @Option(help: ArgumentHelp("External id of the user.", valueName: "id"))
        var user: String
        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        func run() throws {
            let (listID, entries) = try catalog.connect().publishedRecommendations(list: name, user: user)
            switch format {
            case .json:
                struct Entry: Encodable { let rank: Int; let item: String; let title: String?; let score: Float; let explanation: JSONValue? }
                struct Output: Encodable { let list: String; let listID: Int64; let user: String; let items: [Entry] }
                try printJSON(Output(list: name, listID: listID, user: user, items: try entries.map {
                    Entry(rank: $0.rank, item: $0.item, title: $0.title, score: $0.score, explanation: try $0.explanationJSON.map(JSONValue.parse))
                }))
            case .csv:
                print("rank,item,title,score")
                for e in entries { print("\(e.rank),\(csvField(e.item)),\(csvField(e.title ?? "")),\(e.score)") }
            case .table:
                print(renderTable(["rank", "item", "title", "score"],
                                  entries.map { [String($0.rank), $0.item, $0.title ?? "", String(format: "%.4f", $0.score)] },
                                  rightAligned: [0, 3]))
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete all but the newest K lists of each name (the current one always stays).")
        @OptionGroup var catalog: CatalogOptions
        @Option(help: "Lists to keep per name (at least 1).")
        var keep: Int

        func validate() throws {
            guard keep >= 1 else { throw ValidationError("--keep must be at least 1 (a name's current list always stays)") }
        }

        func run() throws {
            let deleted = try catalog.connect().prunePublishedLists(keep: keep)
            note("deleted \(deleted.count) list\(deleted.count == 1 ? "" : "s")\(deleted.isEmpty ? "" : ": " + deleted.map { "#\($0)" }.joined(separator: ", "))")
        }
    }
}

struct ItemsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "items",
        abstract: "Find items by title, artist or album; show one; exclude items from every list.",
        subcommands: [Search.self, Show.self, Exclude.self])

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Items whose id, title or a text metadata value contains TEXT (ignoring case); exact titles first.")
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "Text to look for.")
        var text: String
        @Option(parsing: .unconditional, help: "At most this many items (1 to 10000).")
        var limit = 20

        func validate() throws { try requireInRange(limit, "--limit", 1...maxListLength) }
        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        func run() throws {
            let directory = try ItemDirectory(try catalog.connect().loadServingState(ratings: false).items)
            let found = directory.search(text, limit: limit)
            try printItems(found.map { directory.summary($0) }, format: format)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One item by external id or exact title: title, duration and metadata.")
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "External id or exact title.")
        var item: String
        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        func run() throws {
            let db = try catalog.connect()
            let directory = try ItemDirectory(try db.loadServingState(ratings: false).items)
            guard let k = try directory.resolve(item) else { throw UnknownItemsError(items: [item], target: db.target) }
            try printItems([directory.summary(k)], format: format)
        }
    }

    struct Exclude: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Never recommend these items (to everyone, or with --user to that user): rows in excluded_items.")
        @OptionGroup var catalog: CatalogOptions
        @Argument(help: "External ids of the items.")
        var items: [String] = []
        @Option(help: ArgumentHelp("A file of item ids (one per line) to exclude too.", valueName: "file"))
        var file: String?
        @Option(help: ArgumentHelp("Only for this user (external id).", valueName: "id"))
        var user: String?
        @Option(help: "Why (kept with the rows, e.g. licensing).")
        var reason: String?

        func validate() throws {
            guard !items.isEmpty || file != nil else { throw ValidationError("give item ids or --file") }
        }

        func run() throws {
            let listed = try file.map { try readIDList($0).map(\.id) } ?? []
            let added = try catalog.connect().addExclusions((items + listed).map { (user, $0) }, reason: reason)
            note("\(added) new exclusion\(added == 1 ? "" : "s")")
        }
    }
}

func printItems(_ items: [ItemSummary], format: OutputFormat) throws {
    switch format {
    case .json: try printJSON(items)
    case .csv:
        print("item,title,duration_s,metadata")
        for i in items { print("\(csvField(i.item)),\(csvField(i.title ?? "")),\(i.durationSeconds.map { String($0) } ?? ""),\(csvField(i.metadataText))") }
    case .table:
        print(renderTable(["item", "title", "duration", "metadata"], items.map {
            [$0.item, $0.title ?? "", $0.durationSeconds.map { String(format: "%.1f s", $0) } ?? "", $0.metadataText]
        }))
    }
}

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Stored models: strategies' trained models and content models.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every stored model, newest first: id, strategy, parameters, what it was trained on, size.")
        @OptionGroup var catalog: CatalogOptions
        @Option(help: ArgumentHelp("Only models of this strategy.", valueName: "name"))
        var strategy: String?
        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        func run() throws {
            let models = try catalog.connect().storedModels(strategy: strategy)
            switch format {
            case .json: try printJSON(models)
            case .csv:
                print("id,strategy,parameters,trained_on,bytes,created_at,embedding_set,plugin")
                for m in models {
                    print([String(m.id), csvField(m.strategy), csvField(m.parameters), csvField(m.trainedOn), String(m.bytes), m.createdAt,
                           csvField(m.embeddingSet ?? ""), csvField(m.plugin ?? "")].joined(separator: ","))
                }
            case .table:
                print(renderTable(["id", "strategy", "parameters", "trained on", "bytes", "created", "embeddings", "plugin"], models.map { m in
                    [String(m.id), m.strategy, m.parameters, m.trainedOn, String(m.bytes), m.createdAt, m.embeddingSet ?? "", m.plugin ?? ""]
                }, rightAligned: [0, 4]))
            }
        }
    }
}
