/// A strategy setting declared once: name, type, default, allowed values and one line of help.
/// A strategy keeps each as a static (`static let k = Setting("k", default: 20, range: 1...100_000, help: …)`),
/// lists their `spec`s as its `parameters`, and reads resolved values with `parameters[Self.k]`.
/// The host resolves specs against the declarations (`Parameters(specs:overrides:strategy:)`), so
/// a value's kind, range and choices are checked once, there, with an error naming strategy,
/// setting and allowed values; the strategy reads a value of the declared type and checks nothing.
public struct Setting<Value: SettingValue>: Sendable {
    public let spec: ParameterSpec
    public let defaultValue: Value

    public var name: String { spec.name }

    init(spec: ParameterSpec, defaultValue: Value) {
        precondition(spec.admits(defaultValue.parameterValue), "\(spec.name)'s default \(defaultValue.parameterValue) is outside its own range")
        self.spec = spec
        self.defaultValue = defaultValue
    }
}

extension Setting where Value == Int {
    public init(_ name: String, default value: Int, range: ClosedRange<Int>, help: String) {
        self.init(spec: ParameterSpec(name, .int(value), help, range: Double(range.lowerBound)...Double(range.upperBound)), defaultValue: value)
    }
}

extension Setting where Value == Double {
    public init(_ name: String, default value: Double, range: ClosedRange<Double>, help: String) {
        self.init(spec: ParameterSpec(name, .double(value), help, range: range), defaultValue: value)
    }

    /// A number that must be strictly above `lowest` (a ridge, a step size), up to `atMost`.
    public init(_ name: String, default value: Double, above lowest: Double, atMost highest: Double = .infinity, help: String) {
        self.init(spec: ParameterSpec(name, .double(value), help, range: lowest...highest, excludingLowest: true), defaultValue: value)
    }
}

extension Setting where Value == Bool {
    public init(_ name: String, default value: Bool, help: String) {
        self.init(spec: ParameterSpec(name, .bool(value), help), defaultValue: value)
    }
}

extension Setting where Value == String {
    /// Free text the strategy parses itself (a nested strategy spec, `auto` or a number).
    public init(_ name: String, default value: String, help: String) {
        self.init(spec: ParameterSpec(name, .string(value), help), defaultValue: value)
    }
}

extension Setting where Value: SettingChoice {
    /// One of the cases of `Value`, spelled by their raw values.
    public init(_ name: String, default value: Value, help: String) {
        self.init(spec: ParameterSpec(name, .string(value.rawValue), help, choices: Value.allCases.map(\.rawValue)), defaultValue: value)
    }
}

/// A type a `Setting` can hold. Int, Double, Bool and String are; an enum of choices is by
/// conforming to `SettingChoice`.
public protocol SettingValue: Sendable {
    var parameterValue: ParameterValue { get }
    /// The value a resolved parameter holds, nil when it holds another kind.
    init?(parameterValue: ParameterValue)
}

/// A closed set of string values (`enum Centring: String, CaseIterable, SettingChoice`).
public protocol SettingChoice: SettingValue, RawRepresentable<String>, CaseIterable {}

extension SettingChoice {
    public var parameterValue: ParameterValue { .string(rawValue) }
    public init?(parameterValue: ParameterValue) {
        guard case let .string(text) = parameterValue else { return nil }
        self.init(rawValue: text)
    }
}

extension SettingValue {
    /// The value a parameter of this type's own kind holds, as it is (Int, Bool, String).
    public init?(parameterValue: ParameterValue) {
        guard let value = parameterValue.payload as? Self else { return nil }
        self = value
    }
}

extension ParameterValue {
    /// What the case holds.
    var payload: any Sendable {
        switch self {
        case let .int(v): v
        case let .double(v): v
        case let .bool(v): v
        case let .string(v): v
        }
    }
}

extension Int: SettingValue {
    public var parameterValue: ParameterValue { .int(self) }
}

extension Double: SettingValue {
    public var parameterValue: ParameterValue { .double(self) }
    /// Also from an int: JSON writes 5.0 as 5, so a stored double may read back as one.
    public init?(parameterValue: ParameterValue) {
        switch parameterValue {
        case let .double(v): self = v
        case let .int(v): self = Double(v)
        default: return nil
        }
    }
}

extension Bool: SettingValue {
    public var parameterValue: ParameterValue { .bool(self) }
}

extension String: SettingValue {
    public var parameterValue: ParameterValue { .string(self) }
}

extension Parameters {
    /// The resolved value of `setting`. Parameters resolved against the strategy's own specs hold
    /// every declared setting with a value of its kind, so this cannot miss or mismatch; anything
    /// else (parameters of another strategy) is a programming error.
    public subscript<Value>(_ setting: Setting<Value>) -> Value {
        guard let stored = values[setting.name] else {
            preconditionFailure("parameters \(summary) were not resolved against a spec declaring '\(setting.name)'")
        }
        guard let value = Value(parameterValue: stored) else {
            preconditionFailure("parameter '\(setting.name)' holds \(stored), not a \(Value.self)")
        }
        return value
    }

    /// This set with `setting` replaced (canonical nested specs); the value is of the declared type.
    public func setting<Value>(_ setting: Setting<Value>, to value: Value) -> Parameters {
        var copy = self
        copy.values[setting.name] = value.parameterValue
        return copy
    }
}

extension Strategy {
    /// A setting read back from a stored model, held to its declared range: decoders and scoring
    /// multiply and allocate by stored sizes (factors, samples, members), so a corrupt blob must not
    /// choose them (scripts/fuzz found 2⁶¹ factors overflowing a Gram matrix).
    public static func storedSetting(_ setting: Setting<Int>, _ value: Int64) throws -> Int {
        guard setting.spec.admits(.int(Int(truncatingIfNeeded: value))), Int64(Int(truncatingIfNeeded: value)) == value else {
            throw ModelDecodingError(description: "\(Self.name) model: \(setting.name) \(value) outside the setting's range \(setting.spec.rangeDescription!)")
        }
        return Int(value)
    }
}
