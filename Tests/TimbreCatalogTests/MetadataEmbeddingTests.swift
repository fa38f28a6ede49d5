import Testing
import TimbreCatalog
import TimbreCore
import TimbreTestSupport

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct MetadataEmbeddingTests {
    @Test func multiHotOfAFieldRerunsAndNewValues() throws {
        let catalog = try TestCatalog()
        let db = catalog.db
        for (id, metadata) in [("a", #"{"genres": ["Rock", "Jazz"]}"#), ("b", #"{"genres": ["Jazz"]}"#), ("c", #"{"genres": "Folk"}"#),
                               ("d", #"{"genres": []}"#), ("e", #"{"year": "1990"}"#)] {
            try db.query("INSERT INTO items (external_id, metadata) VALUES ($1, $2::jsonb)", [id, metadata])
        }
        let first = try db.embedMetadata(field: "genres")
        #expect(first.values == ["Folk", "Jazz", "Rock"])
        #expect(first.embedded == 3 && first.items == 3)

        let snapshot = try db.loadSnapshot()
        let table = try #require(try db.loadItemEmbeddings(model: first.model, itemIDs: snapshot.itemIDs))
        #expect(table.dimension == 3)
        func vector(_ external: String) -> [Float]? { table.vector(snapshot.ratings.items.index(of: external)!).map(Array.init) }
        #expect(vector("a") == [0, 1, 1])
        #expect(vector("b") == [0, 1, 0])
        #expect(vector("c") == [1, 0, 0])
        #expect(vector("d") == nil && vector("e") == nil)

        // Rerun: same model, nothing new.
        let again = try db.embedMetadata(field: "genres")
        #expect(again.model == first.model && again.embedded == 0 && again.items == 3)
        // A new value changes the vector length: a new model holding every item.
        try db.query("INSERT INTO items (external_id, metadata) VALUES ('f', '{\"genres\": [\"Blues\"]}'::jsonb)")
        let widened = try db.embedMetadata(field: "genres")
        #expect(widened.model != first.model && widened.values == ["Blues", "Folk", "Jazz", "Rock"] && widened.items == 4)
        #expect(try db.embeddingModel(.latest) == widened.model && db.embeddingModel(.named("genres")) == widened.model)

        // A JSON null among the values is no value; a changed item makes a new model (a model's
        // vectors never change), which then holds the new vector.
        try db.query("INSERT INTO items (external_id, metadata) VALUES ('g', '{\"genres\": [\"Jazz\", null]}'::jsonb)")
        let withNull = try db.embedMetadata(field: "genres")
        #expect(withNull.model == widened.model && withNull.embedded == 1)
        try db.query("UPDATE items SET metadata = '{\"genres\": [\"Rock\"]}'::jsonb WHERE external_id = 'b'")
        let changed = try db.embedMetadata(field: "genres")
        #expect(changed.model != widened.model && changed.items == 5)
        let after = try db.loadSnapshot()
        let table2 = try #require(try db.loadItemEmbeddings(model: changed.model, itemIDs: after.itemIDs))
        #expect(table2.vector(after.ratings.items.index(of: "b")!).map(Array.init) == [0, 0, 0, 1])
        #expect(table2.vector(after.ratings.items.index(of: "g")!).map(Array.init) == [0, 0, 1, 0])
        // Unchanged since: reused.
        #expect(try db.embedMetadata(field: "genres").model == changed.model)

        let error = #expect(throws: DatabaseError.self) { try db.embedMetadata(field: "mood") }
        #expect(error?.description.contains("'mood'") == true)
    }
}
