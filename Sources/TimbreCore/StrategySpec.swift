/// A strategy named by text, with its parameter overrides, in one of two equivalent forms:
///
///     NAME                              item-knn
///     NAME:key=value,key=value          item-knn:mode=implicit,k=20        (command lines)
///     NAME(key=value,key=value)         item-knn(mode=implicit,k=20)       (inside another spec)
///
/// Values may themselves be specs: commas and colons inside parentheses belong to the value, so
/// `hybrid:first=item-knn(mode=implicit,k=20),second=popularity,weight=0.3` is a hybrid with three
/// overrides. This is the one parser for specs; the evaluator, the CLI and composed strategies use it.
public struct StrategySpec: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var overrides: [String: String]

    public init(name: String, overrides: [String: String] = [:]) {
        self.name = name
        self.overrides = overrides
    }

    /// The spec of resolved parameters: every value spelled out, so it names the configuration
    /// even if defaults change.
    public init(name: String, parameters: Parameters) {
        self.init(name: name, overrides: parameters.values.mapValues(\.description))
    }

    /// The nested form with keys in order: `name(a=1,b=x)`, or `name` without overrides.
    public var description: String {
        overrides.isEmpty ? name : name + "(" + overrides.keys.sorted().map { "\($0)=\(overrides[$0]!)" }.joined(separator: ",") + ")"
    }

    public static func parse(_ text: String) throws -> StrategySpec {
        func fail(_ why: String) -> StrategySpecError { StrategySpecError("strategy spec '\(text)': \(why)") }
        // Parentheses must balance before anything else is read, so errors point at them.
        var depth = 0
        for (offset, c) in text.enumerated() {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            guard depth >= 0 else { throw fail("')' at character \(offset + 1) closes nothing") }
        }
        guard depth == 0 else { throw fail("\(depth) '(' never closed") }

        guard let end = text.firstIndex(where: { $0 == ":" || $0 == "(" }) else {
            try checkName(text[...], fail)
            return StrategySpec(name: text)
        }
        try checkName(text[..<end], fail)
        var body = text[text.index(after: end)...]
        if text[end] == "(" {
            // The '(' after the name must close at the very end: `name(…)`, nothing after it.
            var open = 0
            let close = text[end...].firstIndex { c in
                open += c == "(" ? 1 : c == ")" ? -1 : 0
                return open == 0
            }!
            guard text.index(after: close) == text.endIndex else {
                throw fail("'\(text[text.index(after: close)...])' after the ')' that closes '\(text[..<end])('")
            }
            body = body.dropLast()
        }
        var overrides: [String: String] = [:]
        for pair in body.isEmpty ? [] : topLevelSplit(body, on: ",") {
            // An empty value (`key=`) is a value: canonical specs spell out empty string settings.
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw fail("'\(pair)' is not key=value")
            }
            let key = String(pair[..<eq])
            guard overrides.updateValue(String(pair[pair.index(after: eq)...]), forKey: key) == nil else {
                throw fail("'\(key)' is given twice")
            }
        }
        return StrategySpec(name: String(text[..<end]), overrides: overrides)
    }

    private static func checkName(_ name: Substring, _ fail: (String) -> StrategySpecError) throws {
        guard !name.isEmpty else { throw fail("no strategy name") }
        if let bad = name.first(where: { "=,)".contains($0) }) { throw fail("'\(bad)' in the strategy name '\(name)'") }
    }
}

/// Splits at `separator` where no parenthesis is open.
func topLevelSplit(_ text: Substring, on separator: Character) -> [Substring] {
    var parts: [Substring] = []
    var depth = 0, start = text.startIndex
    for i in text.indices {
        switch text[i] {
        case "(": depth += 1
        case ")": depth -= 1
        case separator where depth == 0:
            parts.append(text[start..<i])
            start = text.index(after: i)
        default: break
        }
    }
    parts.append(text[start...])
    return parts
}

public struct StrategySpecError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
