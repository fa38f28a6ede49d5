import Foundation
import TimbreCore

/// Keras's default initialisers, drawn from the project's SeededGenerator so that one seed gives
/// one model on every platform.
enum Initialiser {
    /// GlorotUniform: U(−l, l) with l = √(6 / (fanIn + fanOut)), fanIn = rows, fanOut = columns.
    static func glorotUniform(rows: Int, columns: Int, _ rng: inout SeededGenerator) -> Matrix {
        let limit = (6 / Double(rows + columns)).squareRoot()
        return Matrix(rows: rows, columns: columns,
                      values: (0..<(rows * columns)).map { _ in Float((2 * rng.unit() - 1) * limit) })
    }

    /// Orthogonal (gain 1): Q of the QR decomposition of a Gaussian matrix, signs fixed so R's
    /// diagonal is positive, as Keras does; for a wide matrix the rows are orthonormal.
    /// QR by modified Gram–Schmidt in Double on the tall orientation.
    static func orthogonal(rows: Int, columns: Int, _ rng: inout SeededGenerator) -> Matrix {
        let tall = max(rows, columns), narrow = min(rows, columns)
        // q[j] is column j of the tall × narrow matrix being orthonormalised.
        var q = (0..<narrow).map { _ in (0..<tall).map { _ in rng.gaussian() } }
        for j in 0..<narrow {
            for i in 0..<j {
                let projection = zip(q[i], q[j]).reduce(0) { $0 + $1.0 * $1.1 }
                for r in 0..<tall { q[j][r] -= projection * q[i][r] }
            }
            // Gram–Schmidt's R diagonal is the norm, positive by construction.
            let norm = q[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for r in 0..<tall { q[j][r] /= norm }
        }
        var m = Matrix(rows: rows, columns: columns)
        for j in 0..<narrow {
            for r in 0..<tall {
                if rows >= columns { m[r, j] = Float(q[j][r]) } else { m[j, r] = Float(q[j][r]) }
            }
        }
        return m
    }
}
