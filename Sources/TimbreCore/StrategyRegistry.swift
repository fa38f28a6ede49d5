public struct UnknownStrategyError: Error, CustomStringConvertible {
    public let name: String
    public let known: [String]
    public var description: String {
        "no strategy named '\(name)' (registered: \(known.joined(separator: ", ")))"
    }
}

public struct DuplicateStrategyError: Error, CustomStringConvertible, Equatable {
    public let name: String
    public var description: String { "a strategy named '\(name)' is registered already" }
}

/// The plugin a strategy came from (see TimbreStrategyKit): recorded with each model of it, so a
/// model is never served by other code than made it, and a missing plugin is named.
public struct PluginIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public let name: String
    public let version: String
    /// The library it was loaded from (empty for a plugin known only from a stored model).
    public let file: String

    public init(name: String, version: String, file: String = "") {
        self.name = name
        self.version = version
        self.file = file
    }

    public var description: String { "\(name) \(version)" + (file.isEmpty ? "" : " (\(file))") }
}

/// A strategy built from other registered strategies, named by spec in its string parameters (the
/// hybrid blender). A plugin cannot import the registry table (the table imports every plugin),
/// so the registry hands itself over: `StrategyRegistry.make` calls `init(parameters:registry:)`
/// and `StrategyRegistry.decodeModel` calls `decodeModel(from:registry:)`, whose components are
/// then decoded through the same registry. The model's own `init(decoding:)` cannot reach the
/// registry and should throw.
public protocol ComposedStrategy: Strategy {
    init(parameters: Parameters, registry: StrategyRegistry) throws
    static func decodeModel(from reader: inout ModelReader, registry: StrategyRegistry) throws -> Model
    /// `parameters` with every component spec written out in full (all settings, defaults filled
    /// in, keys in order), so two spellings of one configuration are one stored model.
    static func canonical(_ parameters: Parameters, registry: StrategyRegistry) throws -> Parameters
}

extension ComposedStrategy {
    public static func canonical(_ parameters: Parameters, registry: StrategyRegistry) throws -> Parameters { parameters }

    public init(parameters: Parameters) throws {
        throw ParameterError("\(Self.name) is built from other strategies: make it through a StrategyRegistry")
    }
}

/// The table of strategies a host can run. The host looks strategies up by name only;
/// the one place that names concrete strategies is Plugins/Registry.
public struct StrategyRegistry: Sendable {
    public private(set) var strategies: [any Strategy.Type]
    /// Strategy name → the plugin it came from; built-ins have none.
    public private(set) var plugins: [String: PluginIdentity] = [:]
    /// Composed strategies met on the way here; bounds specs that nest too deep.
    private var depth = 0
    public static let maximumNesting = 4

    /// The built-in table; its names are distinct by construction (a clash is a programming error).
    public init(_ strategies: [any Strategy.Type]) {
        do { self = try StrategyRegistry(empty: ()).adding(strategies) } catch { preconditionFailure("\(error)") }
    }

    private init(empty: Void) { strategies = [] }

    /// This table with `more` appended (from `plugin`, if they come from one); a name already
    /// taken (or taken twice in `more`) is refused.
    public func adding(_ more: [any Strategy.Type], from plugin: PluginIdentity? = nil) throws -> StrategyRegistry {
        var seen = Set(names)
        for s in more where !seen.insert(s.name).inserted {
            throw DuplicateStrategyError(name: s.name)
        }
        var grown = self
        grown.strategies += more
        if let plugin { for s in more { grown.plugins[s.name] = plugin } }
        return grown
    }

    /// The plugin `name` came from, or nil for a built-in (or unknown) strategy.
    public func plugin(of name: String) -> PluginIdentity? { plugins[name] }

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
        guard let composed = type as? any ComposedStrategy.Type else { return (try type.init(parameters: parameters), parameters) }
        let inner = try nested(in: name)
        let canonical = try composed.canonical(parameters, registry: inner)
        return (try composed.init(parameters: canonical, registry: inner), canonical)
    }

    public func make(_ spec: StrategySpec) throws -> (any Strategy, Parameters) {
        try make(spec.name, overrides: spec.overrides)
    }

    /// Decodes a model of `type` written by `writeModel` (header, then the model), composed or not.
    public func decodeModel(of type: any Strategy.Type, from reader: inout ModelReader) throws -> any TrainedModel {
        let name = try reader.read(String.self), version = try reader.read(UInt32.self)
        guard name == type.name, version == type.modelFormatVersion else {
            throw ModelFormatError(strategy: "\(type.name) format \(type.modelFormatVersion)",
                                   found: name == type.name ? "\(name) format \(version)" : "a model of '\(name.prefix(40))'")
        }
        guard let composed = type as? any ComposedStrategy.Type else { return try type.decodeModel(from: &reader) }
        return try composed.decodeModel(from: &reader, registry: try nested(in: type.name))
    }

    public func decodeModel(of type: any Strategy.Type, _ bytes: [UInt8]) throws -> any TrainedModel {
        var reader = ModelReader(bytes)
        let model = try decodeModel(of: type, from: &reader)
        try reader.expectEnd()
        return model
    }

    /// The registry a composed strategy receives: the same table, one level deeper.
    private func nested(in name: String) throws -> StrategyRegistry {
        guard depth < Self.maximumNesting else {
            throw ParameterError("\(name): composed strategies nest more than \(Self.maximumNesting) deep")
        }
        var inner = self
        inner.depth += 1
        return inner
    }
}
