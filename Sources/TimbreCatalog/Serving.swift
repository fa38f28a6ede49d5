import Foundation
import TimbreCore
import TimbreInterchange

public struct UnknownUserError: Error, CustomStringConvertible {
    public let user: String
    public let target: String
    public var description: String { "no user '\(user)' in the catalog (\(target))" }
    public init(user: String, target: String) {
        self.user = user
        self.target = target
    }
}

/// One entry of a served list.
public struct Recommendation: Sendable, Codable, Equatable {
    public var rank: Int
    public var item: String
    public var title: String?
    public var score: Float
    /// With `explain`: the user's rated items that contributed most, largest share first.
    public var explanation: [ExplanationEntry]?

    public init(rank: Int, item: String, title: String?, score: Float, explanation: [ExplanationEntry]? = nil) {
        self.rank = rank
        self.item = item
        self.title = title
        self.score = score
        self.explanation = explanation
    }
}

/// "Because you rated X": one contributing item and its share of the score.
public struct ExplanationEntry: Sendable, Codable, Equatable {
    public var item: String
    public var title: String?
    public var share: Float

    public init(item: String, title: String?, share: Float) {
        self.item = item
        self.title = title
        self.share = share
    }
}

extension PostgresConnection {
    /// The user's ratings as (item external id, value), or an error naming the user if the
    /// catalog has no such user.
    public func ratings(ofUser user: String) throws -> [(item: String, value: Float)] {
        try history(ofUser: user, feedback: .ratings)
    }

    /// The user's current ratings, or play totals, as (item external id, value): what serving
    /// builds the profile from, so feedback added after training counts. An error names the
    /// user if the catalog has no such user.
    public func history(ofUser user: String, feedback: FeedbackKind) throws -> [(item: String, value: Float)] {
        let user = ExternalID.normalised(user)
        let exists = try query("SELECT id FROM users WHERE external_id = $1", [user], purpose: "look up user '\(user)'")
        guard let found = exists.first else { throw UnknownUserError(user: user, target: target) }
        let userID = try found.int64("id")
        let sql = switch feedback {
        case .ratings: "SELECT i.external_id, r.value FROM ratings r JOIN items i ON i.id = r.item_id WHERE r.user_id = $1"
        case .plays: "SELECT i.external_id, p.plays::real AS value FROM play_totals p JOIN items i ON i.id = p.item_id WHERE p.user_id = $1"
        }
        return try query(sql, [userID], purpose: "load the \(feedback.rawValue) of user '\(user)'").map { row in
            (try row.string("external_id"), try row.float("value"))
        }
    }

    /// Titles of the given items (external ids); items without a title are absent.
    public func titles(ofItems ids: [String]) throws -> [String: String] {
        let ids = ids.map(ExternalID.normalised)
        let rows = try query("SELECT external_id, title FROM items WHERE external_id = ANY($1) AND title IS NOT NULL", [ids],
                             purpose: "load item titles")
        var out: [String: String] = [:]
        for row in rows { out[try row.string("external_id")] = try row.string("title") }
        return out
    }
}

public struct UnknownItemsError: Error, CustomStringConvertible {
    public let items: [String]
    public let target: String
    public var description: String { "no item \(items.map { "'\($0)'" }.joined(separator: ", ")) in the catalog (\(target))" }
    public init(items: [String], target: String) {
        self.items = items
        self.target = target
    }
}

extension PostgresConnection {
    /// An anonymous listener's history from items they like: with ratings, each as a rating of
    /// the catalog's highest rating value (1 in a catalog without ratings), so explicit strategies
    /// read them as liked and implicit ones as consumed; with plays, each as the median play
    /// total of the catalog's pairs (a typical listened-to item, 1 without plays). Every id must
    /// be a catalog item.
    public func likedItems(_ ids: [String], feedback: FeedbackKind = .ratings) throws -> [(item: String, value: Float)] {
        let ids = ids.map(ExternalID.normalised)
        let found = try query("SELECT external_id FROM items WHERE external_id = ANY($1)", [ids], purpose: "look up liked items")
        let known = Set(try found.map { try $0.string("external_id") })
        let missing = ids.filter { !known.contains($0) }
        guard missing.isEmpty else { throw UnknownItemsError(items: missing, target: target) }
        let top = try likedValue(feedback: feedback)
        return Array(Set(ids)).sorted().map { ($0, top) }
    }

    /// What one liked item counts as (see `likedItems`).
    public func likedValue(feedback: FeedbackKind) throws -> Float {
        let sql = switch feedback {
        case .ratings: "SELECT coalesce(max(value), 1)::real FROM ratings"
        case .plays: "SELECT coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY plays), 1)::real FROM play_totals"
        }
        return try query(sql, purpose: "find what a liked item counts as").scalar(Float.self)
    }

    /// The catalog's ratings, lowest…highest (nil with no ratings): the scale predictions and
    /// rating-valued scores are held to when shown.
    public func ratingScale() throws -> RatingScale? {
        let row = try query("SELECT min(value) AS lowest, max(value) AS highest FROM ratings", purpose: "read the rating scale").one()
        guard let lowest = try row.optionalFloat("lowest"), let highest = try row.optionalFloat("highest") else { return nil }
        return lowest...highest
    }
}

extension StoredModel {
    /// The user's profile in this model's index space. Items the model never saw are dropped
    /// (they cannot be scored); a user the model never saw gets `user: nil`.
    /// `user` nil: an anonymous listener (e.g. `recommend --like`), served like a new user.
    public func profile(user: String?, ratings: [(item: String, value: Float)]) -> UserProfile {
        let user = user.map(ExternalID.normalised)
        let pairs = ratings.compactMap { r in items.index(of: r.item).map { ($0, r.value) } }.sorted { $0.0 < $1.0 }
        return UserProfile(user: user.flatMap(users.index(of:)), items: pairs.map(\.0), ratings: pairs.map(\.1))
    }

    /// The top `n` items the user has not rated, best first.
    public func recommend(_ profile: UserProfile, n: Int, scores: inout [Float]) -> [ScoredItem] {
        if scores.count != items.count { scores = [Float](repeating: -.infinity, count: items.count) }
        model.score(profile, into: &scores)
        return topN(scores, n: n, excluding: profile.items)
    }
}
