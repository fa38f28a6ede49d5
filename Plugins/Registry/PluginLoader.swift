import Foundation
import TimbreStrategyKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plugin library refused, and why: the host goes on with none of its strategies.
public struct PluginLoadError: Error, CustomStringConvertible, Equatable {
    public enum Reason: Equatable, Sendable {
        case notFound
        case notALibrary
        /// dlopen failed on a library (e.g. a symbol this timbre does not have): dlerror's text.
        case cannotOpen(String)
        case missingSymbol(String)
        /// Built with another kit or compiler: its version text, and this timbre's.
        case incompatible(found: String, expected: String)
        /// Its kit symbols bound to a copy of the kit other than this timbre's.
        case foreignKit
        case noStrategies
        case badStrategyName(String)
        /// A strategy name already taken: by a built-in (nil) or another plugin.
        case nameClash(String, with: PluginIdentity?)
    }

    public let file: String
    public let reason: Reason

    public init(file: String, _ reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var description: String {
        let why: String
        switch reason {
        case .notFound: why = "no such file or folder"
        case .notALibrary: why = "not a shared library"
        case let .cannotOpen(text): why = "cannot be loaded: \(text)"
        case let .missingSymbol(symbol): why = "a shared library without the \(symbol) symbol, so not a Timbre strategy plugin (see Examples/StrategyPlugin)"
        case let .incompatible(found, expected):
            why = "built with \(found), but this timbre is built with \(expected); rebuild the plugin against this Timbre with this toolchain"
        case .foreignKit:
            why = "its TimbreStrategyKit symbols did not bind to this timbre's own kit, so its types would not be the host's; it must link the kit dynamically (the kit's .dynamic product), and the host must export its symbols (-Xlinker --export-dynamic)"
        case .noStrategies: why = "hands over no strategies"
        case let .badStrategyName(name): why = "strategy name '\(name)' should be lowercase letters, digits and hyphens (like item-knn)"
        case let .nameClash(name, other):
            why = "strategy '\(name)' clashes with " + (other.map { "the one from plugin \($0)" } ?? "the built-in strategy of that name")
        }
        return "plugin \(file): \(why)"
    }
}

/// An opened shared library. Never closed: a Swift library registers its type metadata and
/// conformances with the Swift runtime when it is opened, which then points into it for the
/// life of the process, so unloading it (even one that was refused) could leave the runtime
/// reading unmapped memory.
struct SharedLibrary {
    let path: String
    private let handle: UnsafeMutableRawPointer

    /// dlopen with every symbol bound now (a missing one fails here, not mid-command) and its
    /// symbols kept local, so two plugins never bind to each other.
    init(_ path: String) throws {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginLoadError(file: path, .cannotOpen(dlerror().map { String(cString: $0) } ?? "dlopen failed"))
        }
        self.path = path
        self.handle = handle
    }

    func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
        guard let address = dlsym(handle, name) else { throw PluginLoadError(file: path, .missingSymbol(name)) }
        return address
    }
}

/// Loads strategy plugins (see TimbreStrategyKit and Examples/StrategyPlugin) into a registry.
public enum PluginLoader {
    /// The kit's own library, which sits beside plugins in their build folder (they link it), and
    /// is not a plugin.
    public static let kitLibraryName = "libTimbreStrategyKit" + libraryExtension
    #if os(macOS)
    public static let libraryExtension = ".dylib"
    #else
    public static let libraryExtension = ".so"
    #endif

    /// The folders `TIMBRE_PLUGIN_PATH` names (colon-separated; empty parts ignored).
    public static func environmentFolders(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (environment["TIMBRE_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init)
    }

    /// `base` with the strategies of every plugin in `paths`, each a folder (every library in it,
    /// in name order, but the kit's own) or a library file. A file met twice is loaded once. The
    /// first refusal stops it: a half-loaded set would make the same command line mean different
    /// strategies depending on which files are sound.
    public static func registry(adding paths: [String], to base: StrategyRegistry = registeredStrategies) throws -> StrategyRegistry {
        var registry = base
        var seen = Set<String>()
        for file in try paths.flatMap(libraries) where seen.insert(URL(fileURLWithPath: file).resolvingSymlinksInPath().path).inserted {
            registry = try adding(try load(file), from: file, to: registry)
        }
        return registry
    }

    /// The library files `path` stands for.
    static func libraries(_ path: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw PluginLoadError(file: path, .notFound) }
        guard isFolder.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(libraryExtension) && $0 != kitLibraryName }
            .sorted()
            .map { (path as NSString).appendingPathComponent($0) }
            .filter { var folder: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &folder) && !folder.boolValue }
    }

    /// Opens `file` and checks it before anything of it runs but its loader-time setup: the
    /// version symbol first (read into a buffer, so a plugin of another layout is only ever asked
    /// for bytes), then the entry point, whose object must be of this build's kit.
    public static func load(_ file: String) throws -> (plugin: StrategyPlugin, identity: PluginIdentity) {
        guard isSharedLibrary(file) else { throw PluginLoadError(file: file, .notALibrary) }
        let library = try SharedLibrary(file)
        let found = try version(of: library)
        let expected = StrategyPluginABI.text
        guard found == expected else { throw PluginLoadError(file: file, .incompatible(found: found, expected: expected)) }
        typealias Entry = @convention(c) () -> UnsafeMutableRawPointer?
        let entry = unsafeBitCast(try library.symbol(StrategyPluginABI.entrySymbol), to: Entry.self)
        guard let object = entry(), let plugin = StrategyPlugin.taking(object) else { throw PluginLoadError(file: file, .foreignKit) }
        return (plugin, PluginIdentity(name: plugin.name, version: plugin.version, file: file))
    }

    /// The text the plugin's version symbol writes.
    static func version(of library: SharedLibrary) throws -> String {
        typealias Version = @convention(c) (UnsafeMutablePointer<CChar>, Int) -> Int32
        let write = unsafeBitCast(try library.symbol(StrategyPluginABI.versionSymbol), to: Version.self)
        var buffer = [CChar](repeating: 0, count: 256)
        _ = write(&buffer, buffer.count)
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `registry` with `loaded`'s strategies; refused whole if a name is taken or malformed.
    public static func adding(_ loaded: (plugin: StrategyPlugin, identity: PluginIdentity), from file: String,
                              to registry: StrategyRegistry) throws -> StrategyRegistry {
        let strategies = loaded.plugin.strategies
        guard !strategies.isEmpty else { throw PluginLoadError(file: file, .noStrategies) }
        for s in strategies {
            let name = s.name
            guard !name.isEmpty, name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
                throw PluginLoadError(file: file, .badStrategyName(name))
            }
        }
        do { return try registry.adding(strategies, from: loaded.identity) }
        catch let clash as DuplicateStrategyError {
            throw PluginLoadError(file: file, .nameClash(clash.name, with: registry.plugin(of: clash.name)))
        }
    }

    /// An ELF (or Mach-O) file by its first bytes: anything else is refused before dlopen reads it.
    static func isSharedLibrary(_ file: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        let magic = [UInt8](handle.readData(ofLength: 4))
        return magic == [0x7F, 0x45, 0x4C, 0x46] || magic == [0xCF, 0xFA, 0xED, 0xFE]
    }
}
