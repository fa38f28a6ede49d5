import Foundation
import Testing

/// No plugin depends on another: code strategies share lives in libraries under Sources/. Only the
/// registry table (Plugins/Registry) names the strategies; a composed strategy reaches others
/// through the registry it is handed at run time, never by import.
@Suite struct ModuleGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func plugins() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Plugins").path)
            .filter { !$0.hasPrefix(".") && $0 != "Registry" }.sorted()
    }

    @Test func noPluginImportsAnother() throws {
        let plugins = try Self.plugins()
        #expect(plugins.count >= 10 && plugins.contains("Bias") && plugins.contains("UserKNN"))
        var files = 0
        for plugin in plugins {
            let folder = Self.root.appendingPathComponent("Plugins/\(plugin)")
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".swift") {
                files += 1
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                let imported = text.split(separator: "\n").compactMap { line -> String? in
                    let words = line.split(separator: " ").filter { $0 != "@testable" && !$0.hasPrefix("@_") }
                    return words.count == 2 && words[0] == "import" ? String(words[1]) : nil
                }
                let others = imported.filter { $0 != plugin && plugins.contains($0) }
                #expect(others.isEmpty, "Plugins/\(plugin)/\(name) imports \(others)")
            }
        }
        #expect(files >= plugins.count)
    }

    /// The manifest agrees: a `strategy("Name", [deps])` lists no other strategy among its deps.
    @Test func noStrategyTargetDependsOnAnother() throws {
        let plugins = try Self.plugins()
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let declarations = manifest.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("strategy(\"") }
        #expect(declarations.count == plugins.count)
        for line in declarations {
            let quoted = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            let dependencies = quoted.dropFirst()
            #expect(!dependencies.contains { plugins.contains($0) }, "\(line)")
        }
    }
}
