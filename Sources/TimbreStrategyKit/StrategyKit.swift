// What a strategy is built against, inside Timbre (every built-in under Plugins/) and outside it
// (a plugin package, see Examples/StrategyPlugin): the strategy and model protocols, typed
// settings, the rating matrix and training data, item embeddings and model coding, all of
// TimbreCore re-exported so what TimbreCore gains reaches plugins with no list to keep here; plus
// the two things only a plugin needs, `StrategyPlugin` and `StrategyPluginABI`.
@_exported import TimbreCore

/// What a plugin's entry point hands the host: its name and version (recorded with every model
/// of its strategies) and the strategies themselves.
///
/// The plugin's entry point returns `StrategyPlugin(...).retainedPointer()`; the host takes it
/// back with `StrategyPlugin.taking(_:)`. The class is the kit's own, so the host can tell a
/// plugin that runs on its copy of the kit from one that does not (see `taking`).
public final class StrategyPlugin: Sendable {
    public let name: String
    public let version: String
    public let strategies: [any Strategy.Type]

    public init(name: String, version: String, strategies: [any Strategy.Type]) {
        self.name = name
        self.version = version
        self.strategies = strategies
    }

    /// A +1 reference for the C entry point to return; the host releases it.
    public func retainedPointer() -> UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    /// The plugin an entry point returned, or nil when its object is not of this build's
    /// `StrategyPlugin` class: then the plugin's kit symbols bound to a copy of the kit of its own
    /// (the host was not linked with --export-dynamic, or the plugin carries the kit statically),
    /// and its conformances name other protocol descriptors than the host's, so nothing of it may
    /// be used. The check reads the object's class pointer only, before any typed access.
    public static func taking(_ pointer: UnsafeMutableRawPointer) -> StrategyPlugin? {
        let isa = pointer.load(as: UnsafeRawPointer.self)
        guard isa == unsafeBitCast(StrategyPlugin.self as AnyClass, to: UnsafeRawPointer.self) else { return nil }
        return Unmanaged<StrategyPlugin>.fromOpaque(pointer).takeRetainedValue()
    }
}

/// The plugin ABI: the C symbols a plugin exports and the version text the host compares before
/// it calls anything else.
///
/// Swift has no stable ABI between compiler versions on Linux, and Timbre's kit types are not
/// built for library evolution, so a plugin must be built by the same compiler against the same
/// kit layout as the host. `StrategyPluginABI.text` is "TimbreStrategyKit K; Swift C":
/// its parts are `@_alwaysEmitIntoClient`, so each is compiled into the plugin itself and says
/// what the plugin was built with (a call into the kit would be bound to the host's kit and
/// always agree).
public enum StrategyPluginABI {
    /// `int timbre_strategy_plugin_abi(char *buffer, long capacity)`: writes `text` (NUL-terminated,
    /// cut to fit) and returns its full length in bytes.
    public static let versionSymbol = "timbre_strategy_plugin_abi"
    /// `void *timbre_strategy_plugin(void)`: a retained `StrategyPlugin`.
    public static let entrySymbol = "timbre_strategy_plugin"

    /// Raise it whenever a public type of TimbreCore changes layout or a protocol requirement is
    /// added or removed: plugins built before are then refused instead of misread.
    @_alwaysEmitIntoClient public static var kitVersion: Int { 1 }

    /// The compiler version as `#if compiler` can tell it (major.minor.patch within the 6.x line).
    @_alwaysEmitIntoClient public static var compilerVersion: String {
        #if compiler(>=7.0)
        ">=7.0"
        #elseif compiler(>=6.5)
        ">=6.5"
        #elseif compiler(>=6.4.2)
        "6.4.2"
        #elseif compiler(>=6.4.1)
        "6.4.1"
        #elseif compiler(>=6.4)
        "6.4"
        #elseif compiler(>=6.3.3)
        "6.3.3"
        #elseif compiler(>=6.3.2)
        "6.3.2"
        #elseif compiler(>=6.3.1)
        "6.3.1"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #elseif compiler(>=6.1)
        "6.1"
        #else
        "6.0"
        #endif
    }

    @_alwaysEmitIntoClient public static var text: String {
        "TimbreStrategyKit \(kitVersion); Swift \(compilerVersion)"
    }

    /// The body of a plugin's version symbol: copies `text` into `buffer`.
    @_alwaysEmitIntoClient
    public static func write(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int32 {
        let bytes = Array(text.utf8)
        let kept = max(0, min(bytes.count, capacity - 1))
        for i in 0..<kept { buffer[i] = CChar(bitPattern: bytes[i]) }
        if capacity > 0 { buffer[kept] = 0 }
        return Int32(bytes.count)
    }
}
