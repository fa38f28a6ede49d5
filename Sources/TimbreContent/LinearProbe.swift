import TimbreNeural

/// Folds that keep each piece of music whole, as scikit-learn's `GroupKFold`: the pieces, largest
/// first, each go to the fold with the fewest tracks so far (the first such fold on a tie). Among
/// pieces of equal size the later name (in sorted order) goes first, which is what a stable
/// ascending sort reversed gives; numpy's unstable `argsort` may order such ties otherwise.
public enum PieceFolds {
    /// The fold (0..<folds) of each track, from its piece; `folds` must be 2…number of pieces.
    public static func assign(pieces: [String], folds: Int) throws -> [Int] {
        let names = Set(pieces).sorted()
        guard folds >= 2, folds <= names.count else {
            throw ContentError.badSet("grouped folds: \(folds) folds for \(names.count) pieces (allowed 2…\(names.count))")
        }
        var size: [String: Int] = [:]
        for piece in pieces { size[piece, default: 0] += 1 }
        let order = names.indices.sorted { (size[names[$0]]!, $0) > (size[names[$1]]!, $1) }
        var tracksIn = [Int](repeating: 0, count: folds), foldOf: [String: Int] = [:]
        for index in order {
            let lightest = tracksIn.indices.min { (tracksIn[$0], $0) < (tracksIn[$1], $1) }!
            tracksIn[lightest] += size[names[index]]!
            foldOf[names[index]] = lightest
        }
        return pieces.map { foldOf[$0]! }
    }
}

/// How much of the label a linear model can read from a set of vectors: multinomial logistic
/// regression (`LogisticRegression`, sklearn's defaults: L2, C = 1) on features standardised with
/// the training rows' statistics, trained on the other folds and scored on each fold in turn.
public enum LinearProbe {
    /// The predicted label of every row, each by the model that did not see the row's fold.
    public static func predictions(_ vectors: Matrix, labels: [Int], classCount: Int, foldOfRow: [Int]) -> [Int] {
        precondition(vectors.rows == labels.count && vectors.rows == foldOfRow.count,
                     "\(vectors.rows) vectors, \(labels.count) labels, \(foldOfRow.count) folds")
        var predicted = [Int](repeating: -1, count: vectors.rows)
        for fold in Set(foldOfRow).sorted() {
            let train = vectors.rows(where: { foldOfRow[$0] != fold }), test = vectors.rows(where: { foldOfRow[$0] == fold })
            let guesses = predict(train: vectors.selecting(train), labels: train.map { labels[$0] }, test: vectors.selecting(test),
                                  classCount: classCount)
            for (r, guess) in zip(test, guesses) { predicted[r] = guess }
        }
        return predicted
    }

    /// Fits on `train` (standardised with its own statistics) and predicts each row of `test`.
    public static func predict(train: Matrix, labels: [Int], test: Matrix, classCount: Int) -> [Int] {
        let scale = Standardisation(fitting: [train])
        func doubles(_ m: Matrix) -> [[Double]] { (0..<m.rows).map { m.row($0).map(Double.init) } }
        let model = LogisticRegression(fitting: doubles(scale.apply(train)), labels: labels, classCount: classCount)
        return doubles(scale.apply(test)).map(model.predict)
    }
}

extension Matrix {
    func rows(where include: (Int) -> Bool) -> [Int] { (0..<rows).filter(include) }

    /// The given rows, in the given order.
    func selecting(_ indices: [Int]) -> Matrix {
        Matrix(rows: indices.count, columns: columns, values: indices.flatMap { row($0) })
    }
}
