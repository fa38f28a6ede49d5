import Foundation
import TimbreCore
import TimbreInterchange

public struct IDListFileError: Error, CustomStringConvertible {
    public let description: String
}

/// A file of external ids (users for `recommend --users`, items for `--exclude-items`): one per
/// line, surrounding blanks trimmed; empty lines and lines starting with `#` are skipped.
/// Returns each id with its 1-based line number, for errors naming `file:line`.
public func readIDList(_ path: String) throws -> [(id: String, line: Int)] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw IDListFileError(description: "cannot read \(path)")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw IDListFileError(description: "\(path) is not UTF-8 text") }
    var ids: [(String, Int)] = []
    for (k, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty || line.hasPrefix("#") { continue }
        ids.append((ExternalID.normalised(line), k + 1))  // ids are compared in NFC form
    }
    return ids
}

/// The first listed id that `known` rejects, as an error naming `file:line`.
public func checkIDList(_ ids: [(id: String, line: Int)], path: String, kind: String, known: (String) -> Bool) throws {
    if let bad = ids.first(where: { !known($0.id) }) {
        throw IDListFileError(description: "\(path):\(bad.line): no \(kind) '\(bad.id)' in the catalog")
    }
}
