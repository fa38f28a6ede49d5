/// A model that predicts several items for one user much faster together than one by one
/// (user-kNN finds the user's neighbours once). Hosts use it when a model offers it; the result
/// means exactly what `predict(_:item:)` would return for each item.
public protocol BatchRatingPredictor: TrainedModel {
    func predict(_ user: UserProfile, items: [Int32]) -> [Float?]
}

extension TrainedModel {
    /// Predictions for `items`, batched where the model supports it.
    public func predictAll(_ user: UserProfile, items: [Int32]) -> [Float?] {
        if let batch = self as? any BatchRatingPredictor { return batch.predict(user, items: items) }
        return items.map { predict(user, item: $0) }
    }
}

extension TrainedModel {
    /// Predictions for `items` held to `scale` (the catalog's ratings, lowest…highest): the one
    /// place a prediction is clipped, so a strategy's estimate past the scale (a neighbourhood
    /// offset added to a high baseline) is never shown or scored as 5.43 of 5.
    public func predictions(_ user: UserProfile, items: [Int32], on scale: RatingScale) -> [Float?] {
        predictAll(user, items: items).map { $0.map { scale.clamp($0) } }
    }
}

/// The values a rating may take, lowest…highest inclusive: what an import checks ratings against
/// and what predictions are clipped to.
public typealias RatingScale = ClosedRange<Float>

extension ClosedRange<Float> {
    /// `value` moved to the nearest bound when it lies outside.
    public func clamp(_ value: Float) -> Float { Swift.min(Swift.max(value, lowerBound), upperBound) }
}

extension RatingMatrix {
    /// lowest…highest of the values (the rating scale the data shows), nil with none.
    public var valueRange: RatingScale? {
        guard let lowest = byUser.values.min(), let highest = byUser.values.max() else { return nil }
        return lowest...highest
    }
}
