import CLibPQ
import Foundation

/// A failure talking to PostgreSQL. The message names the server and database and never
/// contains a password.
public struct DatabaseError: Error, CustomStringConvertible {
    public let description: String
    /// SQLSTATE (e.g. "23505" unique violation), when the server gave one.
    public let sqlState: String?

    public init(_ description: String, sqlState: String? = nil) {
        self.description = description
        self.sqlState = sqlState
    }
}

/// The one owner of a libpq connection (`PGconn`). Nothing else in Timbre calls libpq.
/// Not thread-safe, like libpq itself: one connection per thread (workers open their own).
public final class PostgresConnection {
    private let conn: OpaquePointer
    /// "database X on server Y", for messages.
    public let target: String

    /// Connects with `url` (a libpq URI or key=value string); nil or empty uses libpq's own
    /// defaults: the PG* environment variables, `.pgpass`, the local socket.
    public init(url: String?) throws {
        let info = url ?? ""
        guard let c = PQconnectdb(info) else { throw DatabaseError("libpq could not allocate a connection") }
        conn = c
        target = Self.describe(c)
        guard PQstatus(c) == CONNECTION_OK else {
            let reason = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            // All stored properties are set, so deinit runs and frees the connection.
            // Only libpq's text can quote the string; the target is built from parsed fields.
            let secret = ConnectionSecret(info, parsedPassword: Self.password(in: info))
            throw DatabaseError("could not connect to \(target): \(secret.redact(reason))")
        }
        // Notices (e.g. "relation already exists, skipping") are not errors; keep stderr clean.
        PQsetNoticeProcessor(c, { _, _ in }, nil)
        // Swift strings are UTF-8 whatever the database's own encoding is.
        guard PQsetClientEncoding(c, "UTF8") == 0 else {
            throw DatabaseError("\(target) cannot use the UTF8 client encoding: \(String(cString: PQerrorMessage(c)))")
        }
        try execute("SET client_min_messages TO warning")
    }

    deinit { PQfinish(conn) }

    private static func describe(_ c: OpaquePointer) -> String {
        let db = PQdb(c).map { String(cString: $0) } ?? "?"
        let host = PQhost(c).map { String(cString: $0) } ?? "?"
        let port = PQport(c).map { String(cString: $0) } ?? ""
        let server = host.hasPrefix("/") ? "socket \(host)/.s.PGSQL.\(port.isEmpty ? "5432" : port)" : "\(host):\(port.isEmpty ? "5432" : port)"
        return "database '\(db)' on \(server)"
    }

    private static func password(in info: String) -> String? {
        guard !info.isEmpty, let options = PQconninfoParse(info, nil) else { return nil }
        defer { PQconninfoFree(options) }
        var p = options
        while let keyword = p.pointee.keyword {
            if String(cString: keyword) == "password", let v = p.pointee.val { return String(cString: v) }
            p += 1
        }
        return nil
    }

    private func serverError(_ result: OpaquePointer?, context: String) -> DatabaseError {
        var message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        var state: String?
        if let result {
            if let s = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) { state = String(cString: s) }
            let m = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            if !m.isEmpty { message = m }
        }
        return DatabaseError("\(context) failed on \(target): \(message)", sqlState: state)
    }

    private func check(_ result: OpaquePointer?, _ sql: String, expecting: [ExecStatusType]) throws -> QueryResult {
        guard let result else { throw serverError(nil, context: "query") }
        let status = PQresultStatus(result)
        guard expecting.contains(status) else {
            let error = serverError(result, context: "\"\(sql.prefix(60))\(sql.count > 60 ? "…" : "")\"")
            PQclear(result)
            throw error
        }
        return QueryResult(result)
    }

    /// Runs SQL without parameters (may hold several statements). For fixed statements only:
    /// anything that carries input goes through `query(_:_:)`.
    @discardableResult
    public func execute(_ sql: String) throws -> QueryResult {
        try check(PQexec(conn, sql), sql, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs one statement with `$1, $2…` parameters passed separately from the SQL text
    /// (text format; nil is NULL).
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> QueryResult {
        let result = withCStrings(parameters) { values in
            PQexecParams(conn, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try check(result, sql, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Like `query`, with binary parameters for `bytea` (pass the raw bytes) and binary results.
    @discardableResult
    public func query(_ sql: String, binary parameters: [[UInt8]?], resultsBinary: Bool = false) throws -> QueryResult {
        let lengths = parameters.map { Int32($0?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        let buffers = parameters.map { bytes -> UnsafeMutablePointer<CChar>? in
            guard let bytes else { return nil }
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { src in
                if let base = src.baseAddress { p.withMemoryRebound(to: UInt8.self, capacity: bytes.count) { $0.update(from: base, count: bytes.count) } }
            }
            return p
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let values = buffers.map { UnsafePointer($0) }
        let result = PQexecParams(conn, sql, Int32(parameters.count), nil, values, lengths, formats, resultsBinary ? 1 : 0)
        return try check(result, sql, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// `mode` is appended to BEGIN (e.g. "ISOLATION LEVEL REPEATABLE READ READ ONLY").
    public func transaction<T>(_ mode: String = "", _ body: () throws -> T) throws -> T {
        try execute(mode.isEmpty ? "BEGIN" : "BEGIN " + mode)
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// `COPY … FROM STDIN`: `produce` is called repeatedly with a sink to push bytes into and
    /// returns false when done. Throwing from `produce` aborts the COPY (nothing is stored).
    public func copyIn(_ sql: String, produce: (_ send: ([UInt8]) throws -> Void) throws -> Void) throws {
        _ = try check(PQexec(conn, sql), sql, expecting: [PGRES_COPY_IN])
        do {
            try produce { bytes in
                let rc = bytes.withUnsafeBufferPointer { buf in
                    buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                        PQputCopyData(conn, $0, Int32(buf.count))
                    }
                }
                guard rc == 1 else { throw self.serverError(nil, context: "COPY data") }
            }
        } catch {
            _ = PQputCopyEnd(conn, "aborted by client")
            while let r = PQgetResult(conn) { PQclear(r) }
            throw error
        }
        guard PQputCopyEnd(conn, nil) == 1 else { throw serverError(nil, context: "COPY end") }
        var failure: DatabaseError?
        while let r = PQgetResult(conn) {
            if PQresultStatus(r) != PGRES_COMMAND_OK, failure == nil { failure = serverError(r, context: "\"\(sql.prefix(60))\"") }
            PQclear(r)
        }
        if let failure { throw failure }
    }

    /// `COPY … TO STDOUT`: calls `row` once per data message (one row), with bytes valid only
    /// during the call.
    public func copyOut(_ sql: String, row: (UnsafeRawBufferPointer) throws -> Void) throws {
        _ = try check(PQexec(conn, sql), sql, expecting: [PGRES_COPY_OUT])
        var buffer: UnsafeMutablePointer<CChar>?
        var pending: Error?
        while true {
            let n = PQgetCopyData(conn, &buffer, 0)
            if n == -1 { break }
            if n == -2 { throw serverError(nil, context: "COPY out") }
            defer { PQfreemem(buffer) }
            if pending == nil {
                do { try row(UnsafeRawBufferPointer(start: buffer, count: Int(n))) } catch { pending = error }
            }
        }
        var failure: DatabaseError?
        while let r = PQgetResult(conn) {
            if PQresultStatus(r) != PGRES_COMMAND_OK, failure == nil { failure = serverError(r, context: "\"\(sql.prefix(60))\"") }
            PQclear(r)
        }
        if let pending { throw pending }
        if let failure { throw failure }
    }
}

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

/// An owned `PGresult`, freed in `deinit`.
public final class QueryResult {
    private let result: OpaquePointer

    init(_ result: OpaquePointer) { self.result = result }
    deinit { PQclear(result) }

    public var rowCount: Int { Int(PQntuples(result)) }
    public var columnCount: Int { Int(PQnfields(result)) }
    /// Rows touched by INSERT/UPDATE/DELETE.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    public func string(_ row: Int, _ column: Int) -> String? {
        isNull(row, column) ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
    }

    public func int(_ row: Int, _ column: Int) -> Int? { string(row, column).flatMap { Int($0) } }
    public func double(_ row: Int, _ column: Int) -> Double? { string(row, column).flatMap { Double($0) } }

    /// Raw bytes of a value (for binary-format results, e.g. bytea).
    public func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard !isNull(row, column) else { return nil }
        let n = Int(PQgetlength(result, Int32(row), Int32(column)))
        let p = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    /// An integer of a binary-format result (int2, int4 or int8: big-endian, sign-extended).
    public func binaryInteger(_ row: Int, _ column: Int) -> Int64? {
        guard let bytes = bytes(row, column), (1...8).contains(bytes.count) else { return nil }
        let shift = UInt64(64 - 8 * bytes.count)
        return Int64(bitPattern: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } << shift) >> shift
    }
}

private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
