import Foundation
import TimbreStrategies
import TimbreStrategyKit
import TimbreTestSupport

/// Examples/StrategyPlugin, built by `swift build` from its own folder (scratch path
/// .build/strategy-plugin, apart from Timbre's own build) once per test process: scripts/test
/// builds it before `swift test`, so here the build finds nothing to do, and a test run alone
/// (`swift test --filter Plugin`) builds it itself. A failed build fails the tests that need it.
enum ExamplePlugin {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let scratch = repository.appendingPathComponent(".build/strategy-plugin")
    static let built: Result<String, Error> = Result { try build() }

    /// The folder holding libTimbreRP3beta.so (and the kit library it linked).
    static var folder: String { get throws { try built.get() } }
    static var library: String { get throws { try folder + "/libTimbreRP3beta" + PluginLoader.libraryExtension } }

    struct BuildFailed: Error, CustomStringConvertible { let description: String }

    static func build() throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("strategy-plugin-build-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "--package-path", repository.appendingPathComponent("Examples/StrategyPlugin").path,
                             "--scratch-path", scratch.path]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw BuildFailed(description: "swift build of Examples/StrategyPlugin failed (\(process.terminationStatus)):\n" + output.suffix(3000))
        }
        let folder = scratch.appendingPathComponent("debug").path
        guard FileManager.default.fileExists(atPath: folder + "/libTimbreRP3beta" + PluginLoader.libraryExtension) else {
            throw BuildFailed(description: "swift build of Examples/StrategyPlugin left no libTimbreRP3beta in \(folder)")
        }
        return folder
    }
}

/// A library written in C: the ABI is C, so this is a plugin "built elsewhere" whose every
/// symbol the test chooses (another version text, a missing entry point, a bogus object).
func cLibrary(_ source: String, name: String) throws -> String {
    let folder = try TestData.folder("c-plugin")
    let c = folder.appendingPathComponent(name + ".c"), library = folder.appendingPathComponent("lib" + name + PluginLoader.libraryExtension)
    try source.write(to: c, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["cc", "-shared", "-fPIC", "-o", library.path, c.path]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ExamplePlugin.BuildFailed(description: "cc failed on \(c.path)") }
    return library.path
}

/// C source of a version symbol writing `text`.
func versionSymbol(_ text: String) -> String {
    """
    #include <string.h>
    int \(StrategyPluginABI.versionSymbol)(char *buffer, long capacity) {
        const char *text = "\(text)";
        strncpy(buffer, text, capacity - 1);
        buffer[capacity - 1] = 0;
        return (int)strlen(text);
    }

    """
}
