import TimbreStrategyKit

// The plugin's two C symbols. timbre reads the version first and refuses a plugin built with
// another kit or compiler before it calls the entry point; both bodies must stay in the plugin
// (StrategyPluginABI.write is compiled into it, so it reports what the plugin was built with).

@_cdecl("timbre_strategy_plugin_abi")
public func timbreStrategyPluginABI(_ buffer: UnsafeMutablePointer<CChar>, _ capacity: Int) -> Int32 {
    StrategyPluginABI.write(into: buffer, capacity: capacity)
}

@_cdecl("timbre_strategy_plugin")
public func timbreStrategyPlugin() -> UnsafeMutableRawPointer {
    StrategyPlugin(name: "TimbreRP3beta", version: "1.0.0", strategies: [RP3beta.self]).retainedPointer()
}
