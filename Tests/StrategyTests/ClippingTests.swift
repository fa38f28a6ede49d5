import Testing
import TimbreCore
import TimbreEvaluation

/// A strategy predicting one constant for every item, whatever the scale.
private struct Constant: Strategy {
    static let name = "constant"
    static let summary = "predicts `value` for every item"
    static let value = Setting("value", default: 3.0, range: -100...100, help: "the prediction")
    static let parameters = [value.spec]
    let value: Float
    init(parameters: Parameters) { value = Float(parameters[Self.value]) }
    func fit(_ data: TrainingData) -> Model { Model(value: value) }

    struct Model: TrainedModel {
        let value: Float
        func score(_ user: UserProfile, into scores: inout [Float]) {}
        func predict(_ user: UserProfile, item: Int32) -> Float? { value }
        func encode(to writer: inout ModelWriter) { writer.write(value) }
        init(value: Float) { self.value = value }
        init(decoding reader: inout ModelReader) throws { value = try reader.read() }
    }
}

@Suite struct HostClipping {
    /// The evaluator clips predictions to the training ratings' scale (1…5 here): predicting 9 or
    /// −3 scores exactly as predicting 5 or 1, and unlike an in-scale 4.
    @Test func evaluationClipsPredictionsToTheScale() throws {
        let m = SyntheticCatalog(users: 80, items: 40, ratings: 1500, seed: 2).generate()
        #expect(m.valueRange == 1...5)
        let registry = StrategyRegistry([Constant.self])
        func errors(_ value: String) throws -> (rmse: Double, mae: Double) {
            let run = try Evaluation(split: SplitSpec(.randomKFold(folds: 3), seed: 1), options: EvaluationOptions(rankingMetrics: false))
                .run(m, strategies: [try .registered("constant", overrides: ["value": value], in: registry)], dataset: "s")
            return (run.strategies[0].metric("RMSE")!.value, run.strategies[0].metric("MAE")!.value)
        }
        let (high, top, low, bottom, inside) = (try errors("9"), try errors("5"), try errors("-3"), try errors("1"), try errors("4"))
        #expect(high == top && low == bottom)
        #expect(high.mae != inside.mae && low.mae != inside.mae)
    }

    @Test func clampHoldsAValueToTheRange() {
        let scale: ClosedRange<Float> = 1...5
        #expect([0.5, 1, 3.2, 5, 5.43].map(scale.clamp) == [1, 1, 3.2, 5, 5])
    }
}
