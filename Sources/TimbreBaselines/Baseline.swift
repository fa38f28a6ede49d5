import TimbreCore

/// How the baseline r̂ = μ + b_u + b_i is fitted: damped (regularised) offsets by alternating
/// least squares, as Surprise's BaselineOnly does; one iteration is LensKit's Bias. The values
/// here are the defaults of the `bias` strategy and the baseline neighbourhood models centre on.
public struct BaselineFit: Sendable, Equatable {
    /// Shrinks item offsets of rarely rated items towards 0.
    public var itemDamping: Float = 5
    /// Shrinks user offsets of users with few ratings towards 0.
    public var userDamping: Float = 5
    /// Alternating updates of user and item offsets.
    public var iterations = 10

    public init() {}

    public func fit(_ m: RatingMatrix) -> BaselineModel {
        let mean = m.globalMean
        var userOffset = [Float](repeating: 0, count: m.userCount)
        var itemOffset = [Float](repeating: 0, count: m.itemCount)
        for _ in 0..<iterations {
            for u in 0..<Int32(m.userCount) {
                var sum: Float = 0
                for k in m.byUser.range(u) { sum += m.byUser.values[k] - mean - itemOffset[Int(m.byUser.columns[k])] }
                userOffset[Int(u)] = sum / (userDamping + Float(m.byUser.count(u)))
            }
            for i in 0..<Int32(m.itemCount) {
                var sum: Float = 0
                for k in m.byItem.range(i) { sum += m.byItem.values[k] - mean - userOffset[Int(m.byItem.columns[k])] }
                itemOffset[Int(i)] = sum / (itemDamping + Float(m.byItem.count(i)))
            }
        }
        return BaselineModel(mean: mean, userDamping: userDamping, itemOffset: itemOffset)
    }
}

/// A fitted baseline: μ, the item offsets b_i, and the damping to compute a user's b_u from their
/// profile (not stored, so a new user, or a user's newest ratings, count without retraining).
/// The `bias` strategy's model, and what neighbourhood models centre ratings on.
public struct BaselineModel: TrainedModel {
    public let mean: Float
    public let userDamping: Float
    public let itemOffset: [Float]

    public init(mean: Float, userDamping: Float, itemOffset: [Float]) {
        self.mean = mean
        self.userDamping = userDamping
        self.itemOffset = itemOffset
    }

    public func userOffset(_ user: UserProfile) -> Float {
        userOffset(items: user.items[...], ratings: user.ratings[...])
    }

    /// The same offset from a user's row of a rating matrix (neighbourhood models centre every
    /// training user with it).
    @inlinable public func userOffset(items: ArraySlice<Int32>, ratings: ArraySlice<Float>) -> Float {
        var sum: Float = 0
        for (item, rating) in zip(items, ratings) where Int(item) < itemOffset.count {
            sum += rating - mean - itemOffset[Int(item)]
        }
        return sum / (userDamping + Float(items.count))
    }

    /// μ + b_i: the baseline of `item` before the user's offset is added.
    @inlinable public func itemBaseline(_ item: Int32) -> Float {
        Int(item) < itemOffset.count ? mean + itemOffset[Int(item)] : mean
    }

    public func score(_ user: UserProfile, into scores: inout [Float]) {
        let base = mean + userOffset(user)
        for i in itemOffset.indices { scores[i] = base + itemOffset[i] }
    }

    public var scoresAreRatings: Bool { true }

    public func predict(_ user: UserProfile, item: Int32) -> Float? {
        guard item >= 0, Int(item) < itemOffset.count else { return nil }
        return mean + userOffset(user) + itemOffset[Int(item)]
    }

    /// Version 2: the training scale it clipped to (version 1) is gone; hosts clip.
    public static var formatVersion: UInt32 { 2 }

    public func encode(to writer: inout ModelWriter) {
        writer.write(mean)
        writer.write(userDamping)
        writer.write(itemOffset)
    }

    public init(decoding reader: inout ModelReader) throws {
        mean = try reader.read()
        userDamping = try reader.read()
        itemOffset = try reader.read()
    }
}

/// `explicit` predicts ratings; `implicit` ranks from the set of items a user interacted with,
/// ignoring rating values (LensKit's implicit kNN; content's unweighted profile).
public enum FeedbackMode: String, CaseIterable, Sendable, SettingChoice {
    case explicit, implicit
}
