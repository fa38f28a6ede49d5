import Foundation
import TimbreCatalog
import TimbreCore
import TimbreEvaluation
import TimbreTestSupport
import TimbreInterchange
import TimbreTerminal

/// The catalog's speed goals (issue 11), each as a ratio to the floor PostgreSQL itself sets,
/// measured in the same run on the same rows. Figures, not assertions.
///
///   CatalogBench [--database URL] [USERS ITEMS RATINGS]     default 12000 5000 1000000
///
/// Every case runs in its own fresh schema (created, migrated, dropped) of the database named by
/// --database, $DATABASE_URL or libpq's PG* variables. Data: a seeded synthetic catalogue
/// (Zipf items, log-normal users); plays are drawn from its pairs.
///   import   `timbre import` (parse, stage, create users/items, merge) against a COPY of the
///            same CSV into a staging table plus one sorted INSERT … SELECT into the target
///            table (ratings; for plays the per-pair play_totals), users and items already there.
///   snapshot `loadSnapshot` (what train/evaluate/publish read) against draining
///            `COPY (SELECT user_id, item_id, value FROM ratings) TO STDOUT (FORMAT binary)`.

var arguments = Array(CommandLine.arguments.dropFirst())
var url = ProcessInfo.processInfo.environment["DATABASE_URL"]
if let k = arguments.firstIndex(of: "--database"), k + 1 < arguments.count {
    url = arguments[k + 1]
    arguments.removeSubrange(k...k + 1)
}
let numbers = arguments.compactMap { Int($0) }
let (userCount, itemCount, ratingCount) = numbers.count == 3 ? (numbers[0], numbers[1], numbers[2]) : (12_000, 5_000, 1_000_000)

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = (ContinuousClock.now - start).components
    return Double(d.seconds) + Double(d.attoseconds) * 1e-18
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let db = try PostgresConnection(url: url)
let migrations = try Migrator.bundled()
var schemaNumber = 0
/// A fresh migrated schema for `body`, dropped afterwards.
@MainActor func inFreshSchema<T>(_ body: () throws -> T) throws -> T {
    schemaNumber += 1
    let schema = "catalog_bench_\(ProcessInfo.processInfo.processIdentifier)_\(schemaNumber)"
    try db.execute("CREATE SCHEMA \(schema)", purpose: "benchmark setup")
    defer {
        _ = try? db.execute("SET search_path TO public", purpose: "benchmark setup")
        _ = try? db.execute("DROP SCHEMA \(schema) CASCADE", purpose: "benchmark setup")
    }
    try db.execute("SET search_path TO \(schema)", purpose: "benchmark setup")
    _ = try migrations.migrate(db)
    return try body()
}

// MARK: data

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }

let matrix = SyntheticCatalog(users: userCount, items: itemCount, ratings: ratingCount, seed: 11).generate()
let pairs = matrix.triples
func write(_ name: String, header: String, _ lines: (inout String) -> Void) throws -> String {
    var text = header + "\n"
    lines(&text)
    let path = directory.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    return path
}
let start = 1_600_000_000
let ratingsFile = try write("ratings.csv", header: "user_id,item_id,rating,timestamp") { text in
    for t in pairs { text += "u\(t.user),i\(t.item),\(Int(t.value)),\(start + Int(t.timestamp) * 60)\n" }
}
// A play log of as many lines as there are ratings, over the first half of the pairs (a pair is
// played 2 times on average, Zipf-skewed like the catalogue), and a count file of every pair.
var rng = SeededGenerator(seed: 12)
let logFile = try write("plays.csv", header: "user_id,item_id,timestamp") { text in
    let half = max(1, pairs.count / 2)
    for k in 0..<pairs.count {
        let t = pairs[rng.below(half)]
        text += "u\(t.user),i\(t.item),\(start + k)\n"
    }
}
let countFile = try write("counts.csv", header: "user_id,item_id,count") { text in
    for t in pairs { text += "u\(t.user),i\(t.item),\(1 + rng.below(20))\n" }
}
print("synthetic catalogue: \(userCount) users, \(itemCount) items, \(pairs.count) ratings; play log \(pairs.count) lines; count file \(pairs.count) pairs\n")

// MARK: import

/// COPY of the file into a staging table, then one sorted INSERT … SELECT into `target`, in one
/// transaction, with the file's users and items already in the catalog (not timed).
@MainActor func importFloor(_ file: String, stage: String, insert: String) throws -> Double {
    try inFreshSchema {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        try db.execute("INSERT INTO users (external_id) SELECT 'u' || g FROM generate_series(0, \(userCount - 1)) g", purpose: "benchmark setup")
        try db.execute("INSERT INTO items (external_id) SELECT 'i' || g FROM generate_series(0, \(itemCount - 1)) g", purpose: "benchmark setup")
        try db.execute("VACUUM ANALYZE users", purpose: "benchmark setup")
        try db.execute("VACUUM ANALYZE items", purpose: "benchmark setup")
        return try seconds {
            try db.transaction {
                try db.execute("CREATE TEMP TABLE floor_stage (\(stage)) ON COMMIT DROP", purpose: "benchmark setup")
                try db.copyIn("COPY floor_stage FROM STDIN (FORMAT csv, HEADER true)", purpose: "floor: COPY the file") { send in
                    var offset = 0
                    while offset < bytes.count {
                        try send(Array(bytes[offset..<min(bytes.count, offset + (1 << 16))]))
                        offset += 1 << 16
                    }
                }
                try db.execute(insert, purpose: "floor: insert the staged rows")
            }
        }
    }
}

@MainActor func timbreImport(_ importer: CatalogImporter) throws -> Double {
    try inFreshSchema { try seconds { _ = try importer.run(db) } }
}

let join = "FROM floor_stage s JOIN users u ON u.external_id = s.user_ext JOIN items i ON i.external_id = s.item_ext"
struct Case { let name: String; let floor: @MainActor () throws -> Double; let timbre: @MainActor () throws -> Double; let goal: Double }
let imports = [
    Case(name: "import --ratings", floor: {
        try importFloor(ratingsFile, stage: "user_ext text, item_ext text, value real, ts bigint", insert: """
            INSERT INTO ratings (user_id, item_id, value, rated_at) SELECT u.id, i.id, s.value, to_timestamp(s.ts) \(join) ORDER BY u.id, i.id
            """)
    }, timbre: { try timbreImport(CatalogImporter(ratingsFile: ratingsFile, scale: 1...5)) }, goal: 1.25),
    Case(name: "import --plays (log)", floor: {
        try importFloor(logFile, stage: "user_ext text, item_ext text, ts bigint", insert: """
            INSERT INTO play_totals (user_id, item_id, plays, first_played_at)
            SELECT u.id, i.id, count(*), min(to_timestamp(s.ts)) \(join) GROUP BY u.id, i.id ORDER BY u.id, i.id
            """)
    }, timbre: { try timbreImport(CatalogImporter(playsFile: logFile)) }, goal: 1.25),
    Case(name: "import --plays (counts)", floor: {
        try importFloor(countFile, stage: "user_ext text, item_ext text, n integer", insert: """
            INSERT INTO play_totals (user_id, item_id, plays) SELECT u.id, i.id, sum(s.n) \(join) GROUP BY u.id, i.id ORDER BY u.id, i.id
            """)
    }, timbre: { try timbreImport(CatalogImporter(playsFile: countFile)) }, goal: 1.25),
]

let only = ProcessInfo.processInfo.environment["CATALOG_BENCH_ONLY"]
// Where the client's share of an import goes: reading and checking the file, and writing it as
// COPY text (what the floor does not do: it hands the server the CSV bytes).
for (name, file, kind) in [("ratings", ratingsFile, TableKind.ratings), ("plays (log)", logFile, .plays)]
    where only.map({ "parse".contains($0) }) ?? true {
    var table: DelimitedTable?
    let read = try seconds { table = try DelimitedTable.read(path: file, kind: kind) }
    var count = 0
    let records = try seconds {
        count = kind == .ratings ? try table!.ratingRecords(scale: 1...5).count : try table!.playRecords().count
    }
    print(String(format: "parse %@: read %.2f s, records %.2f s (%d)", name, read, records, count))
}

var rows: [[String]] = []
@MainActor func report(_ name: String, floor: Double, timbre: Double, goal: Double) {
    let ratio = timbre / floor
    rows.append([name, String(format: "%.2f s", floor), String(format: "%.2f s", timbre), String(format: "%.2f×", ratio),
                 String(format: "≤ %.2f× %@", goal, ratio <= goal ? "met" : "MISSED")])
    print(String(format: "%-26@ floor %7.2f s   timbre %7.2f s   %.2f×", name, floor, timbre, ratio))
}
for c in imports where only.map({ c.name.contains($0) }) ?? true {
    let floor = try c.floor(), timbre = try c.timbre()
    report(c.name, floor: floor, timbre: timbre, goal: c.goal)
}

// MARK: snapshot

for (feedback, importer, floorQuery) in [
    (FeedbackKind.ratings, CatalogImporter(ratingsFile: ratingsFile, scale: 1...5),
     "COPY (SELECT user_id, item_id, value FROM ratings) TO STDOUT (FORMAT binary)"),
    (.plays, CatalogImporter(playsFile: countFile), "COPY (SELECT user_id, item_id, plays FROM play_totals) TO STDOUT (FORMAT binary)"),
] where only.map({ "snapshot".contains($0) }) ?? true {
    try inFreshSchema {
        _ = try importer.run(db)
        try db.execute("VACUUM ANALYZE", purpose: "benchmark setup")
        var floors: [Double] = [], loads: [Double] = [], timed: [Double] = [], builds: [Double] = []
        var bytes = 0, loaded = 0
        for _ in 0..<5 {
            floors.append(try seconds { bytes = 0; try db.copyOut(floorQuery, purpose: "floor: drain the pairs") { bytes += $0.count } })
            var snapshot: CatalogSnapshot?
            // Without times, as train and publish load it (the floor's columns), and with them, as evaluate does.
            loads.append(try seconds { snapshot = try db.loadConsistentSnapshot(feedback: feedback, times: false) })
            timed.append(try seconds { snapshot = try db.loadConsistentSnapshot(feedback: feedback) })
            loaded = snapshot!.ratings.ratingCount
            let triples = snapshot!.ratings.triples
            builds.append(try seconds { _ = try RatingMatrix(users: snapshot!.ratings.users, items: snapshot!.ratings.items, ratings: triples) })
        }
        print(String(format: "snapshot %@: %d rows, floor %d bytes; of the load, RatingMatrix construction %.3f s (median of 5)",
                     feedback.rawValue, loaded, bytes, median(builds)))
        report("snapshot (\(feedback))", floor: median(floors), timbre: median(loads), goal: 1.5)
        report("snapshot (\(feedback), times)", floor: median(floors), timbre: median(timed), goal: 1.5)
    }
}

print()
print(renderTable(["case", "floor", "timbre", "ratio", "goal"], rows, rightAligned: [1, 2, 3]))
