import Foundation
import Testing
import TimbreTestSupport
@testable import TimbreCatalog

/// Typed binds and typed row decoding against the real server: the server's own reading of each
/// bound value (its type, and its text rendering) is the reference, not our decoder.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct PostgresTypesTests {
    /// The server's type name and text rendering of one bound value.
    private func serverView(_ db: PostgresConnection, _ value: any PostgresEncodable) throws -> (type: String, text: String?) {
        let row = try db.query("SELECT pg_typeof($1)::text AS type, $1::text AS text", [value], purpose: "read a bound value back").one()
        return (try row.string("type"), try row.optionalString("text"))
    }

    @Test func bindsArriveWithTheirTypesAndExactValues() throws {
        let catalog = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(catalog) {} }
        let db = catalog.db
        #expect(try serverView(db, Int64.max) == ("bigint", "9223372036854775807"))
        #expect(try serverView(db, Int64.min) == ("bigint", "-9223372036854775808"))
        #expect(try serverView(db, Int32(-2_000_000_000)) == ("integer", "-2000000000"))
        #expect(try serverView(db, 42) == ("bigint", "42"))
        #expect(try serverView(db, true) == ("boolean", "true"))
        #expect(try serverView(db, false) == ("boolean", "false"))
        #expect(try serverView(db, 0.1) == ("double precision", "0.1"))
        #expect(try serverView(db, Float(-2.5)) == ("real", "-2.5"))
        #expect(try serverView(db, "a'b\"c\\d\tcafé") == ("text", "a'b\"c\\d\tcafé"))
        #expect(try serverView(db, [UInt8]([0, 1, 0xFF])) == ("bytea", "\\x0001ff"))
        #expect(try serverView(db, Data([0xAB])) == ("bytea", "\\xab"))
        #expect(try serverView(db, [Float]([1, -0.5, 3e-8])) == ("real[]", "{1,-0.5,3e-08}"))
        #expect(try serverView(db, [Float]()) == ("real[]", "{}"))
        #expect(try serverView(db, [Int64]([-1, 0, Int64.max])) == ("bigint[]", "{-1,0,9223372036854775807}"))
        // Elements a text[] literal would need quoting for travel as they are.
        #expect(try serverView(db, ["a,b", "\"q\"", "NULL", ""]) == ("text[]", #"{"a,b","\"q\"","NULL",""}"#))
        #expect(try serverView(db, PostgresJSONB(#"{"b": [1, 2], "a": null}"#)) == ("jsonb", #"{"a": null, "b": [1, 2]}"#))
        // nil is NULL of the wrapped type.
        #expect(try serverView(db, Int64?.none) == ("bigint", nil))
        #expect(try serverView(db, String?.none) == ("text", nil))
        // The server computes with the bound values (no text casts in the statement).
        #expect(try db.query("SELECT $1 + 1 AS n", [Int64(41)], purpose: "add").scalar(Int64.self) == 42)
        #expect(try db.query("SELECT 3 = ANY($1) AS found", [[Int64](arrayLiteral: 1, 3)], purpose: "look up").scalar(Bool.self))
    }

    @Test func rowsDecodeEveryTypeInBinaryAndTextFormat() throws {
        let catalog = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(catalog) {} }
        let sql = """
            SELECT 7::smallint AS s, -8::integer AS i, 9000000000::bigint AS b, true AS yes, false AS no, 0.25::float8 AS d,
                   1.5::real AS f, 'tëxt'::text AS t, 'v'::varchar AS v, '\\x00ff'::bytea AS bytes, '{"k": 1}'::jsonb AS j,
                   NULL::bigint AS missing, ARRAY[1.5, 2]::real[] AS floats, ARRAY['x', 'y,z'] AS texts
            """
        // query: binary results; execute: text results. Both must read the same.
        for result in [try catalog.db.query(sql, purpose: "decode binary"), try catalog.db.execute(sql, purpose: "decode text")] {
            let row = try result.one()
            #expect(try row.int64("s") == 7 && row.int64("i") == -8 && row.int64("b") == 9_000_000_000)
            #expect(try row.decode(Int32.self, "i") == -8)
            #expect(try row.bool("yes") && !row.bool("no"))
            #expect(try row.double("d") == 0.25 && row.float("f") == 1.5 && row.double("f") == 1.5)
            #expect(try row.string("t") == "tëxt" && row.string("v") == "v")
            #expect(try row.bytes("bytes") == [0x00, 0xFF])
            #expect(try row.string("j") == #"{"k": 1}"#)
            #expect(try row.optionalInt64("missing") == nil)
            #expect(try row.decode(Int64.self, at: 2) == 9_000_000_000)
            #expect(try row.decode(String?.self, "t") == "tëxt")
        }
        let binary = try catalog.db.query(sql, purpose: "decode arrays").one()
        #expect(try binary.decode([Float].self, "floats") == [1.5, 2])
        #expect(try binary.decode([String].self, "texts") == ["x", "y,z"])
    }

    @Test func decodingErrorsNameTheColumnAndThePurposeButNotTheValue() throws {
        let catalog = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(catalog) {} }
        let row = try catalog.db.query("SELECT 'secret-value'::text AS name, NULL::bigint AS id, 300000::integer AS big",
                                       purpose: "load the test row").one()
        let wrongType = #expect(throws: DatabaseError.self) { try row.int64("name") }
        #expect(wrongType?.column == "name" && wrongType?.purpose == "load the test row")
        #expect(wrongType.map { "\($0)".contains("column 'name' (text) cannot be read as bigint") } == true, "\(String(describing: wrongType))")
        #expect(wrongType.map { !"\($0)".contains("secret-value") } == true)
        let null = #expect(throws: DatabaseError.self) { try row.int64("id") }
        #expect(null.map { "\($0)".contains("'id'") && "\($0)".contains("NULL") } == true)
        let unknown = #expect(throws: DatabaseError.self) { try row.int64("nope") }
        #expect(unknown.map { "\($0)".contains("no column 'nope'") && "\($0)".contains("name, id, big") } == true)
        #expect(try row.decode(Int32.self, "big") == 300_000)
        let narrow = #expect(throws: DatabaseError.self) {
            try catalog.db.query("SELECT 9000000000::bigint AS wide", purpose: "p").one().decode(Int32.self, "wide")
        }
        #expect(narrow.map { "\($0)".contains("outside the range") } == true)
        // A real is not silently widened from double precision into Float, nor a bigint read as Bool.
        #expect(throws: DatabaseError.self) { try catalog.db.query("SELECT 0.1::float8 AS d", purpose: "p").one().float("d") }
        #expect(throws: DatabaseError.self) { try catalog.db.query("SELECT 1::bigint AS b", purpose: "p").one().bool("b") }
        let many = #expect(throws: DatabaseError.self) { try catalog.db.query("SELECT generate_series(1, 2)", purpose: "count twice").one() }
        #expect(many.map { "\($0)".contains("count twice") && "\($0)".contains("returned 2") } == true)
    }
}

/// `DatabaseError` keeps what the server said, and the statement's purpose.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct DatabaseErrorTests {
    @Test func uniqueViolationKeepsItsStateDetailAndConstraint() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        try catalog.db.query("INSERT INTO users (external_id) VALUES ($1)", ["alice"], purpose: "add user alice")
        let error = #expect(throws: DatabaseError.self) {
            try catalog.db.query("INSERT INTO users (external_id) VALUES ($1)", ["alice"], purpose: "add user alice again")
        }
        #expect(error?.sqlState == "23505" && error?.isUniqueViolation == true)
        #expect(error?.detail == "Key (external_id)=(alice) already exists.")
        #expect(error?.constraint == "users_external_id_key" && error?.table == "users")
        #expect(error?.purpose == "add user alice again" && error?.target == catalog.db.target)
        let text = error.map { "\($0)" } ?? ""
        #expect(text.hasPrefix("add user alice again failed on \(catalog.db.target): duplicate key value violates unique constraint"), "\(text)")
        #expect(text.contains("(SQLSTATE 23505)") && text.contains("detail: Key (external_id)=(alice) already exists."), "\(text)")
    }

    @Test func checkViolationNamesItsConstraint() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let error = #expect(throws: DatabaseError.self) {
            try catalog.db.query("INSERT INTO users (external_id) VALUES ($1)", [""], purpose: "add a user without an id")
        }
        #expect(error?.sqlState == "23514" && error?.constraint == "users_external_id_check")
        #expect(error.map { "\($0)".contains("constraint users_external_id_check") } == true)
    }

    @Test func raisedExceptionKeepsMessageDetailAndHint() throws {
        let catalog = try TestCatalog(migrate: false)
        defer { withExtendedLifetime(catalog) {} }
        let error = #expect(throws: DatabaseError.self) {
            try catalog.db.execute("""
                DO $$ BEGIN
                    RAISE EXCEPTION 'the shelf is full' USING ERRCODE = 'P0001', DETAIL = '12 of 12 places taken', HINT = 'remove a book first';
                END $$
                """, purpose: "shelve a book")
        }
        #expect(error?.sqlState == "P0001" && error?.message == "the shelf is full")
        #expect(error?.detail == "12 of 12 places taken" && error?.hint == "remove a book first")
        #expect(error.map { "\($0)" } == """
            shelve a book failed on \(catalog.db.target): the shelf is full (SQLSTATE P0001)
              detail: 12 of 12 places taken
              hint: remove a book first
            """)
    }

    @Test func aBindOfTheWrongTypeIsAServerTypeErrorThatNeverShowsTheValue() throws {
        let catalog = try TestCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let secret = "s3cr3t-bound-value"
        let error = #expect(throws: DatabaseError.self) {
            try catalog.db.query("INSERT INTO trained_models (strategy, parameters, state, code_version) VALUES ('x', '{}', $1, 'v')",
                                 [secret], purpose: "store a model with a text state")
        }
        // 42804 datatype_mismatch: column "state" is of type bytea but expression is of type text.
        #expect(error?.sqlState == "42804" && error?.hint != nil && error?.position != nil, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("store a model with a text state failed") && !"\($0)".contains(secret) } == true)
    }
}
