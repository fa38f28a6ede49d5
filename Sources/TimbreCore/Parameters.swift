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

public struct ParameterSpec: Sendable {
    public let name: String
    public let summary: String
    public let defaultValue: ParameterValue
    /// For string parameters with a closed set of values.
    public let choices: [String]
    /// For numeric parameters: the values allowed (checked when a spec is resolved, so a bad value
    /// is refused naming strategy, setting and range before anything is fitted or allocated).
    public let range: ClosedRange<Double>?

    public init(_ name: String, _ defaultValue: ParameterValue, _ summary: String, choices: [String] = [],
                range: ClosedRange<Double>? = nil) {
        self.name = name
        self.summary = summary
        self.defaultValue = defaultValue
        self.choices = choices
        self.range = range
    }

    /// "1…1000", "0…∞": how a range reads in messages and listings.
    public var rangeDescription: String? {
        range.map { r in
            func text(_ v: Double) -> String {
                v.isInfinite ? (v > 0 ? "∞" : "−∞") : (v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v))
            }
            return "\(text(r.lowerBound))…\(text(r.upperBound))"
        }
    }
}

public struct ParameterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Resolved parameter values for one strategy: every declared parameter has a value (its default
/// unless overridden), and no undeclared name is accepted.
public struct Parameters: Sendable, Hashable, Codable {
    public private(set) var values: [String: ParameterValue]

    public init(values: [String: ParameterValue] = [:]) { self.values = values }

    /// This set with `name` set to `value` (a resolved value of the declared kind).
    public func setting(_ name: String, to value: ParameterValue) -> Parameters {
        var copy = self
        copy.values[name] = value
        return copy
    }

    /// Resolves `overrides` (name → text, as typed on a command line) against `specs`.
    public init(specs: [ParameterSpec], overrides: [String: String] = [:], strategy: String) throws {
        var values: [String: ParameterValue] = [:]
        for spec in specs { values[spec.name] = spec.defaultValue }
        for (name, text) in overrides {
            guard let spec = specs.first(where: { $0.name == name }) else {
                let known = specs.map(\.name).joined(separator: ", ")
                throw ParameterError("\(strategy) has no parameter '\(name)' (it takes: \(known.isEmpty ? "none" : known))")
            }
            guard let value = spec.defaultValue.parsedLike(text) else {
                throw ParameterError("\(strategy): parameter '\(name)' expects a value like \(spec.defaultValue), got '\(text)'")
            }
            if !spec.choices.isEmpty, !spec.choices.contains(text) {
                throw ParameterError("\(strategy): parameter '\(name)' must be one of \(spec.choices.joined(separator: ", ")), got '\(text)'")
            }
            if let range = spec.range {
                let number: Double? = switch value { case let .int(v): Double(v); case let .double(v): v; default: nil }
                if let number, !range.contains(number) {
                    throw ParameterError("\(strategy): parameter '\(name)' must be in \(spec.rangeDescription!), got \(text)")
                }
            }
            values[name] = value
        }
        self.values = values
    }

    public func int(_ name: String) -> Int {
        switch values[name] {
        case let .int(v): v
        case let .double(v): Int(v)
        default: preconditionFailure("parameter \(name) is not an int")
        }
    }

    public func double(_ name: String) -> Double {
        switch values[name] {
        case let .double(v): v
        case let .int(v): Double(v)
        default: preconditionFailure("parameter \(name) is not a number")
        }
    }

    public func bool(_ name: String) -> Bool {
        guard case let .bool(v) = values[name] else { preconditionFailure("parameter \(name) is not a bool") }
        return v
    }

    public func string(_ name: String) -> String {
        guard case let .string(v) = values[name] else { preconditionFailure("parameter \(name) is not a string") }
        return v
    }

    /// `name=value` pairs in name order, for display and for keys.
    public var summary: String {
        values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: " ")
    }
}
