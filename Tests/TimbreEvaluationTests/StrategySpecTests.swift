import Testing
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import TimbreTestSupport

@Suite struct StrategySpecs {
    @Test func nameAloneIsLabelledByName() throws {
        let s = try StrategyUnderTest.parse("popularity", in: registeredStrategies)
        #expect(s.name == "popularity" && s.label == "popularity")
    }

    @Test func overridesLabelTheColumnUnlessALabelIsGiven() throws {
        let unlabelled = try StrategyUnderTest.parse("item-knn:k=20,mode=implicit", in: registeredStrategies)
        #expect(unlabelled.name == "item-knn")
        #expect(unlabelled.label == "item-knn k=20 mode=implicit")
        #expect(unlabelled.parameters.summary.contains("k=20"))

        let labelled = try StrategyUnderTest.parse("iknn=item-knn:k=20,mode=implicit", in: registeredStrategies)
        #expect(labelled.name == "item-knn")
        #expect(labelled.label == "iknn")
        #expect(labelled.parameters == unlabelled.parameters)

        let labelledDefaults = try StrategyUnderTest.parse("base=bias", in: registeredStrategies)
        #expect(labelledDefaults.name == "bias" && labelledDefaults.label == "base")
    }

    @Test(arguments: [("", "no strategy name"), ("=bias", "empty label"), ("x=", "no strategy name"), ("item-knn:k", "'k' is not key=value"),
                      ("no-such-strategy", "no strategy named 'no-such-strategy'"),
                      ("item-knn:no-such-parameter=1", "has no parameter 'no-such-parameter'")])
    func badSpecsAreRejected(spec: String, message: String) {
        do {
            _ = try StrategyUnderTest.parse(spec, in: registeredStrategies)
            Issue.record("'\(spec)' was accepted")
        } catch let error as EvaluationError {
            #expect(error.description.contains(message), "\(error)")
        } catch let error as StrategySpecError {
            #expect(error.description.contains(message), "\(error)")
        } catch let error as UnknownStrategyError {
            #expect(error.description.contains(message), "\(error)")
        } catch let error as ParameterError {
            #expect(error.description.contains(message), "\(error)")
        } catch {
            Issue.record("'\(spec)': unexpected error type \(type(of: error)): \(error)")
        }
    }

    @Test func twoColumnsWithOneLabelAreRejected() throws {
        let ratings = SyntheticCatalog(users: 60, items: 40, ratings: 900, seed: 3).generate()
        let evaluation = Evaluation(split: SplitSpec(.randomKFold(folds: 2)))
        let same = try ["a=bias", "a=popularity"].map { try StrategyUnderTest.parse($0, in: registeredStrategies) }
        let error = #expect(throws: EvaluationError.self) { try evaluation.run(ratings, strategies: same, dataset: "synthetic") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("'a'"))
        // The same pair with two labels runs.
        let distinct = try ["a=bias", "b=popularity"].map { try StrategyUnderTest.parse($0, in: registeredStrategies) }
        #expect(try evaluation.run(ratings, strategies: distinct, dataset: "synthetic").strategies.map(\.label) == ["a", "b"])
    }
}
