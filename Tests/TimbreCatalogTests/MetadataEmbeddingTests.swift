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
        #expect(try db.latestEmbeddingModel() == widened.model)

        let error = #expect(throws: DatabaseError.self) { try db.embedMetadata(field: "mood") }
        #expect(error?.description.contains("'mood'") == true)
    }
}
