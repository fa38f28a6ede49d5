import TimbreCore
import TimbreStrategies

/// The strategies this run of timbre knows: the built-ins, and the plugins that `--plugins` and
/// TIMBRE_PLUGIN_PATH name. Set once in `Timbre.main` before any command is parsed (commands
/// are built by ArgumentParser, which cannot hand them a value) and only read after that.
nonisolated(unsafe) var hostStrategies = registeredStrategies

/// `--plugins DIR|FILE` (repeatable; also `--plugins=DIR`), accepted anywhere on the command
/// line before a `--`, so that every command (and `timbre --plugins DIR COMMAND`) takes it
/// alike: `arguments` without them, and the paths they named.
func extractPluginPaths(_ arguments: [String]) throws -> (arguments: [String], paths: [String]) {
    var kept: [String] = [], paths: [String] = []
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        if a == "--" { kept += arguments[i...]; break }
        if a == "--plugins" {
            guard i + 1 < arguments.count, !arguments[i + 1].hasPrefix("-") else {
                throw PluginOptionError("--plugins needs a folder or a plugin library after it")
            }
            paths.append(arguments[i + 1])
            i += 2
            continue
        }
        if a.hasPrefix("--plugins=") {
            let path = String(a.dropFirst("--plugins=".count))
            guard !path.isEmpty else { throw PluginOptionError("--plugins= needs a folder or a plugin library") }
            paths.append(path)
        } else {
            kept.append(a)
        }
        i += 1
    }
    return (kept, paths)
}

struct PluginOptionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
