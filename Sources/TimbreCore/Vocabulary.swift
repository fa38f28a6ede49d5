/// Maps external ids (strings as they appear in the catalog or a data file) to dense indices 0..<count
/// and back. Built once at the edge; everything inside works on dense `Int32` indices.
public struct Vocabulary: Sendable, Equatable {
    public private(set) var ids: [String]
    private var indexOf: [String: Int32]

    public init() {
        ids = []
        indexOf = [:]
    }

    public init(_ ids: [String]) {
        self.init()
        self.ids.reserveCapacity(ids.count)
        indexOf.reserveCapacity(ids.count)
        for id in ids { intern(id) }
    }

    public var count: Int { ids.count }

    public func index(of id: String) -> Int32? { indexOf[id] }

    public subscript(index: Int32) -> String { ids[Int(index)] }

    /// Returns the index of `id`, adding it when new.
    @discardableResult
    public mutating func intern(_ id: String) -> Int32 {
        if let existing = indexOf[id] { return existing }
        let index = Int32(ids.count)
        ids.append(id)
        indexOf[id] = index
        return index
    }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.ids == b.ids }
}
