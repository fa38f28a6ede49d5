import Foundation
import TimbreCore
import TimbreInterchange

/// One row of a list to publish, in catalog ids.
public struct PublishedEntry: Sendable {
    public let userID: Int64
    public let rank: Int
    public let itemID: Int64
    public let score: Float
    /// A JSON array (see sql/006_published_lists.sql), or nil.
    public let explanationJSON: String?

    public init(userID: Int64, rank: Int, itemID: Int64, score: Float, explanationJSON: String?) {
        self.userID = userID
        self.rank = rank
        self.itemID = itemID
        self.score = score
        self.explanationJSON = explanationJSON
    }
}

/// A published list as `timbre lists list` shows it.
public struct PublishedListSummary: Sendable, Codable, Equatable {
    public let id: Int64
    public let name: String
    public let strategy: String
    public let modelID: Int64?
    public let listLength: Int
    public let users: Int
    public let publishedAt: String
    /// Whether it is the list of its name that `published_recommendations` serves.
    public let current: Bool
}

/// One entry as an app reads it from `published_recommendations`.
public struct PublishedRecommendation: Sendable, Codable, Equatable {
    public let rank: Int
    public let item: String
    public let title: String?
    public let score: Float
    /// The explanation as stored (a JSON array), or nil.
    public let explanationJSON: String?
}

public struct UnknownListError: Error, CustomStringConvertible {
    public let name: String
    public let target: String
    public var description: String { "no published list named '\(name)' in \(target) (see `timbre lists list`)" }
}

extension PostgresConnection {
    /// Writes a whole list in one transaction and returns its id: until it commits, readers of
    /// `published_recommendations` see the previous list of that name, afterwards this one.
    public func insertPublishedList(name: String, strategy: String, modelID: Int64, listLength: Int, rulesJSON: String,
                                    entries: [PublishedEntry]) throws -> Int64 {
        try transaction {
            let listID = try query("""
                INSERT INTO recommendation_lists (name, strategy, model_id, list_length, rules)
                VALUES ($1, $2, $3, $4, $5) RETURNING id
                """, [name, strategy, modelID, listLength, PostgresJSONB(rulesJSON)],
                purpose: "create published list '\(name)'").scalar(Int64.self)
            try copyRows("COPY recommendation_entries (list_id, user_id, rank, item_id, score, explanation) FROM STDIN", entries,
                         purpose: "write the entries of published list '\(name)'") {
                [String(listID), String($0.userID), String($0.rank), String($0.itemID), String($0.score), $0.explanationJSON]
            }
            return listID
        }
    }

    /// Every published list, newest first.
    public func publishedLists() throws -> [PublishedListSummary] {
        try query("""
            SELECT l.id, l.name, l.strategy, l.model_id, l.list_length,
                   (SELECT count(DISTINCT user_id) FROM recommendation_entries e WHERE e.list_id = l.id) AS users,
                   to_char(l.published_at, 'YYYY-MM-DD HH24:MI:SS') AS published,
                   l.id = (SELECT max(id) FROM recommendation_lists m WHERE m.name = l.name) AS current
            FROM recommendation_lists l ORDER BY l.id DESC
            """, purpose: "list the published lists").map { row in
            PublishedListSummary(id: try row.int64("id"), name: try row.string("name"), strategy: try row.string("strategy"),
                                 modelID: try row.optionalInt64("model_id"), listLength: try row.int("list_length"),
                                 users: try row.int("users"), publishedAt: try row.string("published"), current: try row.bool("current"))
        }
    }

    /// The user's entries of the current list `name`, by rank, read from `published_recommendations`
    /// (the app's contract) in one statement, so they all come from one list. An unknown list or
    /// user is an error; a known user without entries gets an empty list.
    public func publishedRecommendations(list name: String, user: String) throws -> (listID: Int64, entries: [PublishedRecommendation]) {
        let user = ExternalID.normalised(user)
        let newest = try query("SELECT max(id) FROM recommendation_lists WHERE name = $1", [name],
                               purpose: "find published list '\(name)'").scalar(Int64?.self)
        guard let listID = newest else { throw UnknownListError(name: name, target: target) }
        guard try query("SELECT 1 FROM users WHERE external_id = $1", [user], purpose: "look up user '\(user)'").rowCount == 1 else {
            throw UnknownUserError(user: user, target: target)
        }
        let rows = try query("""
            SELECT list_id, rank, item_id, title, score, explanation::text AS explanation FROM published_recommendations
            WHERE list_name = $1 AND user_id = $2 ORDER BY rank
            """, [name, user], purpose: "read published list '\(name)' for user '\(user)'")
        let entries = try rows.map { row in
            PublishedRecommendation(rank: try row.int("rank"), item: try row.string("item_id"), title: try row.optionalString("title"),
                                    score: try row.float("score"), explanationJSON: try row.optionalString("explanation"))
        }
        // A list published between the two statements is the one the entries came from.
        return (try rows.first?.int64("list_id") ?? listID, entries)
    }

    /// Deletes all but the `keep` newest lists of each name (keep ≥ 1, so a name's current list
    /// always stays) in one transaction; returns the ids deleted.
    public func prunePublishedLists(keep: Int) throws -> [Int64] {
        precondition(keep >= 1)
        return try query("""
            DELETE FROM recommendation_lists WHERE id IN (
                SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY name ORDER BY id DESC) AS age FROM recommendation_lists) r
                WHERE age > $1)
            RETURNING id
            """, [keep], purpose: "prune published lists").map { try $0.int64("id") }.sorted()
    }
}
