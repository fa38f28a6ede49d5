import Foundation
import TimbreCore

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

/// How the bytes of a file are turned into text. UTF-8 is the default and invalid UTF-8 is an
/// error naming the line; Latin-1 (ISO 8859-1) must be asked for (e.g. MovieLens-100K's u.item).
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8
    case latin1
}

/// A whole delimited file in memory: column names (RecBole `:type` suffixes dropped) and rows of
/// fields, each with its line number. The file is read as a stream of lines, each at most
/// `maxLineBytes` long, so a malformed file (one huge line) fails fast with little memory.
public struct DelimitedTable: Sendable {
    public let file: String
    public let columns: [String]
    public let rows: [[String]]
    public let lineNumbers: [Int]

    /// Longest line accepted, in bytes.
    public static let maxLineBytes = 1 << 20

    public static func read(path: String, kind: TableKind, layout: TableLayout? = nil,
                            encoding: TextEncoding = .utf8) throws -> DelimitedTable {
        var lines = try LineReader(path: path)
        defer { lines.close() }
        return try parse(&lines, file: path, kind: kind, layout: layout ?? .guess(for: path), encoding: encoding)
    }

    public static func parse(_ bytes: [UInt8], file: String, kind: TableKind, layout: TableLayout,
                             encoding: TextEncoding = .utf8) throws -> DelimitedTable {
        var lines = LineReader(bytes: bytes, file: file)
        return try parse(&lines, file: file, kind: kind, layout: layout, encoding: encoding)
    }

    private static func parse(_ lines: inout LineReader, file: String, kind: TableKind, layout: TableLayout,
                              encoding: TextEncoding) throws -> DelimitedTable {
        var columns: [String]
        switch layout {
        case .atomic, .csv:
            guard let header = try lines.next() else {
                throw InputFileError(file: file, line: nil, "the file is empty (a header line was expected)")
            }
            try check(header.bytes, file: file, line: header.number, encoding: encoding)
            let names = layout == .csv ? try splitCSV(header.bytes, limit: .max, file: file, line: header.number)
                : split(header.bytes, by: [UInt8(ascii: "\t")], limit: .max)
            columns = names.map { name in
                let n = decode(name, encoding)
                return layout == .atomic ? String(n.split(separator: ":", maxSplits: 1).first ?? "") : n
            }
        case .movielens100k, .movielensDat:
            columns = kind.movielensColumns(layout)
        }
        var rows: [[String]] = []
        var numbers: [Int] = []
        while let line = try lines.next() {
            try check(line.bytes, file: file, line: line.number, encoding: encoding)
            // At most one field more than expected is split off: enough to say the count is wrong
            // without building a million empty fields from a line of commas.
            let limit = columns.count + 1
            let fields: [ArraySlice<UInt8>]
            switch layout {
            case .atomic: fields = split(line.bytes, by: [UInt8(ascii: "\t")], limit: limit)
            case .csv: fields = try splitCSV(line.bytes, limit: limit, file: file, line: line.number)
            case .movielensDat: fields = split(line.bytes, by: Array("::".utf8), limit: limit)
            case .movielens100k:
                // u.data is tab-separated, u.item / u.user pipe-separated.
                fields = split(line.bytes, by: [line.bytes.contains(UInt8(ascii: "\t")) ? UInt8(ascii: "\t") : UInt8(ascii: "|")], limit: limit)
            }
            guard fields.count == columns.count else {
                let found = fields.count > columns.count ? "more" : "\(fields.count)"
                throw InputFileError(file: file, line: line.number,
                                     "expected \(columns.count) fields (\(columns.joined(separator: ", "))), found \(found)")
            }
            rows.append(fields.map { decode($0, encoding) })
            numbers.append(line.number)
        }
        return DelimitedTable(file: file, columns: columns, rows: rows, lineNumbers: numbers)
    }

    /// Refuses NUL bytes (never text; COPY would reject them far from the file) and, for UTF-8,
    /// invalid byte sequences, naming the byte's column.
    private static func check(_ line: ArraySlice<UInt8>, file: String, line number: Int, encoding: TextEncoding) throws {
        if let nul = line.firstIndex(of: 0) {
            throw InputFileError(file: file, line: number, "NUL byte at byte \(nul - line.startIndex + 1) of the line (not a text file?)")
        }
        guard encoding == .utf8, line.contains(where: { $0 >= 0x80 }), String(validating: line, as: UTF8.self) == nil else { return }
        var decoder = UTF8()
        var iterator = line.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return
            case .error:
                let byte = line[line.startIndex + min(offset, line.count - 1)]
                throw InputFileError(file: file, line: number, String(format: "not valid UTF-8 (byte 0x%02X at byte %d of the line); if the file is Latin-1, pass --encoding latin1", byte, offset + 1))
            }
        }
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

    private static func split(_ line: ArraySlice<UInt8>, by separator: [UInt8], limit: Int) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
        var start = line.startIndex
        var i = line.startIndex
        let first = separator[0]
        while i < line.endIndex, fields.count < limit {
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

    private static func splitCSV(_ line: ArraySlice<UInt8>, limit: Int, file: String, line number: Int) throws -> [ArraySlice<UInt8>] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        var fields: [ArraySlice<UInt8>] = []
        var current: [UInt8] = []
        var quoted = false
        var i = line.startIndex
        while i < line.endIndex, fields.count < limit {
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

    /// Trimmed of spaces and tabs; UTF-8 (already validated) or Latin-1.
    private static func decode(_ bytes: ArraySlice<UInt8>, _ encoding: TextEncoding) -> String {
        var bytes = bytes
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes.removeFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x09 { bytes.removeLast() }
        switch encoding {
        case .utf8: return String(decoding: bytes, as: UTF8.self)
        case .latin1: return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
    }
}

/// Non-blank lines of a file or buffer with their 1-based numbers, read in chunks. Accepts \n,
/// \r\n and a lone \r (old Mac files) as line ends and drops a UTF-8 byte-order mark. A line longer
/// than `DelimitedTable.maxLineBytes` is an error as soon as that many bytes are buffered.
struct LineReader {
    struct Line { let bytes: ArraySlice<UInt8>; let number: Int }

    let file: String
    private var descriptor: Int32 = -1
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var number = 0
    private var first = true
    private static let chunk = 1 << 20

    init(bytes: [UInt8], file: String) {
        self.file = file
        buffer = bytes
        atEnd = true
    }

    /// Opens `path`, which must be a regular file: a FIFO or device would block or never end.
    init(path: String) throws {
        file = path
        switch FileKind.of(path) {
        case .regular: break
        case .unavailable(let reason): throw InputFileError(file: path, line: nil, "cannot read the file: \(reason)")
        case let kind: throw InputFileError(file: path, line: nil, "not a regular file (it is \(kind))")
        }
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw InputFileError(file: path, line: nil, "cannot read the file: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes the file early (after an error); reading to the end closes it too.
    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        atEnd = true
    }

    private mutating func fill() throws {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let old = buffer.count
        buffer.reserveCapacity(old + Self.chunk)
        buffer.append(contentsOf: repeatElement(0, count: Self.chunk))
        let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + old, Self.chunk) }
        guard n >= 0 else {
            buffer.removeLast(Self.chunk)
            throw InputFileError(file: file, line: number + 1, "read failed: \(String(cString: strerror(errno)))")
        }
        buffer.removeLast(Self.chunk - n)
        if n == 0 { close() }
    }

    mutating func next() throws -> Line? {
        while true {
            if first {
                while !atEnd, buffer.count - start < 3 { try fill() }
                if buffer[start...].starts(with: [0xEF, 0xBB, 0xBF]) { start += 3 }
                first = false
            }
            var scanned = start
            var end: Int?
            var terminator = 0
            while end == nil {
                if let i = buffer[scanned...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                    if buffer[i] == 0x0D, i + 1 == buffer.count, !atEnd {
                        // A \r at the end of the buffer: whether \n follows decides the line end.
                        scanned = i - start
                        try fill()
                        scanned += start
                        continue
                    }
                    end = i
                    terminator = buffer[i] == 0x0D && i + 1 < buffer.count && buffer[i + 1] == 0x0A ? 2 : 1
                } else if atEnd {
                    if start == buffer.count { return nil }
                    end = buffer.count
                } else {
                    if buffer.count - start > DelimitedTable.maxLineBytes { break }
                    scanned = buffer.count - start
                    try fill()
                    scanned += start
                }
            }
            number += 1
            guard let end, end - start <= DelimitedTable.maxLineBytes else {
                let head = String(decoding: buffer[start..<(start + 40)], as: UTF8.self)
                throw InputFileError(file: file, line: number,
                                     "line is longer than \(DelimitedTable.maxLineBytes / (1 << 20)) MiB (it starts '\(excerpt(head))')")
            }
            let line = buffer[start..<end]
            start = min(end + terminator, buffer.count)
            if line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) {
                return Line(bytes: line, number: number)
            }
        }
    }
}
