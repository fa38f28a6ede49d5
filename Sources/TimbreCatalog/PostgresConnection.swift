import CLibPQ
import Foundation

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
        try execute("SET client_min_messages TO warning", purpose: "set up the session")
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

    /// The server's error fields of `result` (or the connection's last message when there is no
    /// result), labelled with the statement's purpose.
    private func serverError(_ result: OpaquePointer?, purpose: String) -> DatabaseError {
        var message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let result else { return DatabaseError(purpose: purpose, target: target, message: message) }
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        if let primary = field(UInt8(ascii: "M")) {
            message = primary
        } else {
            let m = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            if !m.isEmpty { message = m }
        }
        return DatabaseError(purpose: purpose, target: target, message: message, sqlState: field(UInt8(ascii: "C")),
                             detail: field(UInt8(ascii: "D")), hint: field(UInt8(ascii: "H")),
                             position: field(UInt8(ascii: "P")).flatMap { Int($0) }, constraint: field(UInt8(ascii: "n")),
                             table: field(UInt8(ascii: "t")), column: field(UInt8(ascii: "c")))
    }

    private func check(_ result: OpaquePointer?, purpose: String, expecting: [ExecStatusType]) throws -> QueryResult {
        guard let result else { throw serverError(nil, purpose: purpose) }
        guard expecting.contains(PQresultStatus(result)) else {
            let error = serverError(result, purpose: purpose)
            PQclear(result)
            throw error
        }
        return QueryResult(result, purpose: purpose)
    }

    /// Runs SQL without parameters (may hold several statements; results come in text format).
    /// For fixed statements only: anything that carries input goes through `query`.
    /// `purpose` says what it is for, in errors ("apply migration 003").
    @discardableResult
    public func execute(_ sql: String, purpose: String) throws -> QueryResult {
        try check(PQexec(conn, sql), purpose: purpose, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs one statement with `$1, $2…` bound to `parameters`, each sent in binary with its
    /// type (`PostgresEncodable`: integers, text, booleans, floats, bytes, arrays, JSONB, optionals
    /// as NULL), apart from the SQL text; results come in binary format. `purpose` says what the
    /// statement is for ("load ratings"): errors name it, never the bound values.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = [], purpose: String) throws -> QueryResult {
        let types = parameters.map { type(of: $0).postgresType.oid }
        let values = parameters.map(\.postgresBinary)
        let lengths = values.map { Int32($0?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        let buffers = values.map { bytes -> UnsafeMutablePointer<CChar>? in
            guard let bytes else { return nil }
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { src in
                if let base = src.baseAddress { UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: bytes.count) }
            }
            return p
        }
        defer { buffers.forEach { $0?.deallocate() } }
        let pointers = buffers.map { UnsafePointer($0) }
        let result = PQexecParams(conn, sql, Int32(parameters.count), types, pointers, lengths, formats, 1)
        return try check(result, purpose: purpose, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// `mode` is appended to BEGIN (e.g. "ISOLATION LEVEL REPEATABLE READ READ ONLY").
    public func transaction<T>(_ mode: String = "", _ body: () throws -> T) throws -> T {
        try execute(mode.isEmpty ? "BEGIN" : "BEGIN " + mode, purpose: "begin a transaction")
        do {
            let value = try body()
            try execute("COMMIT", purpose: "commit")
            return value
        } catch {
            _ = try? execute("ROLLBACK", purpose: "roll back")
            throw error
        }
    }

    /// `COPY … FROM STDIN`: `produce` is called with a sink to push bytes into.
    /// Throwing from `produce` aborts the COPY (nothing is stored).
    public func copyIn(_ sql: String, purpose: String, produce: (_ send: ([UInt8]) throws -> Void) throws -> Void) throws {
        _ = try check(PQexec(conn, sql), purpose: purpose, expecting: [PGRES_COPY_IN])
        do {
            try produce { bytes in
                let rc = bytes.withUnsafeBytes { buf in
                    PQputCopyData(conn, buf.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(buf.count))
                }
                guard rc == 1 else { throw self.serverError(nil, purpose: purpose) }
            }
        } catch {
            _ = PQputCopyEnd(conn, "aborted by client")
            while let r = PQgetResult(conn) { PQclear(r) }
            throw error
        }
        guard PQputCopyEnd(conn, nil) == 1 else { throw serverError(nil, purpose: purpose) }
        try finishCopy(purpose: purpose)
    }

    /// `COPY … TO STDOUT`: calls `row` once per data message (one row), with bytes valid only
    /// during the call.
    public func copyOut(_ sql: String, purpose: String, row: (UnsafeRawBufferPointer) throws -> Void) throws {
        _ = try check(PQexec(conn, sql), purpose: purpose, expecting: [PGRES_COPY_OUT])
        var buffer: UnsafeMutablePointer<CChar>?
        var pending: Error?
        while true {
            let n = PQgetCopyData(conn, &buffer, 0)
            if n == -1 { break }
            if n == -2 { throw serverError(nil, purpose: purpose) }
            defer { PQfreemem(buffer) }
            if pending == nil {
                do { try row(UnsafeRawBufferPointer(start: buffer, count: Int(n))) } catch { pending = error }
            }
        }
        let failure = finishCopyResults(purpose: purpose)
        if let pending { throw pending }
        if let failure { throw failure }
    }

    private func finishCopyResults(purpose: String) -> DatabaseError? {
        var failure: DatabaseError?
        while let r = PQgetResult(conn) {
            if PQresultStatus(r) != PGRES_COMMAND_OK, failure == nil { failure = serverError(r, purpose: purpose) }
            PQclear(r)
        }
        return failure
    }

    private func finishCopy(purpose: String) throws {
        if let failure = finishCopyResults(purpose: purpose) { throw failure }
    }
}

/// An owned `PGresult`, freed in `deinit`: a collection of rows whose values are read with
/// typed, throwing getters (`row.int64("id")`, `row.decode(String?.self, at: 2)`).
public final class QueryResult: RandomAccessCollection {
    fileprivate let result: OpaquePointer
    /// What the statement was for, named in decoding errors.
    public let purpose: String
    fileprivate let columnNames: [String]
    fileprivate let columnTypes: [PostgresType]
    fileprivate let columnBinary: [Bool]

    init(_ result: OpaquePointer, purpose: String) {
        self.result = result
        self.purpose = purpose
        let n = Int(PQnfields(result))
        // A COPY result counts its columns but names none.
        columnNames = (0..<n).map { k in PQfname(result, Int32(k)).map { String(cString: $0) } ?? "column \(k + 1)" }
        columnTypes = (0..<n).map { PostgresType(oid: PQftype(result, Int32($0))) }
        columnBinary = (0..<n).map { PQfformat(result, Int32($0)) == 1 }
    }

    deinit { PQclear(result) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(PQntuples(result)) }
    public subscript(position: Int) -> PostgresRow { PostgresRow(result: self, index: position) }

    public var rowCount: Int { endIndex }
    public var columnCount: Int { columnNames.count }
    /// Rows touched by INSERT/UPDATE/DELETE.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    /// The only row: an error naming the purpose when there are none or several.
    public func one() throws -> PostgresRow {
        guard rowCount == 1 else {
            throw DatabaseError(purpose: purpose, target: nil, message: "expected one row, the statement returned \(rowCount)")
        }
        return self[0]
    }

    /// The first column of the only row (`SELECT count(*) …`).
    public func scalar<T: PostgresDecodable>(_ type: T.Type = T.self) throws -> T {
        try one().decode(T.self, at: 0)
    }
}

/// One row of a `QueryResult` (which it keeps alive).
public struct PostgresRow {
    let result: QueryResult
    public let index: Int

    /// The value at `position` (0-based) as `T`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at position: Int) throws -> T {
        guard position >= 0, position < result.columnCount else {
            throw DatabaseError(purpose: result.purpose, target: nil,
                                message: "no column at position \(position) (the result has \(result.columnCount))")
        }
        let isNull = PQgetisnull(result.result, Int32(index), Int32(position)) == 1
        let bytes: UnsafeRawBufferPointer? = isNull ? nil : UnsafeRawBufferPointer(
            start: PQgetvalue(result.result, Int32(index), Int32(position)),
            count: Int(PQgetlength(result.result, Int32(index), Int32(position))))
        let cell = PostgresCell(bytes: bytes, type: result.columnTypes[position], isBinary: result.columnBinary[position],
                                column: result.columnNames[position], purpose: result.purpose)
        return try withExtendedLifetime(result) { try T.decode(cell) }
    }

    /// The value of the column named `column` as `T`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: String) throws -> T {
        guard let position = result.columnNames.firstIndex(of: column) else {
            throw DatabaseError(purpose: result.purpose, target: nil,
                                message: "no column '\(column)' in the result (it has \(result.columnNames.joined(separator: ", ")))")
        }
        return try decode(T.self, at: position)
    }

    public func int64(_ column: String) throws -> Int64 { try decode(Int64.self, column) }
    public func optionalInt64(_ column: String) throws -> Int64? { try decode(Int64?.self, column) }
    public func int(_ column: String) throws -> Int { try decode(Int.self, column) }
    public func string(_ column: String) throws -> String { try decode(String.self, column) }
    public func optionalString(_ column: String) throws -> String? { try decode(String?.self, column) }
    public func bool(_ column: String) throws -> Bool { try decode(Bool.self, column) }
    public func double(_ column: String) throws -> Double { try decode(Double.self, column) }
    public func optionalDouble(_ column: String) throws -> Double? { try decode(Double?.self, column) }
    public func float(_ column: String) throws -> Float { try decode(Float.self, column) }
    public func optionalFloat(_ column: String) throws -> Float? { try decode(Float?.self, column) }
    public func bytes(_ column: String) throws -> [UInt8] { try decode([UInt8].self, column) }
}
