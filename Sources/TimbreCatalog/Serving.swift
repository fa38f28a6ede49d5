import Foundation
import TimbreCore

public struct UnknownUserError: Error, CustomStringConvertible {
    public let user: String
    public let target: String
    public var description: String { "no user '\(user)' in the catalog (\(target))" }
}

public struct Recommendation: Sendable, Codable, Equatable {
    public var rank: Int
    public var item: String
    public var title: String?
    public var score: Float

    public init(rank: Int, item: String, title: String?, score: Float) {
        self.rank = rank
        self.item = item
        self.title = title
        self.score = score
    }
}

extension PostgresConnection {
    /// The user's ratings as (item external id, value), or an error naming the user if the
    /// catalog has no such user.
    public func ratings(ofUser user: String) throws -> [(item: String, value: Float)] {
        let exists = try query("SELECT id FROM users WHERE external_id = $1", [user])
        guard exists.rowCount == 1 else { throw UnknownUserError(user: user, target: target) }
        let rows = try query("""
            SELECT i.external_id, r.value FROM ratings r JOIN items i ON i.id = r.item_id WHERE r.user_id = $1
            """, [exists.string(0, 0)])
        return (0..<rows.rowCount).map { (rows.string($0, 0)!, Float(rows.double($0, 1)!)) }
    }

    /// Titles of the given items (external ids); items without a title are absent.
    public func titles(ofItems ids: [String]) throws -> [String: String] {
        let rows = try query("SELECT external_id, title FROM items WHERE external_id = ANY($1::text[]) AND title IS NOT NULL",
                             [postgresArrayLiteral(ids)])
        var out: [String: String] = [:]
        for r in 0..<rows.rowCount { out[rows.string(r, 0)!] = rows.string(r, 1)! }
        return out
    }
}

/// A text[] literal for passing a list as one query parameter: every element quoted and escaped.
func postgresArrayLiteral(_ values: [String]) -> String {
    "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        .joined(separator: ",") + "}"
}

extension StoredModel {
    /// The user's profile in this model's index space. Items the model never saw are dropped
    /// (they cannot be scored); a user the model never saw gets `user: nil`.
    public func profile(user: String, ratings: [(item: String, value: Float)]) -> UserProfile {
        let pairs = ratings.compactMap { r in items.index(of: r.item).map { ($0, r.value) } }.sorted { $0.0 < $1.0 }
        return UserProfile(user: users.index(of: user), items: pairs.map(\.0), ratings: pairs.map(\.1))
    }

    /// The top `n` items the user has not rated, best first.
    public func recommend(_ profile: UserProfile, n: Int, scores: inout [Float]) -> [ScoredItem] {
        if scores.count != items.count { scores = [Float](repeating: -.infinity, count: items.count) }
        model.score(profile, into: &scores)
        return topN(scores, n: n, excluding: profile.items)
    }
}
