import TimbreBaselines
import TimbreCore

/// The classic baseline r̂ = μ + b_u + b_i with damped (regularised) offsets, fitted by
/// alternating least squares as Surprise's BaselineOnly does; one iteration is LensKit's Bias.
/// The fit and the model live in TimbreBaselines, which neighbourhood models centre with too.
public struct Bias: Strategy {
    public static let name = "bias"
    public static let summary = "Global mean plus damped user and item offsets (baseline predictor)"

    public static let itemDamping = Setting("item-damping", default: Double(BaselineFit().itemDamping), range: 0...1e9,
                                     help: "shrinks item offsets of rarely rated items towards 0")
    public static let userDamping = Setting("user-damping", default: Double(BaselineFit().userDamping), range: 0...1e9,
                                     help: "shrinks user offsets of users with few ratings towards 0")
    public static let iterations = Setting("iterations", default: BaselineFit().iterations, range: 1...1000,
                                    help: "alternating updates of user and item offsets")
    public static let parameters = [itemDamping.spec, userDamping.spec, iterations.spec]

    let baseline: BaselineFit

    public init(parameters p: Parameters) {
        var fit = BaselineFit()
        fit.itemDamping = Float(p[Self.itemDamping])
        fit.userDamping = Float(p[Self.userDamping])
        fit.iterations = p[Self.iterations]
        baseline = fit
    }

    public func fit(_ data: TrainingData) -> BaselineModel { baseline.fit(data.ratings) }
}
