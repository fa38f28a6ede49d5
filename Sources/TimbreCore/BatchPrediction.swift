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
