import Foundation

/// An error in an input file, naming the file and (1-based) line.
public struct InputFileError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// The layouts Timbre reads. Headerless MovieLens layouts get their column names from the kind
/// of table (ratings, items, users) being read.
public enum TableLayout: String, Sendable, CaseIterable {
    /// RecBole atomic files (`.inter`, `.item`, `.user`): tab-separated, `name:type` header; also
    /// any `.tsv` with a header line.
    case atomic
    /// MovieLens-100K `u.data` / `u.item` / `u.user`: tab- or pipe-separated, no header, Latin-1.
    case movielens100k
    /// MovieLens-1M/10M `ratings.dat` / `movies.dat` / `users.dat`: `::`-separated, no header.
    case movielensDat
    /// CSV with a header (MovieLens `ratings.csv`, `movies.csv`, or any plain CSV); RFC 4180 quoting,
    /// except that a quoted field may not span lines.
    case csv

    /// Guesses the layout from the file name.
    public static func guess(for path: String) -> TableLayout {
        let name = (path as NSString).lastPathComponent.lowercased()
        // A TSV with a plain header reads as an atomic file (tab-separated, names without `:type`).
        if name.hasSuffix(".inter") || name.hasSuffix(".item") || name.hasSuffix(".user") || name.hasSuffix(".tsv") { return .atomic }
        if name.hasSuffix(".dat") { return .movielensDat }
        if name.hasPrefix("u.") && !name.hasSuffix(".csv") { return .movielens100k }
        return .csv
    }
}

public enum TableKind: String, Sendable {
    case ratings, plays, items, users

    /// Column names of headerless MovieLens files.
    func movielensColumns(_ layout: TableLayout) -> [String] {
        switch (self, layout) {
        case (.ratings, _): ["user_id", "item_id", "rating", "timestamp"]
        case (.plays, _): ["user_id", "item_id", "count", "timestamp"]
        case (.items, .movielensDat): ["item_id", "title", "genres"]
        case (.items, _): ["item_id", "title", "release_date", "video_release_date", "imdb_url"]
            + Self.ml100kGenres.map { "genre:\($0)" }
        case (.users, .movielensDat): ["user_id", "gender", "age", "occupation", "zip_code"]
        case (.users, _): ["user_id", "age", "gender", "occupation", "zip_code"]
        }
    }

    static let ml100kGenres = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                               "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                               "Romance", "Sci-Fi", "Thriller", "War", "Western"]
}

/// A whole delimited file in memory: column names (RecBole `:type` suffixes dropped) and rows of
/// fields, each with its line number.
public struct DelimitedTable: Sendable {
    public let file: String
    public let columns: [String]
    public let rows: [[String]]
    public let lineNumbers: [Int]

    public static func read(path: String, kind: TableKind, layout: TableLayout? = nil) throws -> DelimitedTable {
        let layout = layout ?? .guess(for: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputFileError(file: path, line: nil, "cannot read the file (missing or unreadable)")
        }
        return try parse([UInt8](data), file: path, kind: kind, layout: layout)
    }

    public static func parse(_ bytes: [UInt8], file: String, kind: TableKind, layout: TableLayout) throws -> DelimitedTable {
        var lines = splitLines(bytes)
        var columns: [String]
        switch layout {
        case .atomic, .csv:
            guard let header = lines.first else { throw InputFileError(file: file, line: nil, "the file is empty (a header line was expected)") }
            lines.removeFirst()
            let names = layout == .csv ? try splitCSV(header.bytes, file: file, line: header.number) : split(header.bytes, by: [UInt8(ascii: "\t")])
            columns = names.map { name in
                let n = decode(name)
                return layout == .atomic ? String(n.split(separator: ":", maxSplits: 1).first ?? "") : n
            }
        case .movielens100k, .movielensDat:
            columns = kind.movielensColumns(layout)
        }
        var rows: [[String]] = []
        var numbers: [Int] = []
        rows.reserveCapacity(lines.count)
        numbers.reserveCapacity(lines.count)
        for line in lines {
            let fields: [ArraySlice<UInt8>]
            switch layout {
            case .atomic: fields = split(line.bytes, by: [UInt8(ascii: "\t")])
            case .csv: fields = try splitCSV(line.bytes, file: file, line: line.number)
            case .movielensDat: fields = split(line.bytes, by: Array("::".utf8))
            case .movielens100k:
                // u.data is tab-separated, u.item / u.user pipe-separated.
                fields = split(line.bytes, by: [line.bytes.contains(UInt8(ascii: "\t")) ? UInt8(ascii: "\t") : UInt8(ascii: "|")])
            }
            guard fields.count == columns.count else {
                throw InputFileError(file: file, line: line.number,
                                     "expected \(columns.count) fields (\(columns.joined(separator: ", "))), found \(fields.count)")
            }
            rows.append(fields.map(decode))
            numbers.append(line.number)
        }
        return DelimitedTable(file: file, columns: columns, rows: rows, lineNumbers: numbers)
    }

    /// Index of the first column whose name is one of `names` (case-insensitive).
    public func column(_ names: [String]) -> Int? {
        let lowered = columns.map { $0.lowercased() }
        for n in names { if let i = lowered.firstIndex(of: n.lowercased()) { return i } }
        return nil
    }

    public func requireColumn(_ names: [String], _ what: String) throws -> Int {
        guard let i = column(names) else {
            throw InputFileError(file: file, line: 1, "no \(what) column (looked for \(names.joined(separator: ", ")); found \(columns.joined(separator: ", ")))")
        }
        return i
    }

    // MARK: byte-level splitting

    private struct Line { let bytes: ArraySlice<UInt8>; let number: Int }

    /// Non-blank lines with their numbers; accepts \n and \r\n, drops a UTF-8 BOM.
    private static func splitLines(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var number = 1
        var i = start
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
                var end = i
                if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let slice = bytes[start..<end]
                if slice.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) {
                    out.append(Line(bytes: slice, number: number))
                }
                number += 1
                start = i + 1
            }
            i += 1
        }
        return out
    }

    private static func split(_ line: ArraySlice<UInt8>, by separator: [UInt8]) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
        var start = line.startIndex
        var i = line.startIndex
        let first = separator[0]
        while i < line.endIndex {
            if line[i] == first, separator.count == 1 || line[i...].starts(with: separator) {
                fields.append(line[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        fields.append(line[start..<line.endIndex])
        return fields
    }

    private static func splitCSV(_ line: ArraySlice<UInt8>, file: String, line number: Int) throws -> [ArraySlice<UInt8>] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        var fields: [ArraySlice<UInt8>] = []
        var current: [UInt8] = []
        var quoted = false
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if quoted {
                if c == quote {
                    if i + 1 < line.endIndex, line[i + 1] == quote { current.append(quote); i += 1 } else { quoted = false }
                } else { current.append(c) }
            } else if c == quote, current.isEmpty {
                quoted = true
            } else if c == comma {
                fields.append(current[...])
                current = []
            } else { current.append(c) }
            i += 1
        }
        if quoted { throw InputFileError(file: file, line: number, "unterminated quoted field") }
        fields.append(current[...])
        return fields
    }

    /// UTF-8, or Latin-1 for the older MovieLens files that are not valid UTF-8.
    private static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var bytes = bytes
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes.removeFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x09 { bytes.removeLast() }
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return String(bytes.map { Character(Unicode.Scalar($0)) })
    }
}
