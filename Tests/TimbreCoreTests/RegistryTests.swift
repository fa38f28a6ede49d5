import Testing
import TimbreCore
import TimbreStrategies

@Suite struct RegistryTests {
    @Test func registryListsThePlugins() {
        let names = registeredStrategies.names
        #expect(names.contains("popularity"))
        #expect(names.contains("bias"))
    }

    /// A second strategy under a taken name is refused with the name, and the table is unchanged.
    @Test func aTakenNameIsRefused() throws {
        let bias = try registeredStrategies.named("bias")
        let error = #expect(throws: DuplicateStrategyError.self) { try registeredStrategies.adding([bias]) }
        #expect(error?.name == "bias" && error?.description == "a strategy named 'bias' is registered already")
        let popularity = try registeredStrategies.named("popularity")
        let empty = try StrategyRegistry([]).adding([popularity])
        #expect(empty.names == ["popularity"])
        #expect(throws: DuplicateStrategyError.self) { try StrategyRegistry([]).adding([popularity, popularity]) }
        #expect(registeredStrategies.names.filter { $0 == "bias" }.count == 1)
    }

    @Test func unknownStrategyAndParameterAreNamed() throws {
        #expect(throws: UnknownStrategyError.self) { try registeredStrategies.named("nope") }
        do {
            _ = try registeredStrategies.make("bias", overrides: ["dampening": "3"])
            Issue.record("unknown parameter accepted")
        } catch {
            #expect("\(error)".contains("dampening") && "\(error)".contains("item-damping"))
        }
        do {
            _ = try registeredStrategies.make("bias", overrides: ["iterations": "many"])
            Issue.record("bad value accepted")
        } catch {
            #expect("\(error)".contains("iterations"))
        }
        let (_, p) = try registeredStrategies.make("bias", overrides: ["iterations": "3"])
        for bad in ["inf", "nan", "-inf"] {
            #expect(throws: ParameterError.self, "\(bad)") { try registeredStrategies.make("bias", overrides: ["item-damping": bad]) }
        }
        let declared = try registeredStrategies.named("bias").parameters.first { $0.name == "item-damping" }?.defaultValue
        #expect(p.int("iterations") == 3)
        #expect(declared.map { .double(p.double("item-damping")) == $0 } == true, "unset parameters take their declared default")
    }

    @Test func parametersOfEveryKindRoundTripThroughTheModelCoding() throws {
        let p = Parameters(values: ["k": .int(-3), "w": .double(0.1), "on": .bool(true), "spec": .string("item-knn(k=2,mode=implicit)")])
        var writer = ModelWriter()
        writer.write(p)
        var reader = ModelReader(writer.bytes)
        #expect(try reader.read(Parameters.self) == p)
        try reader.expectEnd()
    }
}
