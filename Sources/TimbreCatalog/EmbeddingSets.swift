import Foundation
import TimbreCore
import TimbreInterchange

/// What an embedding set's vectors are, which decides what `latest` may resolve to: a strategy
/// trained on audio vectors must not silently move to genre vectors because those are newer.
public enum EmbeddingKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// A content model's view of the audio (e.g. the MFCC → LSTM state, musicnn).
    case audioModel = "audio-model"
    /// Multi-hot vectors of an item metadata field (`content embed-metadata`).
    case metadata
    /// Item factors of a collaborative-filtering model.
    case cfFactors = "cf-factors"
    /// Factors predicted from content for items without interactions.
    case predictedFactors = "predicted-factors"
    /// Vectors from a file made by any outside model (`embeddings import`).
    case imported

    public var description: String { rawValue }
}

/// One embedding set as `embeddings list` shows it. Its id is the trained model that made the
/// vectors (they live in `item_embeddings` under that id).
public struct EmbeddingSet: Sendable, Codable, Equatable {
    public let id: Int64
    public let name: String
    public let kind: EmbeddingKind
    public let dimension: Int
    /// Items that have a vector in it now.
    public let items: Int
    /// How it was made (producer, field, file and its SHA-256, …), as JSON.
    public let source: String
    public let createdAt: String
}

/// Which embedding set's item vectors strategies that use them are trained with.
public enum EmbeddingChoice: Sendable, Equatable, CustomStringConvertible {
    /// The newest set, where the catalog's sets are of one kind (or a stored model of the same
    /// strategy already chose a kind: it stays with it); otherwise the choices are named.
    case latest
    /// The newest set of one kind.
    case latestOfKind(EmbeddingKind)
    case none
    /// A set by its id (the id of the model that made it).
    case model(Int64)
    /// The newest set with this name.
    case named(String)

    /// `latest`, `latest:KIND`, `none`, a set id or a set name.
    public init?(_ text: String) {
        switch text {
        case "latest": self = .latest
        case "none": self = .none
        case _ where text.hasPrefix("latest:"):
            guard let kind = EmbeddingKind(rawValue: String(text.dropFirst("latest:".count))) else { return nil }
            self = .latestOfKind(kind)
        case _ where text.allSatisfy(\.isNumber):
            guard let id = Int64(text), id > 0 else { return nil }
            self = .model(id)
        default:
            guard !text.isEmpty, !text.contains(where: \.isWhitespace) else { return nil }
            self = .named(text)
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest"
        case let .latestOfKind(kind): "latest:\(kind)"
        case .none: "none"
        case let .model(id): String(id)
        case let .named(name): name
        }
    }
}

/// The strategy a choice of embeddings is made for: where the catalog holds sets of several kinds,
/// `latest` keeps to the kind its newest stored model used.
public struct EmbeddingUse: Sendable {
    public let strategy: String
    public let parameters: String

    public init(strategy: String, parameters: Parameters) {
        self.strategy = strategy
        self.parameters = parameters.json
    }
}

/// `latest` cannot choose between sets of several kinds: the message lists them.
public struct AmbiguousEmbeddingsError: Error, CustomStringConvertible {
    public let target: String
    public let newestByKind: [EmbeddingSet]

    public var description: String {
        let choices = newestByKind.map { "\($0.kind): newest #\($0.id) '\($0.name)' (\($0.dimension)-d, \($0.items) items)" }
        return "\(target) holds embedding sets of \(newestByKind.count) kinds (\(choices.joined(separator: "; "))); "
            + "choose one with --embedding-model ID, NAME or latest:KIND (see `timbre embeddings list`)"
    }
}

/// Result of `embeddings import`.
public struct EmbeddingImportSummary: Sendable, Codable, Equatable {
    public let set: Int64
    public let name: String
    public let dimension: Int
    public let items: Int
    /// False when the same file was imported under this name before: nothing was written.
    public let created: Bool
}

/// The store that owns `embedding_sets`: registering a producer's vectors as a set, listing the
/// sets, resolving a choice to one, and importing vectors from files.
public struct EmbeddingSetStore {
    public let db: PostgresConnection

    public init(_ db: PostgresConnection) { self.db = db }

    /// Records that model `id`'s vectors form a set (a no-op when it is recorded already).
    public func register(model id: Int64, name: String, kind: EmbeddingKind, dimension: Int, source: String = "{}") throws {
        try db.query("""
            INSERT INTO embedding_sets (model_id, name, kind, dimension, source)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id) DO NOTHING
            """, [id, name, kind.rawValue, dimension, PostgresJSONB(source)], purpose: "register embedding set '\(name)'")
    }

    private static let columns = """
        s.model_id, s.name, s.kind, s.dimension,
        (SELECT count(*) FROM item_embeddings e WHERE e.model_id = s.model_id) AS items, s.source::text AS source,
        s.created_at::text AS created
        """

    private func sets(_ result: QueryResult) throws -> [EmbeddingSet] {
        try result.map { row in
            let kind = try row.string("kind")
            guard let known = EmbeddingKind(rawValue: kind) else {
                throw DatabaseError(purpose: result.purpose, target: db.target, message: "embedding set #\(try row.int64("model_id")) has an unknown kind '\(kind)'")
            }
            return EmbeddingSet(id: try row.int64("model_id"), name: try row.string("name"), kind: known,
                                dimension: try row.int("dimension"), items: try row.int("items"),
                                source: try row.string("source"), createdAt: try row.string("created"))
        }
    }

    /// Every set, newest first.
    public func list() throws -> [EmbeddingSet] {
        try sets(try db.query("SELECT \(Self.columns) FROM embedding_sets s ORDER BY s.model_id DESC", purpose: "list the embedding sets"))
    }

    /// The newest set of each kind that has vectors, newest first.
    func newestByKind() throws -> [EmbeddingSet] {
        try sets(try db.query("""
            SELECT \(Self.columns) FROM embedding_sets s
            WHERE s.model_id = (SELECT max(o.model_id) FROM embedding_sets o WHERE o.kind = s.kind
                                AND EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = o.model_id))
            ORDER BY s.model_id DESC
            """, purpose: "find the newest embedding set of each kind"))
    }

    /// The set `choice` names: nil for `.none`, and for `.latest` when the catalog has no set.
    public func resolve(_ choice: EmbeddingChoice, for use: EmbeddingUse? = nil) throws -> Int64? {
        switch choice {
        case .none:
            return nil
        case let .model(id):
            guard try db.query("SELECT 1 FROM item_embeddings WHERE model_id = $1 LIMIT 1", [id],
                               purpose: "look for embedding set #\(id)").rowCount == 1 else {
                throw DatabaseError("--embedding-model \(id): \(db.target) has no item embeddings in set #\(id) (see `timbre embeddings list`)")
            }
            return id
        case let .named(name):
            let found = try db.query("""
                SELECT max(s.model_id) FROM embedding_sets s
                WHERE s.name = $1 AND EXISTS (SELECT 1 FROM item_embeddings e WHERE e.model_id = s.model_id)
                """, [name], purpose: "find embedding set '\(name)'")
            guard let id = try found.scalar(Int64?.self) else {
                let names = Set(try list().map(\.name)).sorted()
                throw DatabaseError("--embedding-model \(name): \(db.target) has no embedding set of that name with vectors (it has: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
            }
            return id
        case let .latestOfKind(kind):
            guard let set = try newestByKind().first(where: { $0.kind == kind }) else {
                throw DatabaseError("--embedding-model latest:\(kind): \(db.target) has no embedding set of that kind with vectors (see `timbre embeddings list`)")
            }
            return set.id
        case .latest:
            let newest = try newestByKind()
            if newest.count <= 1 { return newest.first?.id }
            // Several kinds: a strategy that already chose one keeps it.
            if let use, let kind = try kindUsedBefore(by: use), let set = newest.first(where: { $0.kind == kind }) {
                return set.id
            }
            throw AmbiguousEmbeddingsError(target: db.target, newestByKind: newest)
        }
    }

    /// The kind of the embedding set the newest stored model of `use` was trained with.
    private func kindUsedBefore(by use: EmbeddingUse) throws -> EmbeddingKind? {
        let r = try db.query("""
            SELECT s.kind FROM trained_models m JOIN embedding_sets s ON s.model_id = (m.trained_on ->> 'embedding_model')::bigint
            WHERE m.strategy = $1 AND m.parameters = $2 ORDER BY m.id DESC LIMIT 1
            """, [use.strategy, PostgresJSONB(use.parameters)], purpose: "find the embedding kind \(use.strategy) used before")
        return try r.first.flatMap { EmbeddingKind(rawValue: try $0.string("kind")) }
    }

    /// A factor model's item rows (`ItemFactorModel`) as the cf-factors set of model `id`, for the
    /// items that had interactions in training (`itemIDs`: catalog ids by dense index).
    public func storeFactors(_ model: any ItemFactorModel, ofModel id: Int64, strategy: String, items itemIDs: [Int64],
                             interacted: SparseRows) throws {
        let d = model.itemFactorDimension, rows = model.itemFactorRows
        let kept = itemIDs.indices.filter { $0 < rows.count / max(d, 1) && interacted.count(Int32($0)) > 0 }
        try register(model: id, name: "\(strategy)-\(id)", kind: .cfFactors, dimension: d,
                     source: try sortedJSON(["producer": strategy, "model": String(id)]))
        try db.copyRows("COPY item_embeddings (model_id, item_id, vector) FROM STDIN", kept,
                        purpose: "store the item factors of \(strategy) model #\(id)") { i in
            [String(id), String(itemIDs[i]), copyTextArray(rows[i * d..<(i + 1) * d])]
        }
    }

    public static let importedProducer = "imported-embeddings"

    /// Imports item vectors from `path` as a new set of kind `imported` named `name`, in one
    /// transaction. A CSV/TSV file has a header whose first column is the item id (item, item_id or
    /// id) and one numeric column per dimension; a `.npy` file is a 2-D float array whose first
    /// column is the item's (integer) external id. Every row is checked first (unknown items, wrong
    /// widths, non-finite values are named by line or row); the same file imported again under the
    /// same name writes nothing.
    public func importVectors(path: String, name: String) throws -> EmbeddingImportSummary {
        guard !name.isEmpty, !name.contains(where: \.isWhitespace), !name.allSatisfy(\.isNumber), !name.hasPrefix("latest") else {
            throw DatabaseError("--name '\(name)': a set name is a word without spaces, not a number and not latest/none")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputFileError(file: path, line: nil, "cannot read the file (missing or unreadable)")
        }
        let rows = try path.lowercased().hasSuffix(".npy") ? Self.npyRows(data, file: path) : Self.delimitedRows(path: path)
        guard let dimension = rows.first?.vector.count else { throw InputFileError(file: path, line: nil, "no vectors in the file") }
        return try db.transaction {
            // The server hashes the bytes: the catalog library needs no crypto library of its own.
            let digest = try db.query("SELECT encode(sha256($1), 'hex')", [data], purpose: "hash \(path)").scalar(String.self)
            try db.query("SELECT pg_advisory_xact_lock(hashtext('timbre embeddings import ' || $1))", [name],
                         purpose: "lock embedding set name '\(name)'")
            let again = try db.query("""
                SELECT s.model_id FROM embedding_sets s WHERE s.name = $1 AND s.kind = 'imported' AND s.source ->> 'sha256' = $2
                ORDER BY s.model_id DESC LIMIT 1
                """, [name, digest], purpose: "look for an earlier import of \(path)")
            if let id = try again.first?.int64("model_id") {
                let items = try db.query("SELECT count(*) FROM item_embeddings WHERE model_id = $1", [id],
                                         purpose: "count the vectors of embedding set #\(id)").scalar(Int.self)
                return EmbeddingImportSummary(set: id, name: name, dimension: dimension, items: items, created: false)
            }
            // Every id must name a catalog item.
            var known: [String: Int64] = [:]
            try db.copyOutBinary("SELECT id, external_id FROM items", purpose: "load the catalog's item ids") { row in
                let id = try row.int64()
                known[try row.text()] = id
            }
            if let bad = rows.first(where: { known[$0.item] == nil }) {
                throw InputFileError(file: path, line: bad.line, "item '\(bad.item)' is not in the catalog")
            }
            struct Source: Encodable { var producer: String; var file: String; var sha256: String }
            let source = try sortedJSON(Source(producer: Self.importedProducer, file: (path as NSString).lastPathComponent, sha256: digest))
            let model = try db.insertTrainedModel(strategy: Self.importedProducer, parameters: source, trainedOn: "{}", state: [])
            try register(model: model, name: name, kind: .imported, dimension: dimension, source: source)
            try db.copyRows("COPY item_embeddings (model_id, item_id, vector) FROM STDIN", rows, purpose: "store the vectors of \(path)") { row in
                [String(model), known[row.item].map { String($0) }, copyTextArray(row.vector)]
            }
            return EmbeddingImportSummary(set: model, name: name, dimension: dimension, items: rows.count, created: true)
        }
    }

    struct VectorRow { let item: String; let vector: [Float]; let line: Int }

    private static func checked(_ rows: [VectorRow], file: String, unit: String) throws -> [VectorRow] {
        var seen: [String: Int] = [:]
        for row in rows {
            guard row.vector.count == rows[0].vector.count else {
                throw InputFileError(file: file, line: row.line, "\(row.vector.count) values, the first \(unit) has \(rows[0].vector.count)")
            }
            guard !row.vector.isEmpty else { throw InputFileError(file: file, line: row.line, "no vector values") }
            if let first = seen.updateValue(row.line, forKey: row.item) {
                throw InputFileError(file: file, line: row.line, "item '\(row.item)' again (first at \(unit) \(first))")
            }
        }
        return rows
    }

    static func delimitedRows(path: String) throws -> [VectorRow] {
        let layout: TableLayout = path.lowercased().hasSuffix(".csv") ? .csv : .atomic
        let table = try DelimitedTable.read(path: path, kind: .items, layout: layout)
        guard let first = table.columns.first, ["item", "item_id", "id"].contains(first.lowercased()) else {
            throw InputFileError(file: path, line: 1, "the first column must be the item id (item, item_id or id), found '\(table.columns.first ?? "")'")
        }
        let rows = try zip(table.rows, table.lineNumbers).map { fields, line in
            let vector = try fields.dropFirst().enumerated().map { k, text in
                guard let v = Float(text.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                    throw InputFileError(file: path, line: line, "column \(table.columns[k + 1]): '\(text.prefix(40))' is not a finite number")
                }
                return v
            }
            // Ids are compared in NFC form, like every id entering Timbre (see ExternalID).
            return VectorRow(item: ExternalID.normalised(fields[0]), vector: vector, line: line)
        }
        return try checked(rows, file: path, unit: "line")
    }

    static func npyRows(_ data: Data, file: String) throws -> [VectorRow] {
        let array: NumPyArray
        do { array = try NumPyArray(decoding: [UInt8](data)) } catch {
            throw InputFileError(file: file, line: nil, "not a readable .npy file: \(error)")
        }
        guard array.shape.count == 2, array.shape[1] >= 2 else {
            throw InputFileError(file: file, line: nil, "expected a 2-D array (item id, then the vector), found shape \(array.shape)")
        }
        let width = array.shape[1]
        let rows = try (0..<array.shape[0]).map { r in
            let id = array.values[r * width]
            guard id.isFinite, id == id.rounded(), abs(id) < 9e15 else {
                throw InputFileError(file: file, line: r + 1, "row \(r + 1): the item id \(id) in column 0 is not an integer")
            }
            let vector = array.values[r * width + 1..<(r + 1) * width].map(Float.init)
            if let bad = vector.firstIndex(where: { !$0.isFinite }) {
                throw InputFileError(file: file, line: r + 1, "row \(r + 1): value \(bad - (r * width + 1) + 1) is not finite")
            }
            return VectorRow(item: String(Int64(id)), vector: vector, line: r + 1)
        }
        return try checked(rows, file: file, unit: "row")
    }
}
