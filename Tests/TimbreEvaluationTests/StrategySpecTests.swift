import Testing
import TimbreCore
import TimbreEvaluation
import TimbreStrategies

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

    @Test(arguments: ["", "=bias", "x=", "item-knn:k", "no-such-strategy", "item-knn:no-such-parameter=1"])
    func badSpecsAreRejected(spec: String) {
        #expect(throws: (any Error).self) { try StrategyUnderTest.parse(spec, in: registeredStrategies) }
    }
}
