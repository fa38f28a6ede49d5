import Foundation
import TimbreCore

/// The identity rule for external ids (users, items): two ids are the same when their Unicode
/// NFC forms are the same bytes. Swift's `String ==` compares by canonical equivalence while
/// PostgreSQL compares bytes, so an id written once as "café" (U+00E9) and once as "cafe" + U+0301
/// would be one key in memory and two rows in the catalog. Every edge that brings an id in (file
/// readers, command-line arguments, catalog reads) normalises it with `normalised`, and the catalog
/// holds only NFC ids (migration 008), so inside Timbre string equality and byte equality agree.
public enum ExternalID {
    /// Longest id accepted, in UTF-8 bytes (far below PostgreSQL's btree row limit of ~2.7 kB).
    public static let maxBytes = 256

    /// The NFC form; ASCII (by far the common case) is already NFC and is returned as it is.
    public static func normalised(_ id: String) -> String {
        if id.utf8.allSatisfy({ $0 < 0x80 }) { return id }
        return id.precomposedStringWithCanonicalMapping
    }

    /// Why `id` (already normalised) cannot be an external id, or nil when it can.
    public static func problem(_ id: String) -> String? {
        if id.isEmpty { return "is empty" }
        if id.utf8.count > maxBytes { return "is \(id.utf8.count) bytes long (at most \(maxBytes))" }
        return nil
    }

    /// The code points of `text`, e.g. "U+0063 U+0061 U+0066 U+0065 U+0301", to show two
    /// spellings that look alike.
    public static func codePoints(_ text: String) -> String {
        let scalars = text.unicodeScalars.prefix(24).map { String(format: "U+%04X", $0.value) }
        return scalars.joined(separator: " ") + (text.unicodeScalars.count > 24 ? " …" : "")
    }
}

/// At most `limit` characters of `text` for a message, with "…" when cut.
public func excerpt(_ text: String, _ limit: Int = 40) -> String {
    text.count <= limit ? text : String(text.prefix(limit)) + "…"
}

/// Normalises the ids of one file and refuses two different spellings of one id (e.g. NFC and
/// NFD "café"), naming both lines: they would be one id to Timbre, and which was meant is unknown.
struct IDSpellings {
    let file: String
    let what: String
    /// First raw spelling (and its line) of every normalised id that arrived in another form or
    /// that a non-ASCII spelling could meet. ASCII-only spellings are their own NFC form, so they
    /// need recording only to catch a later non-ASCII spelling of them.
    private var first: [String: (raw: String, line: Int)] = [:]

    init(file: String, what: String) {
        self.file = file
        self.what = what
    }

    /// The normalised id of `raw` on `line`, after checking emptiness, length and spelling.
    mutating func id(_ raw: String, line: Int) throws -> String {
        let id = ExternalID.normalised(raw)
        if id.isEmpty { throw InputFileError(file: file, line: line, "empty \(what) id") }
        if let problem = ExternalID.problem(id) {
            throw InputFileError(file: file, line: line, "\(what) id '\(excerpt(id))' \(problem)")
        }
        if let earlier = first[id] {
            if !earlier.raw.utf8.elementsEqual(raw.utf8) {
                throw InputFileError(file: file, line: line, """
                    \(what) id '\(excerpt(raw))' (\(ExternalID.codePoints(raw))) is the same id as '\(excerpt(earlier.raw))' \
                    on line \(earlier.line) (\(ExternalID.codePoints(earlier.raw))) in another Unicode form; ids are compared \
                    in NFC form, so write it one way
                    """)
            }
        } else {
            first[id] = (raw, line)
        }
        return id
    }
}
