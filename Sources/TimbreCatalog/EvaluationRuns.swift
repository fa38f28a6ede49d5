import TimbreCore

/// One strategy's row of an evaluation run, as JSON documents (the evaluation library owns
/// their shape; the catalog stores them as jsonb so they can also be queried in SQL).
public struct StoredEvaluationResult: Sendable {
    public var strategy: String
    public var parametersJSON: String
    public var metricsJSON: String
    public var timingsJSON: String

    public init(strategy: String, parametersJSON: String, metricsJSON: String, timingsJSON: String) {
        self.strategy = strategy
        self.parametersJSON = parametersJSON
        self.metricsJSON = metricsJSON
        self.timingsJSON = timingsJSON
    }
}

public struct StoredEvaluationRun: Sendable {
    public var id: Int64
    public var createdAt: String
    public var codeVersion: String
    public var datasetJSON: String
    public var splitJSON: String
    public var settingsJSON: String
    public var results: [StoredEvaluationResult]
}

public struct UnknownRunError: Error, CustomStringConvertible {
    public let id: Int64
    public let target: String
    public var description: String { "no evaluation run #\(id) in \(target) (see `timbre runs list`)" }
}

extension PostgresConnection {
    /// Stores a run and its per-strategy results in one transaction; returns the run id.
    public func saveEvaluationRun(datasetJSON: String, splitJSON: String, settingsJSON: String,
                                  results: [StoredEvaluationResult]) throws -> Int64 {
        try transaction {
            let run = try query("""
                INSERT INTO evaluation_runs (dataset, split, settings, code_version)
                VALUES ($1::jsonb, $2::jsonb, $3::jsonb, $4) RETURNING id
                """, [datasetJSON, splitJSON, settingsJSON, TimbreVersion.string])
            let id = run.string(0, 0)!
            for (position, r) in results.enumerated() {
                try query("""
                    INSERT INTO evaluation_results (run_id, position, strategy, parameters, metrics, timings)
                    VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb)
                    """, [id, String(position), r.strategy, r.parametersJSON, r.metricsJSON, r.timingsJSON])
            }
            return Int64(id)!
        }
    }

    /// Runs newest first, without their results.
    public func evaluationRuns(limit: Int) throws -> [(id: Int64, createdAt: String, datasetJSON: String, splitJSON: String, strategies: [String])] {
        let rows = try query("""
            SELECT r.id, to_char(r.created_at, 'YYYY-MM-DD HH24:MI:SS'), r.dataset::text, r.split::text,
                   coalesce((SELECT string_agg(e.strategy, ',' ORDER BY e.position) FROM evaluation_results e WHERE e.run_id = r.id), '')
            FROM evaluation_runs r ORDER BY r.created_at DESC, r.id DESC LIMIT $1
            """, [String(limit)])
        return (0..<rows.rowCount).map { r in
            (Int64(rows.string(r, 0)!)!, rows.string(r, 1)!, rows.string(r, 2)!, rows.string(r, 3)!,
             rows.string(r, 4)!.split(separator: ",").map(String.init))
        }
    }

    public func evaluationRun(_ id: Int64) throws -> StoredEvaluationRun {
        let run = try query("""
            SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'), code_version, dataset::text, split::text, settings::text
            FROM evaluation_runs WHERE id = $1
            """, [String(id)])
        guard run.rowCount == 1 else { throw UnknownRunError(id: id, target: target) }
        let rows = try query("""
            SELECT strategy, parameters::text, metrics::text, timings::text FROM evaluation_results
            WHERE run_id = $1 ORDER BY position
            """, [String(id)])
        let results = (0..<rows.rowCount).map { r in
            StoredEvaluationResult(strategy: rows.string(r, 0)!, parametersJSON: rows.string(r, 1)!,
                                   metricsJSON: rows.string(r, 2)!, timingsJSON: rows.string(r, 3)!)
        }
        return StoredEvaluationRun(id: id, createdAt: run.string(0, 0)!, codeVersion: run.string(0, 1)!,
                                   datasetJSON: run.string(0, 2)!, splitJSON: run.string(0, 3)!,
                                   settingsJSON: run.string(0, 4)!, results: results)
    }
}
