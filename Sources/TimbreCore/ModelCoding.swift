/// Little-endian binary coding for trained models. Arrays are length-prefixed, so a model's
/// layout is its sequence of `write` calls mirrored by `read` calls.
public struct ModelWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Float) { write(value.bitPattern) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }

    public mutating func write<T: FixedWidthInteger>(_ values: [T]) {
        write(Int64(values.count))
        for v in values { write(v) }
    }

    public mutating func write(_ values: [Float]) {
        write(Int64(values.count))
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { write(v.bitPattern) }
    }

    public mutating func write(_ text: String) { write(Array(text.utf8)) }

    /// A model file that starts with its own header: the format's name and layout version
    /// (read back by `ModelReader(_:format:)`).
    public init(format: ModelFormat) {
        write(format.name)
        write(format.version)
    }

    public mutating func write(_ texts: [String]) {
        write(Int64(texts.count))
        for t in texts { write(t) }
    }

    /// Names in order, each with its kind (0 int, 1 double, 2 bool, 3 string) and value.
    public mutating func write(_ parameters: Parameters) {
        write(Int64(parameters.values.count))
        for name in parameters.values.keys.sorted() {
            write(name)
            switch parameters.values[name]! {
            case let .int(v): write(UInt8(0)); write(Int64(v))
            case let .double(v): write(UInt8(1)); write(v)
            case let .bool(v): write(UInt8(2)); write(UInt8(v ? 1 : 0))
            case let .string(v): write(UInt8(3)); write(v)
            }
        }
    }
}

public struct ModelDecodingError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

public struct ModelReader: Sendable {
    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let size = MemoryLayout<T>.size
        guard position + size <= bytes.count else {
            throw ModelDecodingError(description: "model blob truncated at byte \(position)")
        }
        var value = T.zero
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[position..<position + size]) }
        position += size
        return T(littleEndian: value)
    }

    public mutating func read(_: Float.Type = Float.self) throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    public mutating func read(_: Double.Type = Double.self) throws -> Double { Double(bitPattern: try read(UInt64.self)) }

    private mutating func readCount(elementSize: Int) throws -> Int {
        let count = try read(Int64.self)
        // Divide rather than multiply: a corrupt count times the element size can overflow.
        guard count >= 0, count <= (bytes.count - position) / elementSize else {
            throw ModelDecodingError(description: "model blob has a bad array length \(count) at byte \(position)")
        }
        return Int(count)
    }

    public mutating func read<T: FixedWidthInteger>(_: [T].Type = [T].self) throws -> [T] {
        let count = try readCount(elementSize: MemoryLayout<T>.size)
        return try (0..<count).map { _ in try read(T.self) }
    }

    public mutating func read(_: [Float].Type = [Float].self) throws -> [Float] {
        let count = try readCount(elementSize: 4)
        return try (0..<count).map { _ in try read(Float.self) }
    }

    public mutating func read(_: [String].Type = [String].self) throws -> [String] {
        // Each string takes at least its 8-byte length.
        let count = try readCount(elementSize: 8)
        return try (0..<count).map { _ in try read(String.self) }
    }

    public mutating func read(_: String.Type = String.self) throws -> String {
        String(decoding: try read([UInt8].self), as: UTF8.self)
    }

    public mutating func read(_: Parameters.Type = Parameters.self) throws -> Parameters {
        // Each parameter takes at least its name's 8-byte length and its kind.
        let count = try readCount(elementSize: 9)
        var values: [String: ParameterValue] = [:]
        for _ in 0..<count {
            let name = try read(String.self)
            switch try read(UInt8.self) {
            case 0: values[name] = .int(Int(try read(Int64.self)))
            case 1: values[name] = .double(try read(Double.self))
            case 2: values[name] = .bool(try read(UInt8.self) != 0)
            case 3: values[name] = .string(try read(String.self))
            case let kind: throw ModelDecodingError(description: "parameter '\(name)' has an unknown kind \(kind)")
            }
        }
        return Parameters(values: values)
    }

    /// The parameters of a `strategy` component stored in a composed model, checked against the
    /// settings it declares today (a setting renamed or narrowed since is refused, naming it).
    public mutating func read(parametersOf strategy: any Strategy.Type) throws -> Parameters {
        let stored = try read(Parameters.self)
        do {
            return try Parameters(resolving: stored.values, specs: strategy.parameters, strategy: strategy.name)
        } catch {
            throw ModelDecodingError(description: "a stored component's parameters: \(error)")
        }
    }

    /// Reads past the header `ModelWriter(format:)` wrote; another format or version is refused,
    /// naming what the blob should be.
    public init(_ bytes: [UInt8], format: ModelFormat) throws {
        self.init(bytes)
        guard try read(String.self) == format.name else { throw format.error("not a \(format.what)") }
        let version = try read(UInt32.self)
        guard version == format.version else { throw format.error("format version \(version), expected \(format.version)") }
    }

    public func expectEnd() throws {
        guard position == bytes.count else {
            throw ModelDecodingError(description: "model blob has \(bytes.count - position) unread bytes")
        }
    }
}

/// A model file's format: the name and layout version its header holds, and what to call such a
/// file in errors ("content model").
public struct ModelFormat: Sendable {
    public let name: String
    public let version: UInt32
    public let what: String

    public init(_ name: String, version: UInt32, what: String) {
        self.name = name
        self.version = version
        self.what = what
    }

    /// A decoding error naming the file: "content model: \(message)".
    public func error(_ message: String) -> ModelDecodingError { ModelDecodingError(description: "\(what): \(message)") }
}
