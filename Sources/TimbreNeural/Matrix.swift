/// A row-major Float32 matrix: rows × columns values, row r at `values[r·columns ..< (r+1)·columns]`.
/// A sequence for the LSTM is a Matrix with one row per time step and one column per feature
/// (the transpose of TimbreAudio's MFCC `FeatureMatrix`, whose rows are coefficients).
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0, "matrix shape \(rows)×\(columns) is negative")
        precondition(values.count == rows * columns,
                     "matrix shape \(rows)×\(columns) does not match its \(values.count) values")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        self.init(rows: rows, columns: columns, values: [Float](repeating: value, count: rows * columns))
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public func row(_ row: Int) -> ArraySlice<Float> { values[(row * columns)..<((row + 1) * columns)] }

    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for r in 0..<rows { for c in 0..<columns { t.values[c * rows + r] = values[r * columns + c] } }
        return t
    }
}
