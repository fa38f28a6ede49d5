import TimbreCore

/// The classic baseline r̂ = μ + b_u + b_i with damped (regularised) offsets, fitted by
/// alternating least squares as Surprise's BaselineOnly does; one iteration is LensKit's Bias.
public struct Bias: Strategy {
    public static let name = "bias"
    public static let summary = "Global mean plus damped user and item offsets (baseline predictor)"
    public static let parameters = [
        ParameterSpec("item-damping", .double(5), "shrinks item offsets of rarely rated items towards 0", range: 0...1e9),
        ParameterSpec("user-damping", .double(5), "shrinks user offsets of users with few ratings towards 0", range: 0...1e9),
        ParameterSpec("iterations", .int(10), "alternating updates of user and item offsets", range: 1...1000),
    ]

    let itemDamping: Float
    let userDamping: Float
    let iterations: Int

    public init(parameters: Parameters) throws {
        itemDamping = Float(parameters.double("item-damping"))
        userDamping = Float(parameters.double("user-damping"))
        iterations = parameters.int("iterations")
        guard itemDamping >= 0, userDamping >= 0 else { throw ParameterError("bias: dampings must be ≥ 0") }
        guard iterations >= 1 else { throw ParameterError("bias: iterations must be ≥ 1") }
    }

    public func fit(_ data: TrainingData) -> Model {
        let m = data.ratings
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
        let values = m.byUser.values
        return Model(mean: mean, userDamping: userDamping, itemOffset: itemOffset,
                     lowest: values.min() ?? mean, highest: values.max() ?? mean)
    }

    public struct Model: TrainedModel {
        let mean: Float
        let userDamping: Float
        let itemOffset: [Float]
        /// The rating scale seen in training; predictions are clipped to it.
        let lowest: Float
        let highest: Float

        init(mean: Float, userDamping: Float, itemOffset: [Float], lowest: Float, highest: Float) {
            self.mean = mean
            self.userDamping = userDamping
            self.itemOffset = itemOffset
            self.lowest = lowest
            self.highest = highest
        }

        /// Recomputed from the profile rather than stored, so a new user, or a user's newest ratings,
        /// count without retraining.
        public func userOffset(_ user: UserProfile) -> Float {
            userOffset(items: user.items[...], ratings: user.ratings[...])
        }

        /// The same offset from a user's row of a rating matrix (neighbourhood models centre every
        /// training user with it).
        public func userOffset(items: ArraySlice<Int32>, ratings: ArraySlice<Float>) -> Float {
            var sum: Float = 0
            for (item, rating) in zip(items, ratings) where Int(item) < itemOffset.count {
                sum += rating - mean - itemOffset[Int(item)]
            }
            return sum / (userDamping + Float(items.count))
        }

        /// μ + b_i: the baseline of `item` before the user's offset is added.
        @inline(__always) public func itemBaseline(_ item: Int32) -> Float {
            Int(item) < itemOffset.count ? mean + itemOffset[Int(item)] : mean
        }

        public func score(_ user: UserProfile, into scores: inout [Float]) {
            let base = mean + userOffset(user)
            for i in itemOffset.indices { scores[i] = base + itemOffset[i] }
        }

        public func predict(_ user: UserProfile, item: Int32) -> Float? {
            guard item >= 0, Int(item) < itemOffset.count else { return nil }
            return min(max(mean + userOffset(user) + itemOffset[Int(item)], lowest), highest)
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(mean)
            writer.write(userDamping)
            writer.write(lowest)
            writer.write(highest)
            writer.write(itemOffset)
        }

        public init(decoding reader: inout ModelReader) throws {
            mean = try reader.read()
            userDamping = try reader.read()
            lowest = try reader.read()
            highest = try reader.read()
            itemOffset = try reader.read()
        }
    }
}
