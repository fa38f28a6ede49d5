/// A failure talking to PostgreSQL, keeping what the server said (SQLSTATE, primary message,
/// detail, hint, position, constraint) and what the statement was for, so a caller can branch on
/// `sqlState` and a person reading the message sees the server's own explanation.
///
/// Never holds bound values or the connection string: `target` is built from libpq's parsed
/// fields and a connection failure's text is redacted (`ConnectionSecret`). The server's own
/// detail may quote a key (e.g. "Key (external_id)=(alice) already exists."), as psql shows it.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    /// What the statement was for, as the store labels it ("load ratings", "store a trained model").
    public var purpose: String?
    /// "database 'x' on socket /tmp/.s.PGSQL.5432", when the error came from a connection.
    public var target: String?
    /// The primary message: the server's, or Timbre's own for checks made on the client.
    public var message: String
    /// SQLSTATE (e.g. "23505" unique violation), when the server gave one.
    public var sqlState: String?
    public var detail: String?
    public var hint: String?
    /// 1-based character position in the statement's text the server pointed at.
    public var position: Int?
    public var constraint: String?
    public var table: String?
    public var column: String?

    /// An error of Timbre's own (no server fields).
    public init(_ message: String, sqlState: String? = nil) {
        self.message = message
        self.sqlState = sqlState
    }

    public init(purpose: String?, target: String?, message: String, sqlState: String? = nil, detail: String? = nil,
                hint: String? = nil, position: Int? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil) {
        self.purpose = purpose
        self.target = target
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.position = position
        self.constraint = constraint
        self.table = table
        self.column = column
    }

    /// SQLSTATE 23505.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var head = ""
        switch (purpose, target) {
        case let (purpose?, target?): head = "\(purpose) failed on \(target): "
        case let (purpose?, nil): head = "\(purpose) failed: "
        case let (nil, target?): head = "\(target): "
        case (nil, nil): break
        }
        head += message
        if let sqlState { head += " (SQLSTATE \(sqlState))" }
        var lines = [head]
        if let detail { lines.append("detail: \(detail)") }
        if let hint { lines.append("hint: \(hint)") }
        var location: [String] = []
        if let constraint { location.append("constraint \(constraint)") }
        if let table { location.append("table \(table)") }
        if let column { location.append("column \(column)") }
        if let position { location.append("character \(position) of the statement") }
        if !location.isEmpty { lines.append("at: " + location.joined(separator: ", ")) }
        return lines.joined(separator: "\n  ")
    }
}
