/// Reads the fields of one row of PostgreSQL's binary COPY format (network byte order).
/// The stream's first data message starts with the 19-byte header, the last is the -1 trailer.
struct BinaryCopyRow {
    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    /// Number of fields, or nil for the trailer.
    let fieldCount: Int?

    init(_ bytes: UnsafeRawBufferPointer, isFirst: Bool) throws {
        self.bytes = bytes
        position = 0
        if isFirst {
            let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
            guard bytes.count >= 19, Array(bytes[0..<11]) == signature else { throw DatabaseError("not a binary COPY stream") }
            position = 15
            let extension_ = Int(Self.int32(bytes, at: position))
            position += 4 + extension_
        }
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

    /// The next field's bytes, or nil for NULL.
    mutating func field() -> UnsafeRawBufferPointer? {
        let length = Int32(bitPattern: Self.int32(bytes, at: position))
        position += 4
        guard length >= 0 else { return nil }
        defer { position += Int(length) }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + Int(length)])
    }

    mutating func int64() -> Int64? {
        guard let f = field() else { return nil }
        return Int64(bitPattern: Self.int64(f, at: 0))
    }

    mutating func float32() -> Float? {
        guard let f = field() else { return nil }
        return Float(bitPattern: Self.int32(f, at: 0))
    }

    mutating func text() -> String? {
        guard let f = field() else { return nil }
        return String(decoding: f, as: UTF8.self)
    }
}

extension PostgresConnection {
    /// Runs `COPY (query) TO STDOUT (FORMAT binary)` and hands each row to `row`.
    func copyOutBinary(_ query: String, row: (inout BinaryCopyRow) throws -> Void) throws {
        var first = true
        try copyOut("COPY (\(query)) TO STDOUT (FORMAT binary)") { bytes in
            var r = try BinaryCopyRow(bytes, isFirst: first)
            first = false
            guard r.fieldCount != nil else { return }
            try row(&r)
        }
    }
}

extension BinaryCopyRow {
    /// A timestamptz (microseconds since 2000-01-01 UTC) as whole seconds since 1970, rounded
    /// down; nil for NULL.
    mutating func timestamptzSeconds() -> Int64? {
        guard let microseconds = int64() else { return nil }
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : -((-microseconds + 999_999) / 1_000_000)
        return seconds + 946_684_800
    }
}
