/// A strategy parameter's value. Kept to four kinds so they print, parse and store as JSON simply.
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case let .int(v): String(v)
        case let .double(v): String(v)
        case let .bool(v): String(v)
        case let .string(v): v
        }
    }

    var isNumber: Bool {
        switch self { case .int, .double: true; default: false }
    }

    /// Parses `text` as the same kind as `self` (the parameter's default).
    func parsedLike(_ text: String) -> ParameterValue? {
        switch self {
        case .int: Int(text).map(ParameterValue.int)
        case .double: Double(text).flatMap { $0.isFinite ? ParameterValue.double($0) : nil }
        case .bool: Bool(text).map(ParameterValue.bool)
        case .string: .string(text)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .int(v): try c.encode(v)
        case let .double(v): try c.encode(v)
        case let .bool(v): try c.encode(v)
        case let .string(v): try c.encode(v)
        }
    }
}

/// One declared setting as a host lists and checks it. Strategies declare settings as typed
/// `Setting`s (Setting.swift) and take their specs from them, so each is written once.
public struct ParameterSpec: Sendable {
    public let name: String
    public let summary: String
    public let defaultValue: ParameterValue
    /// For string parameters with a closed set of values.
    public let choices: [String]
    /// For numeric parameters: the values allowed (checked when a spec is resolved, so a bad value
    /// is refused naming strategy, setting and range before anything is fitted or allocated).
    public let range: ClosedRange<Double>?
    /// The range's lower bound itself is not allowed (a ridge or a step size must be > 0).
    public let excludingLowest: Bool

    public init(_ name: String, _ defaultValue: ParameterValue, _ summary: String, choices: [String] = [],
                range: ClosedRange<Double>? = nil, excludingLowest: Bool = false) {
        self.name = name
        self.summary = summary
        self.defaultValue = defaultValue
        self.choices = choices
        self.range = range
        self.excludingLowest = excludingLowest
    }

    /// "1…1000", "0…∞", "> 0", "> 0 and ≤ 1": how a range reads in messages and listings.
    public var rangeDescription: String? {
        range.map { r in
            func text(_ v: Double) -> String {
                v.isInfinite ? (v > 0 ? "∞" : "−∞") : (v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v))
            }
            guard excludingLowest else { return "\(text(r.lowerBound))…\(text(r.upperBound))" }
            return r.upperBound.isInfinite ? "> \(text(r.lowerBound))" : "> \(text(r.lowerBound)) and ≤ \(text(r.upperBound))"
        }
    }

    /// Whether `value` is of this setting's kind and within its range and choices.
    func admits(_ value: ParameterValue) -> Bool {
        switch (defaultValue, value) {
        case (.int, .int(let v)): return inRange(Double(v))
        case (.double, .double(let v)): return v.isFinite && inRange(v)
        case (.double, .int(let v)): return inRange(Double(v))
        case (.bool, .bool): return true
        case (.string, .string(let v)): return choices.isEmpty || choices.contains(v)
        default: return false
        }
    }

    private func inRange(_ v: Double) -> Bool {
        guard let range else { return true }
        return range.contains(v) && !(excludingLowest && v == range.lowerBound)
    }

    /// The error for a value `admits` refused: what the setting accepts, and what it got.
    /// `typed`: the text as given on a command line, shown instead of the parsed value.
    func refusal(_ value: ParameterValue, typed: String? = nil, strategy: String) -> ParameterError {
        let shown = if case let .string(text) = value { "'\(text)'" } else { typed ?? value.description }
        if let r = rangeDescription, value.isNumber { return ParameterError("\(strategy): parameter '\(name)' must be in \(r), got \(shown)") }
        if !choices.isEmpty, case .string = value {
            return ParameterError("\(strategy): parameter '\(name)' must be one of \(choices.joined(separator: ", ")), got \(shown)")
        }
        return ParameterError("\(strategy): parameter '\(name)' expects a value like \(defaultValue), got \(shown)")
    }
}

public struct ParameterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Resolved parameter values for one strategy: every declared parameter has a value (its default
/// unless overridden), and no undeclared name is accepted.
public struct Parameters: Sendable, Hashable, Codable {
    public internal(set) var values: [String: ParameterValue]

    /// Values as stored (a run's record, a model's bytes), not checked against any strategy; for
    /// display and coding. A strategy is built only from `init(specs:…)` or `init(resolving:…)`.
    public init(values: [String: ParameterValue] = [:]) { self.values = values }

    /// Resolves `overrides` (name → text, as typed on a command line) against `specs`.
    public init(specs: [ParameterSpec], overrides: [String: String] = [:], strategy: String) throws {
        var values: [String: ParameterValue] = [:]
        for spec in specs { values[spec.name] = spec.defaultValue }
        for (name, text) in overrides {
            let spec = try Self.declaration(name, in: specs, strategy: strategy)
            guard let value = spec.defaultValue.parsedLike(text) else {
                throw ParameterError("\(strategy): parameter '\(name)' expects a value like \(spec.defaultValue), got '\(text)'")
            }
            guard spec.admits(value) else { throw spec.refusal(value, typed: text, strategy: strategy) }
            values[name] = value
        }
        self.values = values
    }

    /// Checks stored `values` (a component's parameters read back from a model) against `specs`:
    /// each must be declared, of its kind and allowed; settings added since take their default.
    public init(resolving stored: [String: ParameterValue], specs: [ParameterSpec], strategy: String) throws {
        var values: [String: ParameterValue] = [:]
        for spec in specs { values[spec.name] = spec.defaultValue }
        for (name, value) in stored {
            let spec = try Self.declaration(name, in: specs, strategy: strategy)
            guard spec.admits(value) else { throw spec.refusal(value, strategy: strategy) }
            // An int stored for a double setting (JSON's 5 for 5.0) is read as the double it is.
            if case .double = spec.defaultValue, case let .int(v) = value { values[name] = .double(Double(v)) } else { values[name] = value }
        }
        self.values = values
    }

    /// The spec of `name` among `specs`; an unknown name is refused with the names there are.
    public static func declaration(_ name: String, in specs: [ParameterSpec], strategy: String) throws -> ParameterSpec {
        if let spec = specs.first(where: { $0.name == name }) { return spec }
        let known = specs.map(\.name).joined(separator: ", ")
        // A near miss (`regularization` for `regularisation`, a typo) is named, not guessed at.
        let near = specs.map(\.name).filter { editDistance($0, name) <= 2 }.min { editDistance($0, name) < editDistance($1, name) }
        throw ParameterError("\(strategy) has no parameter '\(name)'\(near.map { " (did you mean '\($0)'?)" } ?? "") (it takes: \(known.isEmpty ? "none" : known))")
    }

    /// `name=value` pairs in name order, for display and for keys.
    public var summary: String {
        values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: " ")
    }
}

/// Levenshtein distance between two short names.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
