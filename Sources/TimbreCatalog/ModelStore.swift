import Foundation
import TimbreCore

/// A trained model as stored in `trained_models`, with the vocabularies it was trained on, so
/// dense indices in its state map back to catalog ids whatever was imported since.
public struct StoredModel: Sendable {
    public let id: Int64
    public let strategy: String
    public let parameters: Parameters
    public let users: Vocabulary
    public let items: Vocabulary
    public let model: any TrainedModel
    public let createdAt: String
}

extension Parameters {
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(values), as: UTF8.self)
    }
}

extension PostgresConnection {
    /// Saves `model` (with the vocabularies of `ratings`) and returns its id.
    public func saveModel(_ model: any TrainedModel, strategy: any Strategy.Type, parameters: Parameters,
                          trainedOn ratings: RatingMatrix) throws -> Int64 {
        var writer = ModelWriter()
        writer.write(UInt32(0x544D_4252)) // "TMBR": the envelope's format marker
        writer.write(ratings.users.ids)
        writer.write(ratings.items.ids)
        model.encode(to: &writer)
        let trainedOn = "{\"users\": \(ratings.userCount), \"items\": \(ratings.itemCount), \"ratings\": \(ratings.ratingCount)}"
        let result = try query("""
            INSERT INTO trained_models (strategy, parameters, trained_on, state, code_version)
            VALUES ($1, $2::text::jsonb, $3::text::jsonb, $4, $5) RETURNING id
            """, binary: [Array(strategy.name.utf8), Array(parameters.json.utf8), Array(trainedOn.utf8), writer.bytes,
                          Array(TimbreVersion.string.utf8)])
        return Int64(result.string(0, 0)!)!
    }

    /// Fits `instance` on the catalog's current ratings and stores the model.
    public func trainAndSave(_ instance: any Strategy, parameters: Parameters) throws -> StoredModel {
        let snapshot = try loadConsistentSnapshot()
        let model = try instance.fitAny(TrainingData(ratings: snapshot.ratings))
        let type = type(of: instance)
        let id = try saveModel(model, strategy: type, parameters: parameters, trainedOn: snapshot.ratings)
        return StoredModel(id: id, strategy: type.name, parameters: parameters, users: snapshot.ratings.users,
                           items: snapshot.ratings.items, model: model, createdAt: "now")
    }

    /// The newest model of `strategy` trained with exactly `parameters`, or nil. `registry` decodes
    /// it (composed strategies decode their components through it).
    public func latestModel(strategy: any Strategy.Type, parameters: Parameters, registry: StrategyRegistry) throws -> StoredModel? {
        let result = try query("""
            SELECT id, state, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM trained_models
            WHERE strategy = $1 AND parameters = $2::text::jsonb ORDER BY created_at DESC, id DESC LIMIT 1
            """, binary: [Array(strategy.name.utf8), Array(parameters.json.utf8)], resultsBinary: true)
        guard result.rowCount == 1 else { return nil }
        let id = result.binaryInteger(0, 0)!
        let created = String(decoding: result.bytes(0, 2)!, as: UTF8.self)
        var reader = ModelReader(result.bytes(0, 1)!)
        do {
            guard try reader.read(UInt32.self) == 0x544D_4252 else { throw ModelDecodingError(description: "not a Timbre model envelope") }
            let users = Vocabulary(try reader.read([String].self))
            let items = Vocabulary(try reader.read([String].self))
            let model = try registry.decodeModel(of: strategy, from: &reader)
            try reader.expectEnd()
            return StoredModel(id: id, strategy: strategy.name, parameters: parameters, users: users, items: items,
                               model: model, createdAt: created)
        } catch {
            throw DatabaseError("trained model #\(id) (\(strategy.name)) in \(target) cannot be read: \(error); retrain it with `timbre train --strategy \(strategy.name)`")
        }
    }
}
