import ArgumentParser
import Foundation
import TimbreCatalog
import TimbreCore
import TimbreServing

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer recommendation requests on stdin, one JSON object per line, until end of input.",
        discussion: """
            Each request line is a JSON object with recommend's options as keys (user or like, n, \
            strategy, param, embedding-model, exclude-items, where, max-per, min-duration, explain) and \
            an optional id; each answer is one JSON line, in request order, with the id first; a bad \
            request gets {"id": …, "error": "…"} and serving goes on. Requests run concurrently on all \
            cores; each model is loaded (or trained) once. The ratings and items are read once at start: \
            restart to serve newer ones. See the README's "Serving an app" section.
            """,
        subcommands: [Bench.self])

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var embeddings: EmbeddingOptions
    @OptionGroup var feedback: FeedbackOptions

    @Flag(help: "Serve on standard input and output (the only transport so far).")
    var stdio = false

    @Option(help: ArgumentHelp("Strategy for requests that name none.", valueName: "spec"))
    var strategy: String?

    @Option(name: [.customLong("param"), .customShort("p")], parsing: .singleValue, help: ArgumentHelp(
        "Parameter of the default strategy as name=value (repeat).", valueName: "name=value"))
    var parameters: [String] = []

    @Option(help: "Worker threads (default: all cores).")
    var jobs: Int = availableCores

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard strategy != nil || parameters.isEmpty else { throw ValidationError("-p needs --strategy") }
    }

    func run() throws {
        // Checked here, not in validate(): ArgumentParser validates this command's options before `serve bench` too.
        guard stdio else { throw ValidationError("give --stdio (requests on standard input, answers on standard output)") }
        let db = try catalog.connect()
        let choice = try strategy.map { try StrategyChoice($0, parameters: parameters, embeddings: embeddings.choice) }
        let service = try RecommenderService(db: db, ratings: true, feedback: feedback.kind, defaultStrategy: choice,
                                             registry: hostStrategies, log: note)
        // Load (or train) the default model before the first request, so it does not pay for it.
        if let choice { _ = try service.model(choice) }
        // Answers ready together go out in one write.
        var pending: [UInt8] = []
        StreamProtocol(service: service).run(workers: jobs, read: { readLine() }, write: { line in
            pending.append(contentsOf: line.utf8)
            pending.append(UInt8(ascii: "\n"))
        }, flush: {
            FileHandle.standardOutput.write(Data(pending))
            pending.removeAll(keepingCapacity: true)
        })
    }
}

extension ServeCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time `serve --stdio` through a pipe against the same requests served in-process.",
            discussion: """
                For each strategy spec given (default: item-knn:mode=implicit and ease), starts \
                `timbre serve --stdio --strategy SPEC` as a child process on the catalog, sends --requests \
                requests (the catalog's users in turn, -n items each) keeping --window outstanding, and \
                reports requests per second and the latency percentiles, next to the in-process service's \
                throughput on the same requests (all cores, no JSON, no pipe) as the reference. The specs \
                are arguments, not --strategy: that option belongs to `serve` itself. Build with -c release.
                """)

        @OptionGroup var catalog: CatalogOptions
        @OptionGroup var feedback: FeedbackOptions
        @Argument(help: ArgumentHelp("Strategy specs to measure, one after the other.", valueName: "spec"))
        var strategies: [String] = ["item-knn:mode=implicit", "ease"]
        @Option(help: "Requests to send.")
        var requests = 20_000
        @Option(help: "Requests outstanding at once (an app's concurrency).")
        var window = 16
        @Option(name: .shortAndLong, help: "Items per list.")
        var n = 10
        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        struct Report: Encodable { let strategy: String; let stream: StreamMeasurement; let inProcessPerSecond: Double; let ratio: Double }

        func run() throws {
            let db = try catalog.connect()
            let reports = try strategies.map { try measure($0, db: db) }
            if format == .json { return try printJSON(reports) }
            for report in reports {
                let m = report.stream
                print(String(format: "%@: %d requests through the pipe (window %d): %.0f users/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d errors",
                             report.strategy, m.requests, m.window, m.requestsPerSecond, m.p50Milliseconds, m.p99Milliseconds, m.maxMilliseconds, m.errors))
                print(String(format: "  in-process service (same requests, %d cores): %.0f users/s; pipe / in-process = %.2f",
                             availableCores, report.inProcessPerSecond, report.ratio))
            }
        }

        func measure(_ strategy: String, db: PostgresConnection) throws -> Report {
            let choice = try StrategyChoice(strategy)
            let service = try RecommenderService(db: db, ratings: true, feedback: feedback.kind, defaultStrategy: choice,
                                             registry: hostStrategies, log: note)
            _ = try service.model(choice)
            let users = service.state.snapshot!.ratings.users.ids
            guard !users.isEmpty else { throw ValidationError("the catalog has no users") }
            let picked = (0..<requests).map { users[$0 % users.count] }
            let typed = picked.map { RecommendationRequest(user: $0, n: n) }
            _ = service.recommendAll(Array(typed.prefix(users.count))) // warm-up
            let start = Date()
            let direct = service.recommendAll(typed)
            let inProcess = Double(requests) / Date().timeIntervalSince(start)
            guard direct.allSatisfy({ (try? $0.get()) != nil }) else { throw ValidationError("the in-process service failed a request") }
            let lines = picked.enumerated().map { k, user in
                String(decoding: try! JSONEncoder().encode(["id": JSONValue.number(Double(k)), "user": .string(user), "n": .number(Double(n))]), as: UTF8.self)
            }
            var arguments = ["serve", "--stdio", "--strategy", strategy]
            if let database = catalog.database { arguments += ["--database", database] }
            if let kind = feedback.kind { arguments += ["--feedback", kind.rawValue] }
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let m = try measureStream(executable: executable, arguments: arguments, lines: lines, window: window)
            return Report(strategy: strategy, stream: m, inProcessPerSecond: inProcess, ratio: m.requestsPerSecond / inProcess)
        }
    }
}
