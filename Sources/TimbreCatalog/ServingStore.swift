import Foundation
import TimbreCore

/// What serving needs to know about one catalog item besides its ratings.
public struct CatalogItemDetails: Sendable {
    public let catalogID: Int64
    public let externalID: String
    public let title: String?
    /// The item's `metadata` jsonb as text.
    public let metadataJSON: String
    /// The track's length from its audio features; nil for items without audio.
    public let durationSeconds: Float?

    public init(catalogID: Int64, externalID: String, title: String?, metadataJSON: String = "{}", durationSeconds: Float? = nil) {
        self.catalogID = catalogID
        self.externalID = externalID
        self.title = title
        self.metadataJSON = metadataJSON
        self.durationSeconds = durationSeconds
    }
}

/// Items no list may contain: for everyone, and per user (external ids).
public struct CatalogExclusions: Sendable, Equatable {
    public var everyone: Set<String> = []
    public var byUser: [String: Set<String>] = [:]

    public init(everyone: Set<String> = [], byUser: [String: Set<String>] = [:]) {
        self.everyone = everyone
        self.byUser = byUser
    }
}

/// The catalog as a serving process holds it: every item's details and the exclusions, and
/// (for batches, publishing and the stream mode) the ratings, all read in one consistent state.
public struct ServingState: Sendable {
    /// Aligned with `snapshot.ratings.items` when the ratings were loaded (both ordered by catalog id).
    public let items: [CatalogItemDetails]
    public let exclusions: CatalogExclusions
    public let snapshot: CatalogSnapshot?
    /// What a liked item counts as: the catalog's highest rating value with ratings, the median play
    /// total with plays (1 when there is none).
    public let highestRating: Float
    /// With ratings: the catalog's scale, lowest…highest (a shown rating estimate is held to it).
    public let ratingScale: RatingScale?
    /// The feedback this state (and every model it serves) is on.
    public let feedback: FeedbackKind
}

extension PostgresConnection {
    /// Items (ordered by catalog id), exclusions and, with `ratings`, the snapshot of `feedback`
    /// (nil: what the catalog has), in one REPEATABLE READ transaction.
    public func loadServingState(ratings: Bool, feedback requested: FeedbackKind? = nil) throws -> ServingState {
        try readConsistently {
            let feedback = try feedbackKind(requested)
            var items: [CatalogItemDetails] = []
            try copyOutBinary("""
                SELECT i.id, i.external_id, i.title, i.metadata::text, a.duration_s::real
                FROM items i LEFT JOIN audio_features a ON a.item_id = i.id ORDER BY i.id
                """, purpose: "load the items to serve") { row in
                items.append(CatalogItemDetails(catalogID: try row.int64(), externalID: try row.text(), title: try row.optionalText(),
                                                metadataJSON: try row.text(), durationSeconds: try row.optionalFloat32()))
            }
            var exclusions = CatalogExclusions()
            try copyOutBinary("""
                SELECT u.external_id, i.external_id FROM excluded_items x
                JOIN items i ON i.id = x.item_id LEFT JOIN users u ON u.id = x.user_id
                """, purpose: "load the excluded items") { row in
                let user = try row.optionalText(), item = try row.text()
                if let user { exclusions.byUser[user, default: []].insert(item) } else { exclusions.everyone.insert(item) }
            }
            let liked = try likedValue(feedback: feedback)
            return ServingState(items: items, exclusions: exclusions, snapshot: ratings ? try loadSnapshot(feedback: feedback, times: false) : nil,
                                highestRating: liked, ratingScale: feedback == .ratings ? try ratingScale() : nil, feedback: feedback)
        }
    }

    /// Adds exclusions (user nil: for everyone) in one transaction; an unknown user or item
    /// refuses all of them, naming it. Returns how many were new.
    @discardableResult
    public func addExclusions(_ pairs: [(user: String?, item: String)], reason: String?) throws -> Int {
        try transaction {
            try execute("CREATE TEMP TABLE stage_exclusions (user_ext text, item_ext text) ON COMMIT DROP", purpose: "stage exclusions")
            try copyRows("COPY stage_exclusions FROM STDIN", pairs, purpose: "stage exclusions") { [$0.user, $0.item] }
            let unknown = try query("""
                SELECT s.user_ext, s.item_ext, i.id IS NULL AS unknown_item FROM stage_exclusions s
                LEFT JOIN items i ON i.external_id = s.item_ext LEFT JOIN users u ON u.external_id = s.user_ext
                WHERE i.id IS NULL OR (s.user_ext IS NOT NULL AND u.id IS NULL) LIMIT 1
                """, purpose: "check the exclusions' users and items")
            if let row = unknown.first {
                if try row.bool("unknown_item") { throw UnknownItemsError(items: [try row.string("item_ext")], target: target) }
                throw UnknownUserError(user: try row.string("user_ext"), target: target)
            }
            return try query("""
                INSERT INTO excluded_items (user_id, item_id, reason)
                SELECT DISTINCT u.id, i.id, $1 FROM stage_exclusions s JOIN items i ON i.external_id = s.item_ext
                LEFT JOIN users u ON u.external_id = s.user_ext
                ON CONFLICT DO NOTHING
                """, [reason], purpose: "store exclusions").affectedRows
        }
    }
}
