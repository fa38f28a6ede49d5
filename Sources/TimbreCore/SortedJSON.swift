import Foundation

/// `value` as JSON with sorted keys: stable text for what is stored and compared in the catalog
/// (parameters, training descriptions), so equal values give equal strings.
public func sortedJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
