import Foundation

/// Where the password is in a connection string, found without libpq so that a string libpq
/// refuses (an unclosed IPv6 bracket, a mistyped scheme) is redacted too: libpq's messages quote
/// the string or pieces of it. Messages are redacted by replacing those exact spans (the whole
/// string, or a quoted piece of the password), never every occurrence of a short password such as
/// "a" or "postgres", which would garble the rest of the message.
struct ConnectionSecret {
    let info: String
    /// The string with every password span replaced by ********.
    let redactedInfo: String
    /// Password texts as written and percent-decoded, and their whitespace-separated pieces.
    let secrets: [String]

    static let mask = "********"

    init(_ info: String, parsedPassword: String? = nil) {
        self.info = info
        let spans = Self.passwordSpans(in: info)
        var redacted = info
        for span in spans.reversed() { redacted.replaceSubrange(span, with: Self.mask) }
        redactedInfo = redacted
        var secrets = Set<String>()
        for text in spans.map({ String(info[$0]) }) + [parsedPassword].compactMap({ $0 }) {
            for form in [text, text.removingPercentEncoding ?? text] {
                secrets.insert(form)
                for piece in form.split(whereSeparator: \.isWhitespace) { secrets.insert(String(piece)) }
            }
        }
        self.secrets = secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    func redact(_ message: String) -> String {
        var text = message
        if !info.isEmpty, redactedInfo != info { text = text.replacingOccurrences(of: info, with: redactedInfo) }
        for secret in secrets {
            for quote in ["\"", "'"] {
                text = text.replacingOccurrences(of: quote + secret + quote, with: quote + Self.mask + quote)
            }
        }
        return text
    }

    /// Password spans: a URI's user-info after the first ':' (up to the last '@'), and the value
    /// of every `password=` (URI query or key=value, quoted or not).
    static func passwordSpans(in info: String) -> [Range<String.Index>] {
        var spans: [Range<String.Index>] = []
        // URI: any scheme-like prefix ("postgresql://", "postgress://", "postgres:/"), then user:password@.
        if let schemeEnd = info.firstRange(of: #/^\s*[A-Za-z][A-Za-z0-9+.\-]*:/+/#)?.upperBound
            ?? (info.contains("=") ? nil : info.startIndex),
           let at = info[schemeEnd...].lastIndex(of: "@"),
           let colon = info[schemeEnd..<at].firstIndex(of: ":") {
            let start = info.index(after: colon)
            if start < at { spans.append(start..<at) }
        }
        var search = info.startIndex
        while let key = info[search...].firstRange(of: #/password\s*=\s*/#) {
            let start = key.upperBound
            var end = start
            if start < info.endIndex, info[start] == "'" {
                // Quoted key=value: up to the closing quote, backslash escapes inside.
                var i = info.index(after: start)
                while i < info.endIndex, info[i] != "'" {
                    if info[i] == "\\" { i = info.index(after: i); if i == info.endIndex { break } }
                    i = info.index(after: i)
                }
                end = i < info.endIndex ? info.index(after: i) : i
            } else {
                // Unquoted: up to '&' (URI query) or to the next "keyword=" (a space in an unquoted
                // password makes libpq quote the rest as a keyword).
                let rest = info[start...]
                let next = rest.firstRange(of: #/&|\s+[A-Za-z_]+\s*=/#)?.lowerBound ?? info.endIndex
                end = next
                while end > start, info[info.index(before: end)].isWhitespace { end = info.index(before: end) }
            }
            if start < end, !spans.contains(where: { $0.overlaps(start..<end) }) { spans.append(start..<end) }
            search = end > key.lowerBound ? end : info.index(after: key.lowerBound)
            if search >= info.endIndex { break }
        }
        return spans.sorted { $0.lowerBound < $1.lowerBound }
    }
}

