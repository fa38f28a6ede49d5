import Foundation
import TimbreCore

/// Reads MovieLens-100K as RecBole ships it (`ml-100k.inter`: tab-separated, a `name:type`
/// header, then user, item, rating, timestamp). Deliberately small and separate: the catalog's
/// importer is the general reader; this one exists so tests and benchmarks need no database.
public enum MovieLensFixture {
    public static let defaultDirectory = "/tmp/rb/recbole/dataset_example/ml-100k"

    /// `$TIMBRE_ML100K_DIR`, else the RecBole example folder.
    public static var directory: String {
        ProcessInfo.processInfo.environment["TIMBRE_ML100K_DIR"] ?? defaultDirectory
    }

    public static func load(directory: String = directory) throws -> RatingMatrix {
        let path = directory + "/ml-100k.inter"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvaluationError("MovieLens-100K not found at \(path): set TIMBRE_ML100K_DIR to the folder holding ml-100k.inter")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    public static func parse(_ text: String, source: String) throws -> RatingMatrix {
        var users = Vocabulary(), items = Vocabulary()
        var triples: [RatingTriple] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let header = lines.next(), header.hasPrefix("user_id") else {
            throw EvaluationError("\(source): expected a RecBole header starting with user_id")
        }
        var number = 1
        while let line = lines.next() {
            number += 1
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 4, let rating = Float(f[2]), let time = Double(f[3]) else {
                throw EvaluationError("\(source):\(number): expected user, item, rating, timestamp")
            }
            triples.append(RatingTriple(user: users.intern(String(f[0])), item: items.intern(String(f[1])),
                                        value: rating, timestamp: Int64(time)))
        }
        return try RatingMatrix(users: users, items: items, ratings: triples)
    }
}
