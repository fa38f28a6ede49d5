/// Reads the fields of one row of PostgreSQL's binary COPY format (network byte order), in
/// column order. The stream's first data message starts with the 19-byte header, the last is
/// the -1 trailer. COPY carries no column types, so each getter checks the field's length and
/// throws (naming the field's position and the COPY's purpose) for NULL where a value is
/// required or a length that is not the type's.
struct BinaryCopyRow {
    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    private var fieldIndex = 0
    private let purpose: String
    /// Number of fields, or nil for the trailer.
    let fieldCount: Int?

    init(_ bytes: UnsafeRawBufferPointer, isFirst: Bool, purpose: String) throws {
        self.bytes = bytes
        self.purpose = purpose
        position = 0
        if isFirst {
            let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
            guard bytes.count >= 19, Array(bytes[0..<11]) == signature else {
                throw DatabaseError(purpose: purpose, target: nil, message: "not a binary COPY stream")
            }
            position = 15
            let extension_ = Int(Self.int32(bytes, at: position))
            position += 4 + extension_
        }
        guard position + 2 <= bytes.count else { throw DatabaseError(purpose: purpose, target: nil, message: "a truncated COPY row") }
        let n = Int16(bitPattern: UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1]))
        position += 2
        fieldCount = n < 0 ? nil : Int(n)
    }

    private static func int32(_ b: UnsafeRawBufferPointer, at p: Int) -> UInt32 {
        UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])
    }

    private static func int64(_ b: UnsafeRawBufferPointer, at p: Int) -> UInt64 {
        UInt64(int32(b, at: p)) << 32 | UInt64(int32(b, at: p + 4))
    }

    func error(_ problem: String, field: Int) -> DatabaseError {
        DatabaseError(purpose: purpose, target: nil, message: "field \(field + 1) of a row \(problem)")
    }

    /// The next field's bytes, or nil for NULL.
    mutating func field() throws -> UnsafeRawBufferPointer? {
        guard let count = fieldCount, fieldIndex < count, position + 4 <= bytes.count else {
            throw error("is missing (the row has \(fieldCount ?? 0) fields)", field: fieldIndex)
        }
        fieldIndex += 1
        let length = Int32(bitPattern: Self.int32(bytes, at: position))
        position += 4
        guard length >= 0 else { return nil }
        guard position + Int(length) <= bytes.count else { throw error("is truncated", field: fieldIndex - 1) }
        defer { position += Int(length) }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + Int(length)])
    }

    /// The next field, which must not be NULL and must be `length` bytes long (nil: any).
    private mutating func value(_ type: String, length: Int?) throws -> UnsafeRawBufferPointer {
        guard let f = try field() else { throw error("is NULL where a \(type) is required", field: fieldIndex - 1) }
        if let length, f.count != length { throw error("has \(f.count) bytes, not a \(type)", field: fieldIndex - 1) }
        return f
    }

    /// A bigint.
    mutating func int64() throws -> Int64 { Int64(bitPattern: Self.int64(try value("bigint", length: 8), at: 0)) }

    /// A real.
    mutating func float32() throws -> Float { Float(bitPattern: Self.int32(try value("real", length: 4), at: 0)) }

    mutating func optionalFloat32() throws -> Float? {
        guard let f = try field() else { return nil }
        guard f.count == 4 else { throw error("has \(f.count) bytes, not a real", field: fieldIndex - 1) }
        return Float(bitPattern: Self.int32(f, at: 0))
    }

    /// Text (or any type whose binary form is its UTF-8 text: varchar, name, json).
    mutating func text() throws -> String { String(decoding: try value("text", length: nil), as: UTF8.self) }

    mutating func optionalText() throws -> String? { try field().map { String(decoding: $0, as: UTF8.self) } }

    /// A timestamptz (microseconds since 2000-01-01 UTC) as whole seconds since 1970, rounded
    /// down; nil for NULL.
    mutating func optionalTimestamptzSeconds() throws -> Int64? {
        guard let f = try field() else { return nil }
        guard f.count == 8 else { throw error("has \(f.count) bytes, not a timestamptz", field: fieldIndex - 1) }
        let microseconds = Int64(bitPattern: Self.int64(f, at: 0))
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : -((-microseconds + 999_999) / 1_000_000)
        return seconds + 946_684_800
    }

    /// A one-dimensional `real[]` without NULL elements.
    mutating func float32Array() throws -> [Float] {
        let f = try value("real[]", length: nil)
        let cell = PostgresCell(bytes: f, type: .float4Array, isBinary: true, column: "field \(fieldIndex)", purpose: purpose)
        return try Float.decodePostgresArray(cell)
    }
}

extension PostgresConnection {
    /// Runs `COPY (query) TO STDOUT (FORMAT binary)` and hands each row to `row`.
    func copyOutBinary(_ query: String, purpose: String, row: (inout BinaryCopyRow) throws -> Void) throws {
        var first = true
        try copyOut("COPY (\(query)) TO STDOUT (FORMAT binary)", purpose: purpose) { bytes in
            var r = try BinaryCopyRow(bytes, isFirst: first, purpose: purpose)
            first = false
            guard r.fieldCount != nil else { return }
            try row(&r)
        }
    }
}
