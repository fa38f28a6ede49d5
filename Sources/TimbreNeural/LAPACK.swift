import COpenBLAS
import Foundation

/// A factorisation failed: the matrix was not positive definite (LAPACK's `info` > 0), which for
/// a Gram matrix plus a positive ridge only happens with non-finite input.
public struct FactorisationError: Error, CustomStringConvertible {
    public let routine: String
    public let info: Int32
    public var description: String {
        info > 0 ? "\(routine): the matrix is not positive definite (leading minor \(info))" : "\(routine): argument \(-info) is invalid"
    }
}

/// The symmetric products and Cholesky routines the factor models (EASE, iALS) need. Row-major
/// like `multiply`. LAPACK is column-major, so a row-major upper triangle is its lower one ("L").
extension BLAS {
    /// c (n × n) ← aᵀa + beta · c for `a` stored rows × n; only the upper triangle of c is written.
    public static func gramUpper(_ a: UnsafePointer<Float>, rows: Int, columns n: Int,
                                 into c: UnsafeMutablePointer<Float>, beta: Float = 0) {
        _ = singleThreaded
        precondition(rows * n <= Int(Int32.max) && n * n <= Int(Int32.max), "BLAS.gramUpper: matrix too large for 32-bit BLAS indices")
        guard n > 0 else { return }
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(rows), 1, a, Int32(n), beta, c, Int32(n))
    }

    /// Copies the upper triangle of the n × n row-major `a` onto its lower one.
    public static func mirrorUpper(_ a: UnsafeMutablePointer<Float>, n: Int) {
        for i in 0..<n { for j in 0..<i { a[i * n + j] = a[j * n + i] } }
    }

    /// In place: the inverse of the symmetric positive definite n × n matrix `a` (its upper
    /// triangle is read), by Cholesky (spotrf) and spotri, not a general inverse. The whole
    /// symmetric inverse is written.
    public static func invertPositiveDefinite(_ a: UnsafeMutablePointer<Float>, n: Int) throws {
        _ = singleThreaded
        precondition(n * n <= Int(Int32.max), "BLAS.invertPositiveDefinite: matrix too large for 32-bit LAPACK indices")
        guard n > 0 else { return }
        var size = Int32(n), lda = Int32(n), info: Int32 = 0
        spotrf_("L", &size, a, &lda, &info)
        guard info == 0 else { throw FactorisationError(routine: "spotrf", info: info) }
        spotri_("L", &size, a, &lda, &info)
        guard info == 0 else { throw FactorisationError(routine: "spotri", info: info) }
        mirrorUpper(a, n: n)
    }

    /// Solves a·x = b for the symmetric positive definite n × n `a` (upper triangle read,
    /// overwritten by its Cholesky factor); `b` becomes x. With several right-hand sides, `b` holds
    /// them one after the other (`rightHandSides` rows of n, row-major: each system's b contiguous,
    /// which is LAPACK's column-major n × nrhs), one factorisation for all.
    public static func solvePositiveDefinite(_ a: UnsafeMutablePointer<Float>, n: Int, _ b: UnsafeMutablePointer<Float>,
                                             rightHandSides: Int = 1) throws {
        _ = singleThreaded
        guard n > 0, rightHandSides > 0 else { return }
        precondition(n * max(n, rightHandSides) <= Int(Int32.max), "BLAS.solvePositiveDefinite: matrix too large for 32-bit LAPACK indices")
        var size = Int32(n), lda = Int32(n), columns = Int32(rightHandSides), info: Int32 = 0
        sposv_("L", &size, &columns, a, &lda, b, &lda, &info)
        guard info == 0 else { throw FactorisationError(routine: "sposv", info: info) }
    }

    /// Runs `body` with OpenBLAS allowed `count` threads, then restores the single-threaded
    /// setting. For one large factorisation that nothing else runs beside (EASE's item × item
    /// inverse); everything parallelised above BLAS keeps one thread per call. The setting is
    /// process-wide, so `body` must not overlap other BLAS work (e.g. the LSTM's training), and a
    /// user's OPENBLAS_NUM_THREADS is left alone.
    public static func withThreads<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        _ = singleThreaded
        guard getenv("OPENBLAS_NUM_THREADS") == nil, count > 1 else { return try body() }
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(Int32(count))
        defer { openblas_set_num_threads(previous) }
        return try body()
    }
}
