import TimbreCatalog
import TimbreCore
import TimbreStrategies

public struct StrategyChoiceError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A strategy as a command line or a stream request names it: a spec (`item-knn` or
/// `item-knn:mode=implicit,k=20`), extra `name=value` overrides (`-p`) and, for strategies that
/// use item embeddings, which embeddings.
public struct StrategyChoice: Sendable, Equatable {
    public var spec: StrategySpec
    public var embeddings: EmbeddingChoice

    public init(_ text: String, parameters: [String] = [], embeddings: EmbeddingChoice = .latest) throws {
        var spec = try StrategySpec.parse(text)
        for p in parameters {
            guard let (name, value) = splitAssignment(p) else {
                throw StrategyChoiceError("parameter '\(p)' should look like name=value")
            }
            guard spec.overrides.updateValue(value, forKey: name) == nil else {
                throw StrategyChoiceError("parameter '\(name)' is given twice")
            }
        }
        self.spec = spec
        self.embeddings = embeddings
    }

    /// The spec as given, overrides in order (`item-knn(mode=implicit)`): a published list's default name.
    public var name: String { spec.description }

    public func resolve(_ registry: StrategyRegistry = registeredStrategies) throws -> (type: any Strategy.Type, instance: any Strategy, parameters: Parameters) {
        let (instance, parameters) = try registry.make(spec)
        return (type(of: instance), instance, parameters)
    }

    /// `resolve`, except that a strategy this registry lacks but whose stored models came from a
    /// plugin is refused naming that plugin (`PluginNotLoadedError`), not as an unknown name.
    public func resolve(_ registry: StrategyRegistry, catalog db: PostgresConnection) throws -> (type: any Strategy.Type, instance: any Strategy, parameters: Parameters) {
        do { return try resolve(registry) }
        catch let unknown as UnknownStrategyError where unknown.name == spec.name {
            if let refusal = try db.pluginNotLoaded(strategy: spec.name) { throw refusal }
            throw unknown
        }
    }

    /// Identifies the choice for caching models: equal keys, same model.
    var key: String { spec.description + "\u{1}" + embeddings.description }
}
