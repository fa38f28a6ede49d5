import TimbreCore

/// Which rows a neighbourhood compares: items (item-kNN) or users (user-kNN). It decides what
/// "mean" centring subtracts: the mean of the row the neighbours belong to.
public enum Orientation: Sendable {
    case items, users
}

/// A user's own reference points: their mean rating and their bias offset b_u.
public struct UserCentre: Sendable {
    public var mean: Float
    public var offset: Float

    @inlinable public init(mean: Float, offset: Float) {
        self.mean = mean
        self.offset = offset
    }
}

/// What a rating is measured against before neighbours' opinions are averaged.
public enum Centring: String, CaseIterable, Sendable, SettingChoice {
    case none, mean, baseline
}

/// The means and baseline a neighbourhood model centres ratings with. Stored in the model so a
/// loaded model centres a new user's ratings exactly as training did.
public struct RatingCentres: Sendable {
    public let globalMean: Float
    public let itemMeans: [Float]
    public let baseline: BaselineModel?

    public init(_ m: RatingMatrix, withBaseline: Bool) {
        globalMean = m.globalMean
        itemMeans = (0..<Int32(m.itemCount)).map { i in
            let r = m.byItem.range(i)
            guard !r.isEmpty else { return m.globalMean }
            var s: Float = 0
            for k in r { s += m.byItem.values[k] }
            return s / Float(r.count)
        }
        baseline = withBaseline ? BaselineFit().fit(m) : nil
    }

    @inlinable public func user(items: ArraySlice<Int32>, ratings: ArraySlice<Float>) -> UserCentre {
        var sum: Float = 0
        for r in ratings { sum += r }
        return UserCentre(mean: ratings.isEmpty ? globalMean : sum / Float(ratings.count),
                          offset: baseline?.userOffset(items: items, ratings: ratings) ?? 0)
    }

    @inlinable public func itemMean(_ item: Int32) -> Float {
        Int(item) < itemMeans.count ? itemMeans[Int(item)] : globalMean
    }

    @inlinable public func baselineEstimate(_ user: UserCentre, _ item: Int32) -> Float {
        (baseline?.itemBaseline(item) ?? globalMean) + user.offset
    }

    /// The reference a rating is predicted as an offset from.
    @inlinable
    public func centre(_ user: UserCentre, _ item: Int32, _ centring: Centring, _ side: Orientation) -> Float {
        switch centring {
        case .none: 0
        case .mean: side == .items ? itemMean(item) : user.mean
        case .baseline: baselineEstimate(user, item)
        }
    }

    public func encode(to w: inout ModelWriter) {
        w.write(globalMean)
        w.write(itemMeans)
        w.write(UInt8(baseline == nil ? 0 : 1))
        baseline?.encode(to: &w)
    }

    public init(decoding r: inout ModelReader) throws {
        globalMean = try r.read()
        itemMeans = try r.read()
        baseline = try r.read(UInt8.self) == 1 ? try BaselineModel(decoding: &r) : nil
    }
}
