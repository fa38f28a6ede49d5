import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreServing
import TimbreTerminal

/// `--exclude-items`, `--where`, `--max-per`, `--min-duration` and `--explain`, shared by
/// recommend, publish and serve (where they are the defaults of every request).
struct RuleOptions: ParsableArguments {
    @Option(name: .customLong("exclude-items"), help: ArgumentHelp(
        "File of item ids never to recommend (one per line), on top of the catalog's excluded_items.", valueName: "file"))
    var excludeFile: String?

    @Option(name: .customLong("where"), help: ArgumentHelp(
        "Only items whose metadata field KEY is VALUE (or, for an array field, contains it); repeat: all must hold.",
        valueName: "key=value"))
    var conditions: [String] = []

    @Option(name: .customLong("max-per"), help: ArgumentHelp(
        "At most N items per value of metadata field KEY (a diversity cap, e.g. album=2); repeatable.", valueName: "key=n"))
    var caps: [String] = []

    @Option(name: .customLong("min-duration"), help: ArgumentHelp(
        "Leave out tracks shorter than this (items without audio are kept).", valueName: "seconds"))
    var minDuration: Double?

    @Flag(help: "Add to each item the rated items that contributed most to its score, with their share.")
    var explain = false

    func validate() throws {
        do { _ = try RecommendationRules(excludedItems: [], where: conditions, maxPer: caps, minDuration: minDuration) }
        catch let error as RuleError { throw ValidationError(error.description) }
    }

    /// The rules, with the exclusion file's ids checked against the catalog (file:line on a bad one).
    func rules(_ directory: ItemDirectory) throws -> RecommendationRules {
        var excluded: [String] = []
        if let excludeFile {
            let ids = try readIDList(excludeFile)
            try checkIDList(ids, path: excludeFile, kind: "item") { directory.ids.index(of: $0) != nil }
            excluded = ids.map(\.id)
        }
        return try RecommendationRules(excludedItems: excluded, where: conditions, maxPer: caps, minDuration: minDuration)
    }

    var explanationLength: Int { explain ? StreamProtocol.defaultExplanationLength : 0 }
}

func noteRemoved(_ removed: RuleCounts) {
    guard removed.total > 0 else { return }
    note("rules removed \(removed.total) candidates ahead of the list's end (excluded \(removed.excluded), where \(removed.where), min-duration \(removed.minDuration), max-per \(removed.maxPer))")
}

/// "Title 42%, Title 30%" for the table's `because` column.
func becauseText(_ explanation: [ExplanationEntry]?) -> String {
    (explanation ?? []).map { "\($0.title ?? $0.item) \(Int(($0.share * 100).rounded()))%" }.joined(separator: ", ")
}

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Print the top-N items for a user, a listener's liked items, or every user of a file.",
        discussion: """
            Uses the newest stored model of the strategy with the same parameters (training and storing \
            one first if there is none, or with --retrain). Items the user has rated are never recommended; \
            for --user the user's current ratings are read from the catalog, so ratings added after training \
            count for strategies that use them, and users added after training are served too. Rules \
            (--exclude-items, --where, --max-per, --min-duration, and the catalog's excluded_items) apply \
            after scoring and the list is filled from the next best items.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var strategy: StrategyOptions
    @OptionGroup var embeddings: EmbeddingOptions
    @OptionGroup var feedback: FeedbackOptions
    @OptionGroup var ruleOptions: RuleOptions

    @Option(help: ArgumentHelp("External id of the user.", valueName: "id"))
    var user: String?

    @Option(name: .customLong("like"), help: ArgumentHelp(
        "Instead of --user: an item the listener likes, by id or exact title (repeat). Serves an anonymous profile, e.g. tracks that sound like these with --strategy content.",
        valueName: "item"))
    var liked: [String] = []

    @Option(name: .customLong("users"), help: ArgumentHelp(
        "Instead of --user: a file of user ids (one per line); lists for all of them, on all cores.", valueName: "file"))
    var usersFile: String?

    // .unconditional: "-n -5" is the value -5 (then refused by validate), not a missing value.
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Number of items.")
    var n: Int = 10

    @Flag(help: "Train a fresh model even if one is stored.")
    var retrain = false

    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table

    func validate() throws {
        try requireInRange(n, "-n", 1...maxListLength)
        guard [user != nil, !liked.isEmpty, usersFile != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give either --user or one or more --like items (or --users FILE for many users)")
        }
    }

    func run() throws {
        let db = try catalog.connect()
        let choice = try strategy.choice(embeddings)
        let service = try RecommenderService(db: db, ratings: usersFile != nil, feedback: feedback.kind, defaultStrategy: choice,
                                             registry: hostStrategies, log: note)
        let rules = try ruleOptions.rules(service.directory)
        if retrain { _ = try service.model(choice, retrain: true) }
        if let usersFile {
            let ids = try readIDList(usersFile)
            let users = service.state.snapshot!.ratings.users
            try checkIDList(ids, path: usersFile, kind: "user") { users.index(of: $0) != nil }
            let requests = ids.map { RecommendationRequest(user: $0.id, n: n, rules: rules, explain: ruleOptions.explanationLength) }
            let lists = try service.recommendAll(requests).map { try $0.get() }
            return try printBatch(lists)
        }
        let list = try service.recommend(RecommendationRequest(user: user, liked: liked, n: n, rules: rules,
                                                               explain: ruleOptions.explanationLength))
        noteRemoved(list.removedByRules)
        switch format {
        case .json: try printJSON(list)
        case .csv:
            print("rank,item,title,score" + (ruleOptions.explain ? ",because" : ""))
            for r in list.items {
                print("\(r.rank),\(csvField(r.item)),\(csvField(r.title ?? "")),\(r.score)" + (ruleOptions.explain ? "," + csvField(becauseText(r.explanation)) : ""))
            }
        case .table:
            print(renderTable(["rank", "item", "title", "score"] + (ruleOptions.explain ? ["because"] : []),
                              list.items.map { [String($0.rank), $0.item, $0.title ?? "", String(format: "%.4f", $0.score)]
                                  + (ruleOptions.explain ? [becauseText($0.explanation)] : []) },
                              rightAligned: [0, 3]))
        }
    }

    func printBatch(_ lists: [RecommendationList]) throws {
        switch format {
        case .json: try printJSON(lists)
        case .csv:
            print("user,rank,item,title,score")
            for l in lists { for r in l.items { print("\(csvField(l.user!)),\(r.rank),\(csvField(r.item)),\(csvField(r.title ?? "")),\(r.score)") } }
        case .table:
            print(renderTable(["user", "rank", "item", "title", "score"],
                              lists.flatMap { l in l.items.map { [l.user!, String($0.rank), $0.item, $0.title ?? "", String(format: "%.4f", $0.score)] } },
                              rightAligned: [1, 4]))
        }
    }
}

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Compute top-N lists for every user and publish them as a named list for a downstream app.",
        discussion: """
            Writes one list (recommendation_lists + recommendation_entries) in a single transaction; \
            the view published_recommendations serves the newest list of each name, so readers see the \
            whole new list or the old one. Rules and --explain work as for recommend (explanations are \
            stored as jsonb). Prints the list id.
            """)

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var strategy: StrategyOptions
    @OptionGroup var embeddings: EmbeddingOptions
    @OptionGroup var feedback: FeedbackOptions
    @OptionGroup var ruleOptions: RuleOptions

    @Option(help: ArgumentHelp("The list's name, e.g. home-feed (default: the strategy spec as given).", valueName: "name"))
    var name: String?

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Number of items per user.")
    var n: Int = 10

    @Flag(help: "Train a fresh model even if one is stored.")
    var retrain = false

    func validate() throws {
        try requireInRange(n, "-n", 1...maxListLength)
        if let name, name.isEmpty { throw ValidationError("--name cannot be empty") }
    }

    func run() throws {
        let db = try catalog.connect()
        let choice = try strategy.choice(embeddings)
        let start = Date()
        let service = try RecommenderService(db: db, ratings: true, feedback: feedback.kind, defaultStrategy: choice,
                                             registry: hostStrategies, log: note)
        let publisher = Publisher(db: db, service: service)
        let progress = ProgressReporter("recommending", total: service.state.snapshot!.ratings.userCount, unit: "users")
        let report = try publisher.publish(choice, name: name, n: n, rules: try ruleOptions.rules(service.directory),
                                           explain: ruleOptions.explanationLength, retrain: retrain, progress: progress)
        noteRemoved(report.removedByRules)
        note(String(format: "published list #%lld '%@': top-%d for %d users in %.2f s", report.listID, report.name, n, report.users,
                    Date().timeIntervalSince(start)))
        print(report.listID)
    }
}
