import Foundation
import TimbreCore

public struct RatingRecord: Sendable, Equatable {
    public var user: String
    public var item: String
    public var value: Float
    /// Seconds since 1970, when the file has them.
    public var timestamp: Int64?
    public var line: Int
}

/// Plays of one user–item pair from one line: 1 for a play-log line, the count of a count file.
public struct PlayRecord: Sendable, Equatable {
    public var user: String
    public var item: String
    public var count: Int32
    /// Seconds since 1970, when the file has them.
    public var timestamp: Int64?
    public var line: Int
}

public struct ItemRecord: Sendable, Equatable {
    public var id: String
    public var title: String?
    /// Everything else in the row, as a JSON object (genre lists become arrays).
    public var metadataJSON: String
    public var line: Int
}

public struct UserRecord: Sendable, Equatable {
    public var id: String
    public var attributesJSON: String
    public var line: Int
}

extension RatingScale {
    /// A scale as `--scale` writes it: "1:5" or "0.5,5".
    public init?(parsing text: String) {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == "," }).map(String.init)
        guard parts.count == 2, let lo = Float(parts[0]), let hi = Float(parts[1]), lo <= hi else { return nil }
        self = lo...hi
    }

    public static let movieLens: RatingScale = 0.5...5
}

extension DelimitedTable {
    static let userColumns = ["user_id", "userid", "user", "uid"]
    static let itemColumns = ["item_id", "itemid", "movieid", "movie_id", "item", "iid", "track_id"]

    /// Ratings with values checked against `scale`; a user–item pair twice in one file is an error
    /// (which line is meant is ambiguous).
    public func ratingRecords(scale: RatingScale) throws -> [RatingRecord] {
        let u = try requireColumn(Self.userColumns, "user")
        let i = try requireColumn(Self.itemColumns, "item")
        let r = try requireColumn(["rating", "value", "score", "preference"], "rating")
        let t = column(["timestamp", "time", "rated_at"])
        var seen: [String: Int] = [:]
        seen.reserveCapacity(rows.count)
        var users = IDSpellings(file: file, what: "user"), items = IDSpellings(file: file, what: "item")
        return try zip(rows, lineNumbers).map { row, line in
            let user = try users.id(row[u], line: line), item = try items.id(row[i], line: line)
            let text = row[r]
            // Decimal notation only: Float("0x1p2") is 4 and Float("nan") is NaN, neither a rating.
            guard isDecimalNumber(text), let value = Float(text), value.isFinite else {
                throw InputFileError(file: file, line: line, "rating '\(excerpt(text))' is not a number (decimal notation, e.g. 3.5)")
            }
            guard scale.contains(value) else {
                throw InputFileError(file: file, line: line, "rating \(text) is outside the scale \(scale.lowerBound)–\(scale.upperBound) (set another with --scale)")
            }
            let timestamp = try t.flatMap { try timestampSeconds(row[$0], line: line) }
            let key = user + "\u{1F}" + item
            if let earlier = seen.updateValue(line, forKey: key) {
                throw InputFileError(file: file, line: line, "user \(user) already rated item \(item) on line \(earlier)")
            }
            return RatingRecord(user: user, item: item, value: value, timestamp: timestamp, line: line)
        }
    }

    /// A time column's value as seconds since 1970; nil when empty.
    func timestampSeconds(_ text: String, line: Int) throws -> Int64? {
        guard !text.isEmpty else { return nil }
        // Years 1 to 9999, what PostgreSQL's timestamptz holds.
        guard isDecimalNumber(text), let seconds = Double(text), seconds >= -62_135_596_800, seconds < 253_402_300_800 else {
            throw InputFileError(file: file, line: line, "timestamp '\(excerpt(text))' is not a decimal number of seconds between the years 1 and 9999")
        }
        // Timbre keeps whole seconds: a fraction is rounded to the nearest second.
        return Int64(seconds.rounded(.toNearestOrAwayFromZero))
    }

    static let countColumns = ["count", "plays", "play_count", "playcount", "listens", "listen_count"]
    static let playTimeColumns = ["timestamp", "time", "played_at", "ts"]

    /// Plays: one row per play (no count column: each row counts 1) or per pair with a count
    /// (a whole number ≥ 1). Rows of one pair add up, so a pair may appear on many lines.
    public func playRecords() throws -> [PlayRecord] {
        let u = try requireColumn(Self.userColumns, "user")
        let i = try requireColumn(Self.itemColumns, "item")
        let c = column(Self.countColumns)
        let t = column(Self.playTimeColumns)
        var users = IDSpellings(file: file, what: "user"), items = IDSpellings(file: file, what: "item")
        return try zip(rows, lineNumbers).map { row, line in
            let user = try users.id(row[u], line: line), item = try items.id(row[i], line: line)
            var count: Int32 = 1
            if let c {
                // RecBole writes counts as floats ("3.0"); anything but a whole number ≥ 1 is refused.
                let text = row[c]
                guard isDecimalNumber(text), let value = Double(text), value >= 1, value <= Double(Int32.max), value.rounded() == value else {
                    throw InputFileError(file: file, line: line, "play count '\(text)' is not a whole number from 1 to \(Int32.max)")
                }
                count = Int32(value)
            }
            return PlayRecord(user: user, item: item, count: count, timestamp: try t.flatMap { try timestampSeconds(row[$0], line: line) }, line: line)
        }
    }

    public func itemRecords() throws -> [ItemRecord] {
        let id = try requireColumn(Self.itemColumns, "item")
        let title = column(["title", "movie_title", "name", "track_title"])
        let genreFlags = columns.indices.filter { columns[$0].hasPrefix("genre:") }
        return try rowsByID(column: id, what: "item") { row, line, key in
            var metadata: [String: Any] = [:]
            for (c, name) in columns.enumerated() where c != id && c != title && !genreFlags.contains(c) {
                let v = row[c]
                switch name.lowercased() {
                case "class", "genres", "genre":
                    // RecBole's `class` is a space-separated token_seq; MovieLens CSV/.dat use '|'.
                    let separator: Character = name.lowercased() == "class" ? " " : "|"
                    metadata["genres"] = v == "(no genres listed)" ? [] : v.split(separator: separator).map(String.init)
                default:
                    if !v.isEmpty { metadata[name] = v }
                }
            }
            if !genreFlags.isEmpty {
                metadata["genres"] = genreFlags.filter { row[$0] == "1" }.map { String(columns[$0].dropFirst(6)) }
            }
            let titleText = title.map { row[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            return ItemRecord(id: key, title: titleText, metadataJSON: try jsonObject(metadata), line: line)
        }
    }

    public func userRecords() throws -> [UserRecord] {
        let id = try requireColumn(Self.userColumns, "user")
        return try rowsByID(column: id, what: "user") { row, line, key in
            var attributes: [String: Any] = [:]
            for (c, name) in columns.enumerated() where c != id && !row[c].isEmpty { attributes[name] = row[c] }
            return UserRecord(id: key, attributesJSON: try jsonObject(attributes), line: line)
        }
    }

    /// `record` of each row, its line and its id (column `id`) in the file's spelling; a file that
    /// describes each `what` once, so an id listed again is an error naming both lines.
    func rowsByID<Record>(column id: Int, what: String,
                          _ record: (_ row: [String], _ line: Int, _ id: String) throws -> Record) throws -> [Record] {
        var seen: [String: Int] = [:]
        var spellings = IDSpellings(file: file, what: what)
        return try zip(rows, lineNumbers).map { row, line in
            let key = try spellings.id(row[id], line: line)
            if let earlier = seen.updateValue(line, forKey: key) {
                throw InputFileError(file: file, line: line, "\(what) \(key) is listed again (first on line \(earlier))")
            }
            return try record(row, line, key)
        }
    }
}

/// `[+-]digits[.digits][e[+-]digits]` (or `.5`): the numbers data files write. Swift's
/// parsers also take hexadecimal floats, "inf" and "nan".
func isDecimalNumber(_ text: String) -> Bool {
    var bytes = text.utf8[...]
    if let f = bytes.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    func digits() -> Int {
        let n = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        bytes = bytes.dropFirst(n)
        return n
    }
    var mantissa = digits()
    if bytes.first == UInt8(ascii: ".") { bytes = bytes.dropFirst(); mantissa += digits() }
    guard mantissa > 0 else { return false }
    if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
        bytes = bytes.dropFirst()
        if let s = bytes.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        guard digits() > 0 else { return false }
    }
    return bytes.isEmpty
}

private func jsonObject(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}
