import Foundation
import TimbreCore

/// A bad rule setting, naming it and what it accepts.
public struct RuleError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `KEY=VALUE` split at the first `=` (the value may hold more); nil without one or without a key.
func splitAssignment(_ text: String) -> (key: String, value: String)? {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else { return nil }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
}

/// The values a metadata field holds as rules compare them: a scalar's text, an array's scalar
/// elements; none for a missing field, null or an object.
func fieldValues(_ metadata: [String: JSONValue], _ key: String) -> [String] {
    switch metadata[key] {
    case let .array(elements)?: elements.compactMap(\.scalarText)
    case let field?: field.scalarText.map { [$0] } ?? []
    case nil: []
    }
}

/// `--where KEY=VALUE`: the item's metadata field KEY equals VALUE, or, when the field is an
/// array (e.g. MovieLens genres), one of its elements does. Numbers and booleans compare by
/// their JSON text (`year=1995`, `live=true`). Items without the field fail the condition. This is
/// what `metadata @> '{"KEY": VALUE}'` means for scalars and arrays, evaluated on the metadata
/// loaded once per process, so a stream request's conditions cost no database round trip.
public struct MetadataCondition: Sendable, Hashable, Codable {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public init(parsing text: String) throws {
        guard let (key, value) = splitAssignment(text) else {
            throw RuleError("--where takes KEY=VALUE (a metadata field and the value it must have), not '\(text)'")
        }
        self.init(key: key, value: value)
    }

    public func matches(_ metadata: [String: JSONValue]) -> Bool { fieldValues(metadata, key).contains(value) }
}

/// `--max-per KEY=N`: at most N items per value of the metadata field KEY (e.g. `album=2`); an
/// item whose field is an array counts towards each of its values; items without it are uncapped.
public struct DiversityCap: Sendable, Hashable, Codable {
    public let key: String
    public let limit: Int

    public init(key: String, limit: Int) {
        self.key = key
        self.limit = limit
    }

    public init(parsing text: String) throws {
        guard let (key, value) = splitAssignment(text), let limit = Int(value), limit >= 1 else {
            throw RuleError("--max-per takes KEY=N with N ≥ 1 (at most N items per value of metadata field KEY), not '\(text)'")
        }
        self.init(key: key, limit: limit)
    }

    func groups(_ metadata: [String: JSONValue]) -> [String] { fieldValues(metadata, key) }
}

/// What a list must respect besides "not already rated": applied after scoring, before the cut
/// to n (LensKit's candidates → scorer → rules → ranker), so a list is filled from the next best
/// items. Catalog exclusions (table `excluded_items`) are added by the service.
public struct RecommendationRules: Sendable, Hashable, Codable {
    /// External ids never to recommend in this request.
    public var excludedItems: [String]
    public var conditions: [MetadataCondition]
    public var caps: [DiversityCap]
    /// Tracks shorter than this are left out; items without audio (no duration) are not tracks and stay.
    public var minDuration: Float?

    public init(excludedItems: [String] = [], conditions: [MetadataCondition] = [], caps: [DiversityCap] = [], minDuration: Float? = nil) {
        self.excludedItems = excludedItems
        self.conditions = conditions
        self.caps = caps
        self.minDuration = minDuration
    }

    /// From the command-line spellings (`--where`, `--max-per`, `--min-duration`), shared by
    /// `recommend`, `publish` and the stream protocol.
    public init(excludedItems: [String], where conditions: [String], maxPer caps: [String], minDuration: Double?) throws {
        if let minDuration, !(minDuration >= 0 && minDuration.isFinite) {
            throw RuleError("--min-duration takes seconds ≥ 0, not \(minDuration)")
        }
        self.init(excludedItems: excludedItems, conditions: try conditions.map(MetadataCondition.init(parsing:)),
                  caps: try caps.map(DiversityCap.init(parsing:)), minDuration: minDuration.map(Float.init))
    }

    public var isEmpty: Bool { excludedItems.isEmpty && conditions.isEmpty && caps.isEmpty && minDuration == nil }
}

/// How many candidates each rule removed: those ranked ahead of the list's last item (all of
/// them when the list could not be filled), each counted under the first rule that removed it.
public struct RuleCounts: Sendable, Equatable, Codable {
    public var excluded = 0
    public var `where` = 0
    public var minDuration = 0
    public var maxPer = 0

    public init(excluded: Int = 0, where: Int = 0, minDuration: Int = 0, maxPer: Int = 0) {
        self.excluded = excluded
        self.where = `where`
        self.minDuration = minDuration
        self.maxPer = maxPer
    }

    public var total: Int { excluded + `where` + minDuration + maxPer }
}

/// Rules resolved against one model's items: a per-item verdict for the fixed rules and each
/// item's groups for the caps.
public struct CompiledRules: Sendable {
    enum Verdict: UInt8 { case keep, excluded, failsWhere, tooShort, notInCatalog }

    let verdicts: [Verdict]
    /// Per cap, per item: the ids of its groups (values of the cap's field).
    let groups: [[[Int32]]]
    let limits: [Int]

    /// `directoryIndex[i]`: model item i's index in `directory`, or -1 when the catalog no
    /// longer has it (never recommended). `alwaysExcluded`: directory indices no one may get.
    public init(_ rules: RecommendationRules, directory: ItemDirectory, directoryIndex: [Int32], alwaysExcluded: Set<Int32>) {
        let excluded = alwaysExcluded.union(rules.excludedItems.compactMap { directory.ids.index(of: $0) })
        verdicts = directoryIndex.map { d in
            guard d >= 0 else { return .notInCatalog }
            if excluded.contains(d) { return .excluded }
            let metadata = directory.metadata[Int(d)]
            if !rules.conditions.allSatisfy({ $0.matches(metadata) }) { return .failsWhere }
            if let minimum = rules.minDuration, let duration = directory.durations[Int(d)], duration < minimum { return .tooShort }
            return .keep
        }
        groups = rules.caps.map { cap in
            var ids: [String: Int32] = [:]
            return directoryIndex.map { d in
                guard d >= 0 else { return [] }
                return cap.groups(directory.metadata[Int(d)]).map { value in
                    if let id = ids[value] { return id }
                    let id = Int32(ids.count)
                    ids[value] = id
                    return id
                }
            }
        }
        limits = rules.caps.map(\.limit)
    }

    /// The best `n` items of `scores` that the user has not rated (`rated`, sorted) and the rules
    /// allow; `userExcluded` (model indices) are removed for this user only. Candidates are taken
    /// best first from a window that grows until the list is full or the candidates run out.
    public func rank(_ scores: [Float], rated: [Int32], n: Int, userExcluded: Set<Int32> = []) -> (items: [ScoredItem], removed: RuleCounts) {
        var window = min(scores.count, max(2 * n, n + 32))
        while true {
            let candidates = topN(scores, n: window, excluding: rated)
            var kept: [ScoredItem] = [], removed = RuleCounts()
            var used = limits.map { _ in [Int32: Int]() }
            for c in candidates where kept.count < n {
                switch verdicts[Int(c.item)] {
                case .notInCatalog: continue
                case .excluded: removed.excluded += 1; continue
                case .failsWhere: removed.where += 1; continue
                case .tooShort: removed.minDuration += 1; continue
                case .keep: break
                }
                if userExcluded.contains(c.item) { removed.excluded += 1; continue }
                let full = groups.indices.contains { k in groups[k][Int(c.item)].contains { used[k][$0, default: 0] >= limits[k] } }
                if full { removed.maxPer += 1; continue }
                for k in groups.indices { for g in groups[k][Int(c.item)] { used[k][g, default: 0] += 1 } }
                kept.append(c)
            }
            if kept.count == n || candidates.count < window || window == scores.count { return (kept, removed) }
            window = min(scores.count, window * 4)
        }
    }
}
