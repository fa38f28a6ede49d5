import Testing
import TimbreCore
import TimbreStrategies

@Suite struct RegistryTests {
    /// Every registered strategy has a well-formed name and builds from its declared defaults, and
    /// its settings have distinct names (a parameters table keyed by name would lose one).
    @Test func everyRegisteredStrategyBuildsFromItsDefaults() throws {
        let names = registeredStrategies.names
        #expect(names.count >= 10 && Set(names).count == names.count)
        for type in registeredStrategies.strategies {
            #expect(type.name.split(separator: "-").allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0.isNumber } }, "\(type.name)")
            let specs = type.parameters.map(\.name)
            #expect(Set(specs).count == specs.count, "\(type.name)")
            let (_, p) = try registeredStrategies.make(type.name)
            #expect(Set(p.values.keys) == Set(specs), "\(type.name)")
        }
    }

    /// The one range check: for every numeric setting of every strategy, the first value past each
    /// finite bound is refused naming strategy, setting and range, and the bound itself (when
    /// allowed) is accepted.
    @Test func everyDeclaredRangeIsEnforcedWhereSpecsAreResolved() throws {
        var checked = 0
        for type in registeredStrategies.strategies {
            for spec in type.parameters {
                guard let range = spec.range, let allowed = spec.rangeDescription else { continue }
                let isInt = if case .int = spec.defaultValue { true } else { false }
                func text(_ v: Double) -> String { isInt ? String(Int64(v)) : String(v) }
                var outside: [Double] = [], inside: [Double] = []
                if range.lowerBound.isFinite {
                    outside.append(spec.excludingLowest ? range.lowerBound : isInt ? range.lowerBound - 1 : range.lowerBound.nextDown)
                    if !spec.excludingLowest { inside.append(range.lowerBound) }
                }
                if range.upperBound.isFinite {
                    outside.append(isInt ? range.upperBound + 1 : range.upperBound.nextUp)
                    inside.append(range.upperBound)
                }
                for v in outside {
                    let error = #expect(throws: ParameterError.self, "\(type.name) \(spec.name)=\(text(v))") {
                        try Parameters(specs: type.parameters, overrides: [spec.name: text(v)], strategy: type.name)
                    }
                    #expect(error?.description == "\(type.name): parameter '\(spec.name)' must be in \(allowed), got \(text(v))")
                    checked += 1
                }
                for v in inside {
                    #expect(throws: Never.self) { try Parameters(specs: type.parameters, overrides: [spec.name: text(v)], strategy: type.name) }
                }
            }
        }
        #expect(checked > 40)
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
        #expect(p.values["iterations"] == .int(3))
        #expect(declared != nil && p.values["item-damping"] == declared, "unset parameters take their declared default")
        let suggestion = #expect(throws: ParameterError.self) { try registeredStrategies.make("bias", overrides: ["item-dampng": "3"]) }
        #expect(suggestion?.description == "bias has no parameter 'item-dampng' (did you mean 'item-damping'?) (it takes: item-damping, user-damping, iterations)")
    }

    @Test func parametersOfEveryKindRoundTripThroughTheModelCoding() throws {
        let p = Parameters(values: ["k": .int(-3), "w": .double(0.1), "on": .bool(true), "spec": .string("item-knn(k=2,mode=implicit)")])
        var writer = ModelWriter()
        writer.write(p)
        var reader = ModelReader(writer.bytes)
        #expect(try reader.read(Parameters.self) == p)
        try reader.expectEnd()
    }

    /// A composed model's component parameters are read back resolved against the component's
    /// settings: every registered strategy's defaults round-trip, and a stored value its settings
    /// no longer allow (renamed, out of range) is refused naming it instead of being used.
    @Test func storedComponentParametersAreResolvedAgainstTheSettings() throws {
        for type in registeredStrategies.strategies {
            let (_, p) = try registeredStrategies.make(type.name)
            var writer = ModelWriter()
            writer.write(p)
            var reader = ModelReader(writer.bytes)
            #expect(try reader.read(parametersOf: type) == p, "\(type.name)")
        }
        let bias = try registeredStrategies.named("bias")
        for (stored, named) in [(Parameters(values: ["iterations": .int(0)]), "iterations"), (Parameters(values: ["damping": .double(1)]), "damping"),
                                (Parameters(values: ["iterations": .string("ten")]), "iterations")] {
            var writer = ModelWriter()
            writer.write(stored)
            var reader = ModelReader(writer.bytes)
            let error = #expect(throws: ModelDecodingError.self) { try reader.read(parametersOf: bias) }
            #expect(error?.description.contains("'\(named)'") == true, "\(error.map(String.init(describing:)) ?? "")")
        }
    }
}
