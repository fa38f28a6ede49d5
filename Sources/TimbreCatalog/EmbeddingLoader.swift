import TimbreCore

extension PostgresConnection {
    /// The item embeddings made by model `modelID`, aligned with `itemIDs` (catalog ids by dense
    /// index, as in a `CatalogSnapshot`); items without one are marked absent. Nil when the model
    /// has no embeddings at all. All vectors of one model must have one dimension.
    public func loadItemEmbeddings(model modelID: Int64, itemIDs: [Int64]) throws -> EmbeddingTable? {
        var index: [Int64: Int] = [:]
        for (dense, id) in itemIDs.enumerated() { index[id] = dense }
        var dimension: Int? = nil
        var vectors: [Float] = [], present = [Bool](repeating: false, count: itemIDs.count)
        var problem: String? = nil
        // COPY takes no parameters: the id travels as a session setting, bound with PQexecParams.
        // (A session setting is text; the server writes the bound bigint there itself.)
        try query("SELECT set_config('timbre.embedding_model', $1::text, false)", [modelID],
                  purpose: "choose embedding set #\(modelID) for loading")
        try copyOutBinary("""
            SELECT item_id, vector FROM item_embeddings
            WHERE model_id = current_setting('timbre.embedding_model')::bigint ORDER BY item_id
            """, purpose: "load the item embeddings of set #\(modelID)") { row in
            let item = try row.int64()
            let vector: [Float]
            do { vector = try row.float32Array() } catch {
                problem = "item \(item): embedding is not a plain real[] without NULLs"
                return
            }
            if dimension == nil {
                dimension = vector.count
                vectors = [Float](repeating: 0, count: vector.count * itemIDs.count)
            }
            guard vector.count == dimension else {
                problem = "item \(item): embedding has \(vector.count) values, others \(dimension!)"
                return
            }
            guard let dense = index[item] else { return } // created after the snapshot was read
            vectors.replaceSubrange(dense * vector.count..<(dense + 1) * vector.count, with: vector)
            present[dense] = true
        }
        if let problem { throw DatabaseError("item embeddings of model #\(modelID): \(problem)") }
        guard let dimension else { return nil }
        return EmbeddingTable(dimension: dimension, vectors: vectors, present: present)
    }
}

extension PostgresConnection {
    /// The embedding set `choice` names (see `EmbeddingSetStore.resolve`).
    public func embeddingModel(_ choice: EmbeddingChoice, for use: EmbeddingUse? = nil) throws -> Int64? {
        try EmbeddingSetStore(self).resolve(choice, for: use)
    }

    /// The catalog's ratings or play totals (`feedback`; nil: what the catalog has, see
    /// `feedbackKind`) and, unless `embeddings` is `.none` or names nothing, the chosen model's
    /// item embeddings aligned with the snapshot's items, read in one REPEATABLE READ transaction
    /// so both describe the same catalog state. Also returns the embedding model used. `times`:
    /// see `loadSnapshot`.
    public func loadTrainingData(embeddings: EmbeddingChoice, for use: EmbeddingUse? = nil, feedback: FeedbackKind? = nil,
                                 times: Bool = true) throws
        -> (snapshot: CatalogSnapshot, data: TrainingData, embeddingModel: Int64?, embeddingState: String?) {
        try readConsistently {
            let snapshot = try loadSnapshot(feedback: try feedbackKind(feedback), times: times)
            guard let model = try embeddingModel(embeddings, for: use),
                  let table = try loadItemEmbeddings(model: model, itemIDs: snapshot.itemIDs) else {
                return (snapshot, TrainingData(ratings: snapshot.ratings, feedback: snapshot.feedback), nil, nil)
            }
            let state = try query("SELECT \(Self.embeddingStateSQL)", [model],
                                  purpose: "read the state of embedding set #\(model)").scalar(String.self)
            return (snapshot, TrainingData(ratings: snapshot.ratings, itemEmbeddings: table, feedback: snapshot.feedback), model, state)
        }
    }

    /// Which vectors an embedding model ($1) has now: their count and newest insertion time.
    /// Vectors are only ever added to a model (a changed vector makes a new model; a deleted item
    /// takes its row with it), so a model trained on one state is stale when the state differs.
    static let embeddingStateSQL = """
        (SELECT count(*)::text || '@' || coalesce(max(created_at)::text, '') FROM item_embeddings WHERE model_id = $1)
        """
}
