import TimbreCore

/// The catalog holds both ratings and plays and no `--feedback` said which to use.
public struct FeedbackChoiceError: Error, CustomStringConvertible {
    public let description: String
}

extension PostgresConnection {
    /// The feedback to train, evaluate and serve on: `requested` when given (the catalog must have
    /// some of it), else what the catalog has. A catalog with both is refused rather than guessed:
    /// ratings and play counts rank differently, and a report must not silently switch between
    /// them when a first plays file is imported into a rated catalog. A catalog with neither
    /// counts as ratings (the matrix is empty either way).
    public func feedbackKind(_ requested: FeedbackKind?) throws -> FeedbackKind {
        let has = try query("SELECT EXISTS (SELECT 1 FROM ratings) AS ratings, EXISTS (SELECT 1 FROM play_totals) AS plays",
                            purpose: "find which feedback the catalog has").one()
        let ratings = try has.bool("ratings"), plays = try has.bool("plays")
        switch requested {
        case .ratings? where !ratings && plays:
            throw FeedbackChoiceError(description: "--feedback ratings: \(target) has no ratings, only plays (use --feedback plays)")
        case .plays? where !plays:
            throw FeedbackChoiceError(description: "--feedback plays: \(target) has no plays (import some with `timbre import --plays FILE`)")
        case let requested?:
            return requested
        case nil:
            if ratings && plays {
                throw FeedbackChoiceError(description: "\(target) has both ratings and plays: choose one with --feedback ratings or --feedback plays")
            }
            return plays ? .plays : .ratings
        }
    }
}
