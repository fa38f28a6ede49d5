import Foundation
import TimbreCatalog
import TimbreCore

/// An exact title that several items carry: the caller must say which by external id.
public struct AmbiguousTitleError: Error, CustomStringConvertible, Equatable {
    public let title: String
    public let candidates: [String]
    public var description: String {
        "'\(title)' is the title of \(candidates.count) items; give one of their ids instead: \(candidates.joined(separator: ", "))"
    }
}

/// The catalog's items in memory, by dense index in catalog-id order: external ids, titles,
/// metadata and track durations, for rules, titles in lists and addressing items by name.
public struct ItemDirectory: Sendable {
    public let ids: Vocabulary
    public let catalogIDs: [Int64]
    public let titles: [String?]
    public let metadata: [[String: JSONValue]]
    public let durations: [Float?]
    private let byTitle: [String: [Int32]]

    public init(_ details: [CatalogItemDetails]) throws {
        ids = Vocabulary(details.map(\.externalID))
        catalogIDs = details.map(\.catalogID)
        titles = details.map(\.title)
        metadata = try details.map { d in
            guard case let .object(fields) = try JSONValue.parse(d.metadataJSON) else { return [:] }
            return fields
        }
        durations = details.map(\.durationSeconds)
        var byTitle: [String: [Int32]] = [:]
        for (k, t) in titles.enumerated() { if let t { byTitle[t, default: []].append(Int32(k)) } }
        self.byTitle = byTitle
    }

    public var count: Int { ids.count }

    /// The item an external id or else an exact title names; nil when neither matches. A title
    /// several items carry is refused, listing their ids.
    public func resolve(_ idOrTitle: String) throws -> Int32? {
        if let k = ids.index(of: idOrTitle) { return k }
        guard let matches = byTitle[idOrTitle] else { return nil }
        guard matches.count == 1 else { throw AmbiguousTitleError(title: idOrTitle, candidates: matches.map { ids[$0] }) }
        return matches[0]
    }

    /// Items whose external id, title or a text metadata value (artist, album, …) contains
    /// `text`, ignoring case: exact title matches first, then titles starting with it, then the
    /// rest, each group in catalog order.
    public func search(_ text: String, limit: Int) -> [Int32] {
        let needle = text.lowercased()
        var groups: [[Int32]] = [[], [], []]
        for k in 0..<count {
            let title = titles[k]?.lowercased() ?? ""
            if title == needle { groups[0].append(Int32(k)) }
            else if title.hasPrefix(needle) { groups[1].append(Int32(k)) }
            else if title.contains(needle) || ids[Int32(k)].lowercased().contains(needle)
                        || metadata[k].values.contains(where: { $0.scalarText?.lowercased().contains(needle) == true }) {
                groups[2].append(Int32(k))
            }
        }
        return Array(groups.joined().prefix(limit))
    }
}

/// One item as `timbre items` shows it.
public struct ItemSummary: Sendable, Codable, Equatable {
    public let item: String
    public let title: String?
    public let durationSeconds: Float?
    public let metadata: [String: JSONValue]

    /// The metadata as compact JSON with sorted keys.
    public var metadataText: String { (try? sortedJSON(metadata)) ?? "{}" }
}

extension ItemDirectory {
    public func summary(_ k: Int32) -> ItemSummary {
        ItemSummary(item: ids[k], title: titles[Int(k)], durationSeconds: durations[Int(k)], metadata: metadata[Int(k)])
    }
}
