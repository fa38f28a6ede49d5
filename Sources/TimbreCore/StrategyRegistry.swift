public struct UnknownStrategyError: Error, CustomStringConvertible {
    public let name: String
    public let known: [String]
    public var description: String {
        "no strategy named '\(name)' (registered: \(known.joined(separator: ", ")))"
    }
}

/// The table of strategies a host can run. The host looks strategies up by name only;
/// the one place that names concrete strategies is Plugins/Registry.
public struct StrategyRegistry: Sendable {
    public let strategies: [any Strategy.Type]

    public init(_ strategies: [any Strategy.Type]) {
        var seen = Set<String>()
        for s in strategies {
            precondition(seen.insert(s.name).inserted, "strategy name \(s.name) registered twice")
        }
        self.strategies = strategies
    }

    public var names: [String] { strategies.map { $0.name } }

    public func named(_ name: String) throws -> any Strategy.Type {
        guard let s = strategies.first(where: { $0.name == name }) else {
            throw UnknownStrategyError(name: name, known: names)
        }
        return s
    }

    /// Builds a configured instance from `name` and textual overrides such as `k=40`.
    public func make(_ name: String, overrides: [String: String] = [:]) throws -> (any Strategy, Parameters) {
        let type = try named(name)
        let parameters = try Parameters(specs: type.parameters, overrides: overrides, strategy: name)
        return (try type.init(parameters: parameters), parameters)
    }
}
