import TimbreCore

/// Most-rated items first: the baseline every personalised strategy has to beat.
public struct Popularity: Strategy {
    public static let name = "popularity"
    public static let summary = "Most-rated items first (non-personalised baseline)"

    public init(parameters: Parameters) {}

    public func fit(_ data: TrainingData) -> Model {
        let rows = data.ratings.byItem
        return Model(counts: (0..<Int32(rows.rowCount)).map { Float(rows.count($0)) })
    }

    public struct Model: TrainedModel {
        let counts: [Float]

        public func score(_ user: UserProfile, into scores: inout [Float]) {
            scores.replaceSubrange(0..<counts.count, with: counts)
        }

        public func encode(to writer: inout ModelWriter) { writer.write(counts) }

        public init(counts: [Float]) { self.counts = counts }

        public init(decoding reader: inout ModelReader) throws { counts = try reader.read() }
    }
}
