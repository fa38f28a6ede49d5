import Foundation
import TimbreCatalog
import TimbreCore

/// The line protocol of `timbre serve --stdio`: one JSON object per request line, keys named
/// like `recommend`'s long options; one JSON object per answer line, in request order.
///
///     {"id": 1, "user": "196", "n": 10, "strategy": "item-knn:mode=implicit", "explain": 3}
///     {"id": "b", "like": ["Star Wars (1977)"], "where": ["genres=Sci-Fi"], "max-per": ["year=1"]}
///
/// Keys: `id` (any JSON, echoed), `user` or `like` (ids or exact titles), `n`, `strategy`,
/// `param` (["k=20", …]), `embedding-model` (id, latest or none), `exclude-items` ([ids]),
/// `where`, `max-per` ([KEY=VALUE]/[KEY=N]), `min-duration` (seconds), `explain` (true or a count).
/// An answer is `RecommendationList` with `id` first, or `{"id": …, "error": "…"}`.
public struct StreamProtocol: Sendable {
    public let service: RecommenderService
    public static let knownKeys: Set<String> = [
        "id", "user", "like", "n", "strategy", "param", "embedding-model", "exclude-items", "where", "max-per", "min-duration", "explain",
    ]
    /// Contributing items per entry for `"explain": true`.
    public static let defaultExplanationLength = 3

    public init(service: RecommenderService) { self.service = service }

    /// The answer line to one request line (never throws: a bad request is an error answer).
    public func answer(_ line: String, lineNumber: Int) -> String {
        var id: JSONValue?
        do {
            guard case let .object(fields) = try? JSONValue.parse(line) else {
                throw ServingRequestError("not a JSON object")
            }
            id = fields["id"]
            let list = try service.recommend(try Self.request(fields))
            return Self.line(id: id, body: try Self.encoder.encode(list))
        } catch {
            struct Failure: Encodable { let error: String }
            let text = "line \(lineNumber): \(error)"
            return Self.line(id: id, body: (try? Self.encoder.encode(Failure(error: text))) ?? Data(#"{"error":"unencodable error"}"#.utf8))
        }
    }

    nonisolated(unsafe) static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// `body` (a JSON object) with `"id"` put first when there is one.
    static func line(id: JSONValue?, body: Data) -> String {
        let text = String(decoding: body, as: UTF8.self)
        guard let id, let idText = try? String(decoding: encoder.encode(id), as: UTF8.self) else { return text }
        return text == "{}" ? "{\"id\":\(idText)}" : "{\"id\":\(idText)," + text.dropFirst()
    }

    /// A request from a line's fields, each checked with a message naming the key.
    public static func request(_ fields: [String: JSONValue]) throws -> RecommendationRequest {
        if let unknown = fields.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw ServingRequestError("unknown key '\(unknown)' (known: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        func strings(_ key: String) throws -> [String] {
            switch fields[key] {
            case nil: return []
            case let .array(values)?:
                return try values.map {
                    guard let text = $0.scalarText else { throw ServingRequestError("'\(key)' must be an array of strings") }
                    return text
                }
            default: throw ServingRequestError("'\(key)' must be an array of strings")
            }
        }
        var user: String?
        switch fields["user"] {
        case nil: break
        // A numeric id (`"user": 196`) is taken as its text.
        case let .string(text)?: user = text
        case let value? where { if case .number = value { true } else { false } }(): user = value.scalarText
        default: throw ServingRequestError("'user' must be a string (the user's external id)")
        }
        var n = 10
        if let value = fields["n"] {
            guard case let .number(x) = value, x == x.rounded(), x >= 1, x <= 10_000 else {
                throw ServingRequestError("'n' must be a whole number from 1 to 10000")
            }
            n = Int(x)
        }
        var strategy: StrategyChoice?
        let embeddings: EmbeddingChoice
        switch fields["embedding-model"] {
        case nil: embeddings = .latest
        case let value?:
            guard let text = value.scalarText, let choice = EmbeddingChoice(text) else {
                throw ServingRequestError("'embedding-model' takes a model id, latest or none")
            }
            embeddings = choice
        }
        let parameters = try strings("param")
        switch fields["strategy"] {
        case nil:
            guard parameters.isEmpty, fields["embedding-model"] == nil else {
                throw ServingRequestError("'param' and 'embedding-model' need 'strategy'")
            }
        case let .string(text)?: strategy = try StrategyChoice(text, parameters: parameters, embeddings: embeddings)
        default: throw ServingRequestError("'strategy' must be a string (a strategy spec)")
        }
        var minDuration: Double?
        if let value = fields["min-duration"] {
            guard case let .number(x) = value else { throw ServingRequestError("'min-duration' must be a number of seconds") }
            minDuration = x
        }
        var explain = 0
        switch fields["explain"] {
        case nil, .bool(false)?: break
        case .bool(true)?: explain = defaultExplanationLength
        case let .number(x)? where x == x.rounded() && x >= 0 && x <= 100: explain = Int(x)
        default: throw ServingRequestError("'explain' must be true, false or a count from 0 to 100")
        }
        let rules = try RecommendationRules(excludedItems: try strings("exclude-items"), where: try strings("where"),
                                            maxPer: try strings("max-per"), minDuration: minDuration)
        return RecommendationRequest(user: user, liked: try strings("like"), n: n, strategy: strategy, rules: rules, explain: explain)
    }

    /// Serves `read`'s lines until it returns nil, answering on all cores in request order.
    /// Returns the number of requests answered.
    @discardableResult
    public func run(workers: Int = availableCores, read: @escaping @Sendable () -> String?,
                    write: (String) -> Void, flush: () -> Void) -> Int {
        let session = self
        return orderedPipeline(workers: workers, read: read, process: { session.answer($1, lineNumber: $0) }, write: write, flush: flush)
    }
}
