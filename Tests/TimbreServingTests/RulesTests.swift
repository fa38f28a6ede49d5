import Foundation
import Testing
import TimbreCatalog
import TimbreCore
@testable import TimbreServing

/// A directory of items `a, b, …` (catalog ids 1, 2, …) with the given metadata and durations.
func directory(_ items: [(id: String, metadata: String, duration: Float?)], titles: [String?]? = nil) throws -> ItemDirectory {
    try ItemDirectory(items.enumerated().map { k, item in
        CatalogItemDetails(catalogID: Int64(k + 1), externalID: item.id, title: titles?[k] ?? "Title \(item.id)",
                           metadataJSON: item.metadata, durationSeconds: item.duration)
    })
}

struct RuleStageTests {
    /// Scores a=8 … h=1; a is rated. c is excluded, d is not rock, e is a 10 s jingle, f shares b's
    /// album: each removed by its own rule, and the list fills from g and h (g has no audio).
    @Test func listFillsFromTheNextBestAndCountsEachRule() throws {
        let dir = try directory([
            ("a", #"{"genre":"rock","album":"X"}"#, 200), ("b", #"{"genre":"rock","album":"X"}"#, 200),
            ("c", #"{"genre":"rock","album":"Y"}"#, 200), ("d", #"{"genre":"pop","album":"Z"}"#, 200),
            ("e", #"{"genre":"rock","album":"W"}"#, 10), ("f", #"{"genre":"rock","album":"X"}"#, 200),
            ("g", #"{"genre":"rock"}"#, nil), ("h", #"{"genre":["jazz","rock"],"album":"V"}"#, 95),
        ])
        let rules = try RecommendationRules(excludedItems: ["c"], where: ["genre=rock"], maxPer: ["album=1"], minDuration: 30)
        let compiled = CompiledRules(rules, directory: dir, directoryIndex: (0..<8).map { Int32($0) }, alwaysExcluded: [])
        let scores: [Float] = [8, 7, 6, 5, 4, 3, 2, 1]
        let (three, removed) = compiled.rank(scores, rated: [0], n: 3)
        #expect(three.map(\.item) == [1, 6, 7])
        #expect(removed == RuleCounts(excluded: 1, where: 1, minDuration: 1, maxPer: 1))
        // Only the candidates ahead of the list's last item count: for n = 1 that is none.
        let (one, removedForOne) = compiled.rank(scores, rated: [0], n: 1)
        #expect(one.map(\.item) == [1] && removedForOne.total == 0)
        // A user's own exclusions count as excluded.
        let (mine, removedForMe) = compiled.rank(scores, rated: [0], n: 2, userExcluded: [6])
        #expect(mine.map(\.item) == [1, 7] && removedForMe.excluded == 2)
        // Not enough candidates: the list is shorter and every removal is counted.
        let (all, removedAll) = compiled.rank(scores, rated: [0], n: 8)
        #expect(all.count == 3 && removedAll.total == 4)
    }

    /// Against a naive reference: rank everything with a full sort, then walk it applying the
    /// rules in order. Many items fail, so the candidate window has to grow several times.
    @Test(arguments: [1, 7, 40])
    func matchesAFullSortReference(n: Int) throws {
        var rng = SeededGenerator(seed: UInt64(n))
        let count = 600
        let albums = ["A", "B", "C", "D", "E"]
        let items = (0..<count).map { k -> (id: String, metadata: String, duration: Float?) in
            let genre = Int.random(in: 0..<10, using: &rng) == 0 ? "rock" : "pop"
            return ("i\(k)", #"{"genre":"\#(genre)","album":"\#(albums.randomElement(using: &rng)!)"}"#,
                    Bool.random(using: &rng) ? Float.random(in: 0..<300, using: &rng) : nil)
        }
        let dir = try directory(items)
        let excluded = (0..<count).filter { _ in Int.random(in: 0..<8, using: &rng) == 0 }.map { "i\($0)" }
        let rules = try RecommendationRules(excludedItems: excluded, where: ["genre=rock"], maxPer: ["album=2"], minDuration: 60)
        let compiled = CompiledRules(rules, directory: dir, directoryIndex: (0..<count).map { Int32($0) }, alwaysExcluded: [])
        // Rounded scores give ties, which must break by lower index as topN does.
        let scores = (0..<count).map { _ in Float(Int.random(in: 0..<50, using: &rng)) }
        let rated = (0..<Int32(count)).filter { _ in Int.random(in: 0..<5, using: &rng) == 0 }
        let (got, gotRemoved) = compiled.rank(scores, rated: rated, n: n)

        var expected: [Int32] = [], expectedRemoved = RuleCounts(), perAlbum: [String: Int] = [:]
        let order = (0..<Int32(count)).filter { !rated.contains($0) }.sorted { scores[Int($0)] > scores[Int($1)] || (scores[Int($0)] == scores[Int($1)] && $0 < $1) }
        for i in order where expected.count < n {
            let metadata = dir.metadata[Int(i)]
            if excluded.contains("i\(i)") { expectedRemoved.excluded += 1; continue }
            if metadata["genre"] != .string("rock") { expectedRemoved.where += 1; continue }
            if let d = dir.durations[Int(i)], d < 60 { expectedRemoved.minDuration += 1; continue }
            guard case let .string(album)? = metadata["album"] else { Issue.record("no album"); continue }
            if perAlbum[album, default: 0] >= 2 { expectedRemoved.maxPer += 1; continue }
            perAlbum[album, default: 0] += 1
            expected.append(i)
        }
        #expect(got.map(\.item) == expected)
        #expect(gotRemoved == expectedRemoved)
    }

    @Test func conditionsCompareScalarsAndArrayElements() throws {
        let metadata: [String: JSONValue] = ["year": .number(1995), "genres": .array([.string("Comedy"), .string("Drama")]),
                                             "live": .bool(true), "album": .string("Nevermind")]
        #expect(try MetadataCondition(parsing: "year=1995").matches(metadata))
        #expect(!(try MetadataCondition(parsing: "year=1996").matches(metadata)))
        #expect(try MetadataCondition(parsing: "genres=Drama").matches(metadata))
        #expect(!(try MetadataCondition(parsing: "genres=Horror").matches(metadata)))
        #expect(try MetadataCondition(parsing: "live=true").matches(metadata))
        #expect(try MetadataCondition(parsing: "album=Nevermind").matches(metadata))
        // A value may itself hold '='; a missing field fails.
        #expect(try MetadataCondition(parsing: "title=a=b") == MetadataCondition(key: "title", value: "a=b"))
        #expect(!(try MetadataCondition(parsing: "artist=Nirvana").matches(metadata)))
        #expect(throws: RuleError.self) { try MetadataCondition(parsing: "genres") }
        #expect(throws: RuleError.self) { try MetadataCondition(parsing: "=x") }
        #expect(throws: RuleError.self) { try DiversityCap(parsing: "album=0") }
        #expect(throws: RuleError.self) { try DiversityCap(parsing: "album") }
        #expect(throws: RuleError.self) { try RecommendationRules(excludedItems: [], where: [], maxPer: [], minDuration: -1) }
        #expect(try DiversityCap(parsing: "album=2") == DiversityCap(key: "album", limit: 2))
    }
}

struct ItemDirectoryTests {
    @Test func itemsResolveByIdThenExactTitle() throws {
        let dir = try directory([("1", "{}", nil), ("2", "{}", nil), ("3", "{}", nil), ("4", #"{"artist":"Koji Kondo"}"#, 60)],
                                titles: ["Overworld", "Dungeon", "Dungeon", "2"])
        #expect(try dir.resolve("1") == 0)
        #expect(try dir.resolve("Overworld") == 0)
        // An id wins over a title that spells it.
        #expect(try dir.resolve("2") == 1)
        #expect(try dir.resolve("overworld") == nil)
        #expect(throws: AmbiguousTitleError(title: "Dungeon", candidates: ["2", "3"])) { try dir.resolve("Dungeon") }
        // Exact title first, then prefixes, then anything containing it (metadata too).
        #expect(dir.search("dungeon", limit: 10) == [1, 2])
        #expect(dir.search("kondo", limit: 10) == [3])
        #expect(dir.search("o", limit: 2).count == 2)
    }
}

struct ExplanationShareTests {
    @Test func sharesAreTermsOverTheirSum() {
        let shares = largestShares([(item: 5, term: 2), (item: 3, term: 6), (item: 9, term: 0)], limit: 2)
        #expect(shares == [Contribution(item: 3, share: 0.75), Contribution(item: 5, share: 0.25)])
        #expect(largestShares([(item: 1, term: 0)], limit: 3).isEmpty)
        #expect(largestShares([(item: 1, term: 1)], limit: 0).isEmpty)
    }
}

struct OrderedPipelineTests {
    /// Workers finish out of order (random delays); answers must still come in input order, each once.
    @Test(arguments: [(1, 1), (3, 4), (4, 64)])
    func answersKeepTheInputOrder(workers: Int, window: Int) {
        let lines = (0..<300).map { "request \($0)" }
        let source = LineSource(lines)
        var written: [String] = []
        var flushes = 0
        let count = orderedPipeline(workers: workers, window: window, read: { source.next() }, process: { number, line in
            usleep(UInt32.random(in: 0..<300))
            return "\(number):\(line)"
        }, write: { written.append($0) }, flush: { flushes += 1 })
        #expect(count == lines.count)
        #expect(written == lines.enumerated().map { "\($0 + 1):\($1)" })
        #expect(flushes >= 1 && flushes <= lines.count)
    }

    @Test func emptyInputEndsAtOnce() {
        var written: [String] = []
        #expect(orderedPipeline(read: { nil }, process: { _, l in l }, write: { written.append($0) }, flush: {}) == 0)
        #expect(written.isEmpty)
    }
}

final class LineSource: @unchecked Sendable {
    private var lines: [String]
    private var position = 0
    init(_ lines: [String]) { self.lines = lines }
    /// Called from the pipeline's one reader thread only.
    func next() -> String? {
        defer { position += 1 }
        return position < lines.count ? lines[position] : nil
    }
}

struct StreamRequestTests {
    func fields(_ json: String) throws -> [String: JSONValue] {
        guard case let .object(f) = try JSONValue.parse(json) else { throw ServingRequestError("not an object") }
        return f
    }

    @Test func requestsReadRecommendsOptions() throws {
        let r = try StreamProtocol.request(try fields(#"""
            {"user": 196, "n": 5, "strategy": "item-knn", "param": ["mode=implicit"], "where": ["genres=Comedy"],
             "max-per": ["year=2"], "min-duration": 30, "exclude-items": ["50"], "explain": true}
            """#))
        #expect(r.user == "196" && r.n == 5 && r.explain == StreamProtocol.defaultExplanationLength)
        #expect(r.strategy == (try StrategyChoice("item-knn", parameters: ["mode=implicit"])))
        #expect(r.rules == (try RecommendationRules(excludedItems: ["50"], where: ["genres=Comedy"], maxPer: ["year=2"], minDuration: 30)))
        let liked = try StreamProtocol.request(try fields(#"{"like": ["Star Wars", "1"], "explain": 2}"#))
        #expect(liked.user == nil && liked.liked == ["Star Wars", "1"] && liked.n == 10 && liked.explain == 2 && liked.strategy == nil)
    }

    @Test(arguments: [
        (#"{"users": "1"}"#, "unknown key 'users'"),
        (#"{"user": "1", "n": 0}"#, "'n' must be a whole number"),
        (#"{"user": "1", "n": 2.5}"#, "'n' must be a whole number"),
        (#"{"user": true}"#, "'user' must be a string"),
        (#"{"user": "1", "like": "x"}"#, "'like' must be an array"),
        (#"{"user": "1", "where": ["genres"]}"#, "--where takes KEY=VALUE"),
        (#"{"user": "1", "param": ["k=3"]}"#, "need 'strategy'"),
        (#"{"user": "1", "explain": "yes"}"#, "'explain' must be"),
    ])
    func badRequestsNameTheKey(json: String, message: String) throws {
        do {
            _ = try StreamProtocol.request(try fields(json))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func answersPutTheIdFirst() {
        #expect(StreamProtocol.line(id: .string("a\"b"), body: Data(#"{"x":1}"#.utf8)) == #"{"id":"a\"b","x":1}"#)
        #expect(StreamProtocol.line(id: .number(7), body: Data(#"{"x":1}"#.utf8)) == #"{"id":7,"x":1}"#)
        #expect(StreamProtocol.line(id: nil, body: Data(#"{"x":1}"#.utf8)) == #"{"x":1}"#)
    }
}
