import TimbreCatalog
import TimbreCore

/// What an embedding set's producer makes of one queued item, read in the claiming transaction.
public enum EmbeddingOutcome {
    /// The item is gone, or embedded already (by an earlier run): its key is finished, nothing written.
    case nothingToDo
    /// The item cannot be embedded: the reason is reported, and kept with its key in the queue.
    case skip(String)
    /// The item's vector, with its style label and that label's probability if the producer has
    /// one, and a JSON object to merge into the item's metadata if any.
    case store(vector: [Float], label: (name: String, probability: Float)? = nil, metadata: String? = nil)
}

/// The one embedding loop of every producer of an embedding set from ingested tracks (the content
/// LSTM, musicnn): it claims batches of item keys from the set's work queue
/// (`WorkQueue.embedding(model:)`), asks the producer for each item's outcome, and stores each
/// vector and finishes its key in the claiming transaction, until nothing unclaimed is left. So
/// any number of workers (threads, processes, machines, each on its own connection) take distinct
/// items; a killed worker's batch rolls back and stays queued for a worker then or later; items
/// another worker holds when this one finds nothing left are left to it. A failed write spoils
/// only its item (a savepoint), which is skipped with the reason.
struct EmbeddingWorker {
    let db: PostgresConnection
    /// The trained_models row that the set's vectors are stored under.
    let model: Int64

    func run(batchSize: Int, progress: (Int) -> Void, describe: (_ item: Int64) throws -> EmbeddingOutcome) throws -> EmbeddingTally {
        precondition(batchSize >= 1)
        var tally = EmbeddingTally()
        let queue = try WorkQueue(WorkQueue.embedding(model: model), db: db)
        while true {
            var batch = EmbeddingTally()
            let claimed = try queue.withClaim(limit: batchSize) { keys -> Int in
                for key in keys {
                    guard let item = Int64(key) else {
                        try queue.finish(key, error: "not an item id")
                        continue
                    }
                    func skip(_ reason: String) throws {
                        batch.skipped.append((item, reason))
                        try queue.finish(key, error: reason)
                    }
                    switch try describe(item) {
                    case .nothingToDo:
                        try queue.finish(key)
                    case .skip(let reason):
                        try skip(reason)
                    case let .store(vector, label, metadata):
                        try db.execute("SAVEPOINT item", purpose: "begin storing item \(item)")
                        do {
                            batch.embedded += try db.query("""
                                INSERT INTO item_embeddings (model_id, item_id, vector, label, label_probability)
                                VALUES ($1, $2, $3, $4, $5)
                                ON CONFLICT (model_id, item_id) DO NOTHING
                                """, [model, item, vector, label?.name, label?.probability],
                                purpose: "store the embedding of item \(item) in set #\(model)").affectedRows
                            if let metadata {
                                try db.query("UPDATE items SET metadata = metadata || $2 WHERE id = $1", [item, PostgresJSONB(metadata)],
                                             purpose: "merge the metadata of item \(item)")
                            }
                            try queue.finish(key)
                            try db.execute("RELEASE SAVEPOINT item", purpose: "finish storing item \(item)")
                        } catch {
                            try db.execute("ROLLBACK TO SAVEPOINT item", purpose: "undo storing item \(item)")
                            try skip("cannot store its embedding: \(error)")
                        }
                    }
                }
                return keys.count
            }
            guard let claimed else { return tally }
            // Counted once committed: a batch that rolled back did nothing.
            tally.add(batch)
            progress(claimed)
        }
    }
}
