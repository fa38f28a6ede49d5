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
            let id = try query("""
                INSERT INTO evaluation_runs (dataset, split, settings, code_version)
                VALUES ($1, $2, $3, $4) RETURNING id
                """, [PostgresJSONB(datasetJSON), PostgresJSONB(splitJSON), PostgresJSONB(settingsJSON), TimbreVersion.string],
                purpose: "store an evaluation run").scalar(Int64.self)
            for (position, r) in results.enumerated() {
                try query("""
                    INSERT INTO evaluation_results (run_id, position, strategy, parameters, metrics, timings)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    """, [id, Int32(position), r.strategy, PostgresJSONB(r.parametersJSON), PostgresJSONB(r.metricsJSON),
                          PostgresJSONB(r.timingsJSON)],
                    purpose: "store the results of \(r.strategy) in evaluation run #\(id)")
            }
            return id
        }
    }

    /// Runs newest first, without their results.
    public func evaluationRuns(limit: Int) throws -> [(id: Int64, createdAt: String, datasetJSON: String, splitJSON: String, strategies: [String])] {
        try query("""
            SELECT r.id, to_char(r.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created, r.dataset::text AS dataset, r.split::text AS split,
                   ARRAY(SELECT e.strategy FROM evaluation_results e WHERE e.run_id = r.id ORDER BY e.position) AS strategies
            FROM evaluation_runs r ORDER BY r.created_at DESC, r.id DESC LIMIT $1
            """, [limit], purpose: "list evaluation runs").map { row in
            (try row.int64("id"), try row.string("created"), try row.string("dataset"), try row.string("split"),
             try row.decode([String].self, "strategies"))
        }
    }

    public func evaluationRun(_ id: Int64) throws -> StoredEvaluationRun {
        let found = try query("""
            SELECT to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') AS created, code_version, dataset::text AS dataset,
                   split::text AS split, settings::text AS settings
            FROM evaluation_runs WHERE id = $1
            """, [id], purpose: "load evaluation run #\(id)")
        guard let run = found.first else { throw UnknownRunError(id: id, target: target) }
        let results = try query("""
            SELECT strategy, parameters::text AS parameters, metrics::text AS metrics, timings::text AS timings
            FROM evaluation_results WHERE run_id = $1 ORDER BY position
            """, [id], purpose: "load the results of evaluation run #\(id)").map { row in
            StoredEvaluationResult(strategy: try row.string("strategy"), parametersJSON: try row.string("parameters"),
                                   metricsJSON: try row.string("metrics"), timingsJSON: try row.string("timings"))
        }
        return StoredEvaluationRun(id: id, createdAt: try run.string("created"), codeVersion: try run.string("code_version"),
                                   datasetJSON: try run.string("dataset"), splitJSON: try run.string("split"),
                                   settingsJSON: try run.string("settings"), results: results)
    }
}
