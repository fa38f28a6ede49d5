import Foundation

/// A PostgreSQL type by its OID (fixed for the built-in types, see `pg_type.dat`), with its name
/// for messages.
public struct PostgresType: Sendable, Hashable, CustomStringConvertible {
    public let oid: UInt32

    public init(oid: UInt32) { self.oid = oid }

    public static let bool = PostgresType(oid: 16)
    public static let bytea = PostgresType(oid: 17)
    public static let name = PostgresType(oid: 19)
    public static let int8 = PostgresType(oid: 20)
    public static let int2 = PostgresType(oid: 21)
    public static let int4 = PostgresType(oid: 23)
    public static let text = PostgresType(oid: 25)
    public static let json = PostgresType(oid: 114)
    public static let float4 = PostgresType(oid: 700)
    public static let float8 = PostgresType(oid: 701)
    public static let unknown = PostgresType(oid: 705)
    public static let bpchar = PostgresType(oid: 1042)
    public static let varchar = PostgresType(oid: 1043)
    public static let timestamptz = PostgresType(oid: 1184)
    public static let numeric = PostgresType(oid: 1700)
    public static let jsonb = PostgresType(oid: 3802)
    public static let int4Array = PostgresType(oid: 1007)
    public static let textArray = PostgresType(oid: 1009)
    public static let int8Array = PostgresType(oid: 1016)
    public static let float4Array = PostgresType(oid: 1021)

    private static let names: [UInt32: String] = [
        16: "boolean", 17: "bytea", 19: "name", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 114: "json",
        700: "real", 701: "double precision", 705: "unknown", 1042: "character", 1043: "character varying",
        1184: "timestamptz", 1700: "numeric", 3802: "jsonb", 1007: "integer[]", 1009: "text[]", 1016: "bigint[]", 1021: "real[]",
    ]

    public var description: String { Self.names[oid] ?? "type \(oid)" }
}

// MARK: binding

/// A value that can be bound to a `$n` parameter: sent in PostgreSQL's binary format with its
/// type's OID, so the server neither parses text nor guesses the type (`$1` needs no cast).
public protocol PostgresEncodable {
    static var postgresType: PostgresType { get }
    /// The value in binary format; nil binds NULL.
    var postgresBinary: [UInt8]? { get }
}

/// An element type of a PostgreSQL array, so `[Self]` binds and decodes as that array.
/// `UInt8` is the exception that reads naturally: `[UInt8]` is `bytea`.
public protocol PostgresArrayElement {
    static var postgresArrayType: PostgresType { get }
    static func postgresArrayBinary(_ values: [Self]) -> [UInt8]
    static func decodePostgresArray(_ cell: PostgresCell) throws -> [Self]
}

@inline(__always) func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
}

func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var bytes: [UInt8] = []
    appendBigEndian(value, to: &bytes)
    return bytes
}

/// Integers travel as their big-endian bytes, the width of their type.
extension PostgresEncodable where Self: FixedWidthInteger {
    public var postgresBinary: [UInt8]? { bigEndianBytes(self) }
}

extension Int64: PostgresEncodable { public static var postgresType: PostgresType { .int8 } }
extension Int32: PostgresEncodable { public static var postgresType: PostgresType { .int4 } }
/// `Int` binds as bigint (whatever the platform's word size).
extension Int: PostgresEncodable {
    public static var postgresType: PostgresType { .int8 }
    public var postgresBinary: [UInt8]? { bigEndianBytes(Int64(self)) }
}

extension Bool: PostgresEncodable {
    public static var postgresType: PostgresType { .bool }
    public var postgresBinary: [UInt8]? { [self ? 1 : 0] }
}

extension Double: PostgresEncodable {
    public static var postgresType: PostgresType { .float8 }
    public var postgresBinary: [UInt8]? { bigEndianBytes(bitPattern) }
}

extension Float: PostgresEncodable {
    public static var postgresType: PostgresType { .float4 }
    public var postgresBinary: [UInt8]? { bigEndianBytes(bitPattern) }
}

extension String: PostgresEncodable {
    public static var postgresType: PostgresType { .text }
    public var postgresBinary: [UInt8]? { Array(utf8) }
}

extension Data: PostgresEncodable {
    public static var postgresType: PostgresType { .bytea }
    public var postgresBinary: [UInt8]? { [UInt8](self) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresType { Wrapped.postgresType }
    public var postgresBinary: [UInt8]? { self?.postgresBinary }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresType: PostgresType { Element.postgresArrayType }
    public var postgresBinary: [UInt8]? { Element.postgresArrayBinary(self) }
}

/// A JSON document bound as `jsonb` (binary format: version byte 1, then the text).
public struct PostgresJSONB: PostgresEncodable, Sendable {
    public let text: String
    public init(_ text: String) { self.text = text }
    public static var postgresType: PostgresType { .jsonb }
    public var postgresBinary: [UInt8]? { [1] + Array(text.utf8) }
}

/// The binary array format: dimensions, has-null flag, element type, then per dimension its
/// length and lower bound (1), then each element as length + bytes.
func binaryArray<T>(_ values: [T], element: PostgresType, _ encode: (T, inout [UInt8]) -> Void) -> [UInt8] {
    var bytes: [UInt8] = []
    if values.isEmpty {
        appendBigEndian(Int32(0), to: &bytes)
        appendBigEndian(Int32(0), to: &bytes)
        appendBigEndian(element.oid, to: &bytes)
        return bytes
    }
    appendBigEndian(Int32(1), to: &bytes)
    appendBigEndian(Int32(0), to: &bytes)
    appendBigEndian(element.oid, to: &bytes)
    appendBigEndian(Int32(values.count), to: &bytes)
    appendBigEndian(Int32(1), to: &bytes)
    for value in values {
        let lengthAt = bytes.count
        appendBigEndian(Int32(0), to: &bytes)
        encode(value, &bytes)
        let length = UInt32(bytes.count - lengthAt - 4)
        for k in 0..<4 { bytes[lengthAt + k] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(k))) }
    }
    return bytes
}

/// The elements of a one-dimensional binary array of `element` (an empty array has 0 dimensions);
/// NULL elements are refused.
func decodeBinaryArray<T>(_ cell: PostgresCell, element: PostgresType, _ decode: (UnsafeRawBufferPointer) throws -> T) throws -> [T] {
    let f = try cell.binary()
    var reader = BigEndianReader(f)
    guard let dimensions = reader.int32(), let _ = reader.int32(), let type = reader.uint32() else { throw cell.malformed() }
    if dimensions == 0 { return [] }
    guard dimensions == 1, type == element.oid, let count = reader.int32(), count >= 0, reader.int32() != nil else {
        throw cell.mismatch("a one-dimensional \(element)[]")
    }
    var values: [T] = []
    values.reserveCapacity(Int(count))
    for _ in 0..<count {
        guard let length = reader.int32() else { throw cell.malformed() }
        guard length >= 0 else { throw cell.error("holds a NULL element") }
        guard let bytes = reader.take(Int(length)) else { throw cell.malformed() }
        values.append(try decode(bytes))
    }
    return values
}

struct BigEndianReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func take(_ n: Int) -> UnsafeRawBufferPointer? {
        guard n >= 0, position + n <= bytes.count else { return nil }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + n])
    }

    mutating func uint32() -> UInt32? { take(4).map { bigEndianInteger($0) } }
    mutating func int32() -> Int32? { uint32().map { Int32(bitPattern: $0) } }
}

@inline(__always) func bigEndianInteger<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer) -> T {
    var value: T = 0
    for byte in bytes { value = value << 8 | T(byte) }
    return value
}

/// An array element that travels as a fixed-width big-endian bit pattern (real, bigint), its
/// element type the one it binds as alone.
public protocol PostgresFixedWidthElement: PostgresArrayElement, PostgresEncodable {
    associatedtype BitPattern: FixedWidthInteger
    var postgresBitPattern: BitPattern { get }
    init(postgresBitPattern: BitPattern)
}

extension PostgresFixedWidthElement {
    public static func postgresArrayBinary(_ values: [Self]) -> [UInt8] {
        binaryArray(values, element: postgresType) { appendBigEndian($0.postgresBitPattern, to: &$1) }
    }
    public static func decodePostgresArray(_ cell: PostgresCell) throws -> [Self] {
        try decodeBinaryArray(cell, element: postgresType) { bytes in
            guard bytes.count == MemoryLayout<BitPattern>.size else { throw cell.malformed() }
            return Self(postgresBitPattern: bigEndianInteger(bytes))
        }
    }
}

extension Float: PostgresFixedWidthElement {
    public static var postgresArrayType: PostgresType { .float4Array }
    public var postgresBitPattern: UInt32 { bitPattern }
    public init(postgresBitPattern bits: UInt32) { self.init(bitPattern: bits) }
}

extension Int64: PostgresFixedWidthElement {
    public static var postgresArrayType: PostgresType { .int8Array }
    public var postgresBitPattern: UInt64 { UInt64(bitPattern: self) }
    public init(postgresBitPattern bits: UInt64) { self.init(bitPattern: bits) }
}

extension String: PostgresArrayElement {
    public static var postgresArrayType: PostgresType { .textArray }
    public static func postgresArrayBinary(_ values: [String]) -> [UInt8] {
        binaryArray(values, element: .text) { $1.append(contentsOf: $0.utf8) }
    }
    public static func decodePostgresArray(_ cell: PostgresCell) throws -> [String] {
        try decodeBinaryArray(cell, element: .text) { String(decoding: $0, as: UTF8.self) }
    }
}

/// `[UInt8]` is `bytea`, PostgreSQL's array of bytes.
extension UInt8: PostgresArrayElement {
    public static var postgresArrayType: PostgresType { .bytea }
    public static func postgresArrayBinary(_ values: [UInt8]) -> [UInt8] { values }
    public static func decodePostgresArray(_ cell: PostgresCell) throws -> [UInt8] {
        guard cell.type == .bytea else { throw cell.mismatch("bytea") }
        if cell.isBinary { return Array(try cell.binary()) }
        // Text format (a result of `execute`): \x followed by hex digits.
        let text = try cell.text()
        guard text.hasPrefix("\\x"), text.count % 2 == 0 else { throw cell.malformed() }
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in text.utf8.dropFirst(2) {
            guard let digit = hexValue(c) else { throw cell.malformed() }
            if let h = high { bytes.append(h << 4 | digit); high = nil } else { high = digit }
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

// MARK: decoding

/// One value of a result row, with what a decoding error must name: the column, its type and
/// the statement's purpose. Never the value itself.
public struct PostgresCell {
    /// The value's bytes, nil for NULL.
    public let bytes: UnsafeRawBufferPointer?
    public let type: PostgresType
    /// Binary (results of `query`) or text (results of `execute`).
    public let isBinary: Bool
    public let column: String
    public let purpose: String

    public var isNull: Bool { bytes == nil }

    func error(_ problem: String) -> DatabaseError {
        DatabaseError(purpose: purpose, target: nil, message: "column '\(column)' (\(type)) \(problem)", column: column)
    }

    func mismatch(_ expected: String) -> DatabaseError { error("cannot be read as \(expected)") }
    func malformed() -> DatabaseError { error("holds bytes that are not a valid \(isBinary ? "binary" : "text") \(type)") }

    /// The non-NULL value's binary bytes.
    public func binary() throws -> UnsafeRawBufferPointer {
        guard let bytes else { throw error("is NULL where a value is required") }
        guard isBinary else { throw error("is in text format where binary is required") }
        return bytes
    }

    /// The non-NULL value's text (text format), or its bytes as UTF-8.
    public func text() throws -> String {
        guard let bytes else { throw error("is NULL where a value is required") }
        return String(decoding: bytes, as: UTF8.self)
    }

    func integer(_ name: String) throws -> Int64 {
        guard let bytes else { throw error("is NULL where a value is required") }
        guard [.int2, .int4, .int8].contains(type) else { throw mismatch(name) }
        if !isBinary {
            guard let v = Int64(String(decoding: bytes, as: UTF8.self)) else { throw malformed() }
            return v
        }
        switch bytes.count {
        case 2: return Int64(Int16(bitPattern: bigEndianInteger(bytes)))
        case 4: return Int64(Int32(bitPattern: bigEndianInteger(bytes)))
        case 8: return Int64(bitPattern: bigEndianInteger(bytes))
        default: throw malformed()
        }
    }
}

/// A Swift type a column can be read as. NULL is an error except for `Optional`.
public protocol PostgresDecodable {
    static func decode(_ cell: PostgresCell) throws -> Self
}

extension Int64: PostgresDecodable {
    /// smallint, integer or bigint.
    public static func decode(_ cell: PostgresCell) throws -> Int64 { try cell.integer("bigint") }
}

extension Int32: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Int32 {
        guard let v = Int32(exactly: try cell.integer("integer")) else { throw cell.error("is outside the range of a 32-bit integer") }
        return v
    }
}

extension Int: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Int { Int(try cell.integer("an integer")) }
}

extension Bool: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Bool {
        guard cell.type == .bool else { throw cell.mismatch("boolean") }
        guard let bytes = cell.bytes else { throw cell.error("is NULL where a value is required") }
        switch (cell.isBinary, bytes.count == 1 ? bytes[0] : nil) {
        case (true, 1?), (false, UInt8(ascii: "t")?): return true
        case (true, 0?), (false, UInt8(ascii: "f")?): return false
        default: throw cell.malformed()
        }
    }
}

extension Double: PostgresDecodable {
    /// double precision or real (widened exactly).
    public static func decode(_ cell: PostgresCell) throws -> Double {
        switch cell.type {
        case .float8:
            if !cell.isBinary { return try parsed(cell) }
            let bytes = try cell.binary()
            guard bytes.count == 8 else { throw cell.malformed() }
            return Double(bitPattern: bigEndianInteger(bytes))
        case .float4: return Double(try Float.decode(cell))
        default: throw cell.mismatch("double precision (cast a numeric to float8 in the statement)")
        }
    }

    static func parsed(_ cell: PostgresCell) throws -> Double {
        guard let v = Double(try cell.text()) else { throw cell.malformed() }
        return v
    }
}

extension Float: PostgresDecodable {
    /// real only: a double precision column would lose digits silently.
    public static func decode(_ cell: PostgresCell) throws -> Float {
        guard cell.type == .float4 else { throw cell.mismatch("real") }
        if !cell.isBinary { return Float(try Double.parsed(cell)) }
        let bytes = try cell.binary()
        guard bytes.count == 4 else { throw cell.malformed() }
        return Float(bitPattern: bigEndianInteger(bytes))
    }
}

extension String: PostgresDecodable {
    /// text, varchar, char, name, json; jsonb (its binary form starts with a version byte, 1).
    public static func decode(_ cell: PostgresCell) throws -> String {
        switch cell.type {
        case .text, .varchar, .bpchar, .name, .json, .unknown: return try cell.text()
        case .jsonb:
            guard cell.isBinary else { return try cell.text() }
            let bytes = try cell.binary()
            guard bytes.first == 1 else { throw cell.malformed() }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), as: UTF8.self)
        default: throw cell.mismatch("text (cast it to text in the statement)")
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Wrapped? {
        cell.isNull ? nil : try Wrapped.decode(cell)
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public static func decode(_ cell: PostgresCell) throws -> [Element] {
        guard cell.type == Element.postgresArrayType else { throw cell.mismatch(Element.postgresArrayType.description) }
        return try Element.decodePostgresArray(cell)
    }
}
