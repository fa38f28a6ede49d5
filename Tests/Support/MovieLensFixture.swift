import Foundation
import TimbreCore
import TimbreInterchange

/// Finds MovieLens-100K as RecBole ships it (`ml-100k.inter`) for tests and benchmarks that need
/// no database; reading goes through the same reader as `timbre import`.
public enum MovieLensFixture {
    public static let defaultDirectory = NSHomeDirectory() + "/.cache/timbre/ml-100k"

    /// `$TIMBRE_ML100K_DIR`, else the RecBole example folder.
    public static var directory: String {
        ProcessInfo.processInfo.environment["TIMBRE_ML100K_DIR"] ?? defaultDirectory
    }

    public static func load(directory: String = directory) throws -> RatingMatrix {
        let path = directory + "/ml-100k.inter"
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestData.TestDataMissing(description: "MovieLens-100K not found at \(path): run scripts/fetch-movielens and set TIMBRE_ML100K_DIR to the folder it prints")
        }
        return try RatingMatrix.read(ratingsFile: path, layout: .atomic)
    }
}
