import Foundation
import TimbreCore

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
            let list = try query("""
                INSERT INTO recommendation_lists (name, strategy, model_id, list_length, rules)
                VALUES ($1, $2, $3::bigint, $4::integer, $5::jsonb) RETURNING id
                """, [name, strategy, String(modelID), String(listLength), rulesJSON])
            let listID = list.string(0, 0)!
            try copyRows("COPY recommendation_entries (list_id, user_id, rank, item_id, score, explanation) FROM STDIN", entries) {
                [listID, String($0.userID), String($0.rank), String($0.itemID), String($0.score), $0.explanationJSON]
            }
            return Int64(listID)!
        }
    }

    /// Every published list, newest first.
    public func publishedLists() throws -> [PublishedListSummary] {
        let rows = try query("""
            SELECT l.id, l.name, l.strategy, l.model_id, l.list_length,
                   (SELECT count(DISTINCT user_id) FROM recommendation_entries e WHERE e.list_id = l.id),
                   to_char(l.published_at, 'YYYY-MM-DD HH24:MI:SS'),
                   l.id = (SELECT max(id) FROM recommendation_lists m WHERE m.name = l.name)
            FROM recommendation_lists l ORDER BY l.id DESC
            """)
        return (0..<rows.rowCount).map { r in
            PublishedListSummary(id: Int64(rows.string(r, 0)!)!, name: rows.string(r, 1)!, strategy: rows.string(r, 2)!,
                                 modelID: rows.string(r, 3).flatMap { Int64($0) }, listLength: rows.int(r, 4)!,
                                 users: rows.int(r, 5)!, publishedAt: rows.string(r, 6)!, current: rows.string(r, 7) == "t")
        }
    }

    /// The user's entries of the current list `name`, by rank, read from `published_recommendations`
    /// (the app's contract) in one statement, so they all come from one list. An unknown list or
    /// user is an error; a known user without entries gets an empty list.
    public func publishedRecommendations(list name: String, user: String) throws -> (listID: Int64, entries: [PublishedRecommendation]) {
        let user = ExternalID.normalised(user)
        let list = try query("SELECT max(id) FROM recommendation_lists WHERE name = $1", [name])
        guard let listID = list.string(0, 0).flatMap({ Int64($0) }) else { throw UnknownListError(name: name, target: target) }
        guard try query("SELECT 1 FROM users WHERE external_id = $1", [user]).rowCount == 1 else {
            throw UnknownUserError(user: user, target: target)
        }
        let rows = try query("""
            SELECT list_id, rank, item_id, title, score, explanation::text FROM published_recommendations
            WHERE list_name = $1 AND user_id = $2 ORDER BY rank
            """, [name, user])
        let entries = (0..<rows.rowCount).map { r in
            PublishedRecommendation(rank: rows.int(r, 1)!, item: rows.string(r, 2)!, title: rows.string(r, 3),
                                    score: Float(rows.double(r, 4)!), explanationJSON: rows.string(r, 5))
        }
        // A list published between the two statements is the one the entries came from.
        return (rows.rowCount > 0 ? Int64(rows.string(0, 0)!)! : listID, entries)
    }

    /// Deletes all but the `keep` newest lists of each name (keep ≥ 1, so a name's current list
    /// always stays) in one transaction; returns the ids deleted.
    public func prunePublishedLists(keep: Int) throws -> [Int64] {
        precondition(keep >= 1)
        let rows = try query("""
            DELETE FROM recommendation_lists WHERE id IN (
                SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY name ORDER BY id DESC) AS age FROM recommendation_lists) r
                WHERE age > $1::integer)
            RETURNING id
            """, [String(keep)])
        return (0..<rows.rowCount).map { Int64(rows.string($0, 0)!)! }.sorted()
    }
}
