import COpenBLAS
import Foundation

/// The only place that talks to OpenBLAS (with LAPACK.swift, its factorisations). Row-major, dense (each matrix's leading dimension is
/// its column count); shapes are the stored shapes, before the optional transpose.
public enum BLAS {
    /// Debian's OpenBLAS is the pthread build, which by default starts one worker per core for
    /// every large enough call. Timbre parallelises above BLAS (mini-batch shards, inference
    /// batches on `concurrentChunks`), so BLAS's own threads would oversubscribe the cores and
    /// make small recurrent products slower. The thread count is a process-wide setting of the C
    /// library (in the pthread build; an OpenMP build of OpenBLAS would apply it to the calling
    /// thread only), made once, lazily, before the first call; a user's OPENBLAS_NUM_THREADS wins.
    static let singleThreaded: Void = {
        if getenv("OPENBLAS_NUM_THREADS") == nil { openblas_set_num_threads(1) }
    }()

    /// The OpenBLAS kernel set in use ("Cooperlake", "Haswell", …): chosen by the library from the
    /// CPU, or by $OPENBLAS_CORETYPE. Benchmarks print it, since it changes sgemm's speed.
    public static var coreName: String {
        _ = singleThreaded
        return openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// c ← alpha · op(a) · op(b) + beta · c, where op transposes when asked.
    /// `a` is stored as aRows × aColumns, `b` as bRows × bColumns, `c` as the product's shape.
    public static func multiply(
        _ a: UnsafePointer<Float>, rows aRows: Int, columns aColumns: Int, transposeA: Bool = false,
        by b: UnsafePointer<Float>, rows bRows: Int, columns bColumns: Int, transposeB: Bool = false,
        into c: UnsafeMutablePointer<Float>, alpha: Float = 1, beta: Float = 0
    ) {
        _ = singleThreaded
        let m = transposeA ? aColumns : aRows, k = transposeA ? aRows : aColumns
        let kB = transposeB ? bColumns : bRows, n = transposeB ? bRows : bColumns
        precondition(k == kB, "BLAS.multiply: inner dimensions differ (\(m)×\(k) times \(kB)×\(n))")
        precondition(aRows >= 0 && aColumns >= 0 && bRows >= 0 && bColumns >= 0, "BLAS.multiply: negative shape")
        precondition(aRows * aColumns <= Int(Int32.max) && bRows * bColumns <= Int(Int32.max) && m * n <= Int(Int32.max),
                     "BLAS.multiply: matrix too large for 32-bit BLAS indices")
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(max(aColumns, 1)), b, Int32(max(bColumns, 1)),
                    beta, c, Int32(n))
    }

    /// What factor models score with: out[i] ← x · row i of the row-major `rows` (one row per
    /// entry of `scorable`), −inf where `scorable` is false, and −inf everywhere when x is nil (a
    /// profile the model cannot place).
    public static func scoreRows(_ rows: [Float], by x: [Float]?, scorable: [Bool], into out: inout [Float]) {
        let count = scorable.count
        guard let x else {
            for i in 0..<count { out[i] = -.infinity }
            return
        }
        precondition(rows.count == count * x.count && out.count >= count, "BLAS.scoreRows: \(rows.count) values for \(count) rows × \(x.count)")
        rows.withUnsafeBufferPointer { y in
            x.withUnsafeBufferPointer { xv in
                out.withUnsafeMutableBufferPointer { s in
                    multiply(y.baseAddress!, rows: count, columns: x.count, by: xv.baseAddress!, rows: x.count, columns: 1, into: s.baseAddress!)
                }
            }
        }
        for i in 0..<count where !scorable[i] { out[i] = -.infinity }
    }

    /// The same product on matrices: op(a) · op(b).
    public static func multiply(_ a: Matrix, transposeA: Bool = false,
                                by b: Matrix, transposeB: Bool = false) -> Matrix {
        var c = Matrix(rows: transposeA ? a.columns : a.rows, columns: transposeB ? b.rows : b.columns)
        a.values.withUnsafeBufferPointer { av in
            b.values.withUnsafeBufferPointer { bv in
                c.values.withUnsafeMutableBufferPointer { cv in
                    multiply(av.baseAddress!, rows: a.rows, columns: a.columns, transposeA: transposeA,
                             by: bv.baseAddress!, rows: b.rows, columns: b.columns, transposeB: transposeB,
                             into: cv.baseAddress!)
                }
            }
        }
        return c
    }
}
