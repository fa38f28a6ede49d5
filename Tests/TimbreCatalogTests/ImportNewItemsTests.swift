import Foundation
import Testing
import TimbreCore
import TimbreTestSupport
import TimbreCatalog
import TimbreInterchange

/// Issue 12's phantom items: a ratings file without --items creates the items (and users) the
/// catalog lacks; the summary names them, `--no-new-items` refuses them with file:line.
@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct ImportNewItemsTests {
    func seeded() throws -> TestCatalog {
        let catalog = try TestCatalog()
        let items = try TestData.file("movies.csv", "movieId,title,genres\n1,One,Drama\n2,Two,Comedy\n")
        let ratings = try TestData.file("ratings.csv", "userId,movieId,rating\na,1,4\n")
        _ = try CatalogImporter(ratingsFile: ratings, itemsFile: items).run(catalog.db)
        return catalog
    }

    /// Line 4 names item 22, a typo for 2: it is created, and the summary says so with user b.
    @Test func theSummaryNamesTheItemsAndUsersARatingsFileCreated() throws {
        let catalog = try seeded()
        defer { withExtendedLifetime(catalog) {} }
        let ratings = try TestData.file("more.csv", "userId,movieId,rating\na,2,3\nb,1,5\nb,22,4\n")
        let summary = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        #expect(summary.createdItems == ["22"])
        #expect(summary.createdUsers == ["b"])
        #expect(summary.itemsAdded == 1 && summary.usersAdded == 1 && summary.ratingsAdded == 3)
        // Again: nothing is new, nothing is named.
        let again = try CatalogImporter(ratingsFile: ratings).run(catalog.db)
        #expect(again.createdItems.isEmpty && again.createdUsers.isEmpty)
    }

    @Test func noNewItemsRefusesAnUnknownItemWithItsLineAndWritesNothing() throws {
        let catalog = try seeded()
        defer { withExtendedLifetime(catalog) {} }
        let before = try catalog.counts()
        let ratings = try TestData.file("more.csv", "userId,movieId,rating\na,2,3\nb,1,5\nb,22,4\n")
        var importer = CatalogImporter(ratingsFile: ratings)
        importer.noNewItems = true
        #expect(throws: InputFileError(file: ratings, line: 4, "item 22 is not in the catalog (--no-new-items; import it with --items first)")) {
            try importer.run(catalog.db)
        }
        #expect(try catalog.counts() == before)
        // Known items only: a new user is still fine.
        let good = try TestData.file("good.csv", "userId,movieId,rating\nb,1,5\nb,2,4\n")
        importer.ratingsFile = good
        let summary = try importer.run(catalog.db)
        #expect(summary.createdUsers == ["b"] && summary.createdItems.isEmpty && summary.ratingsAdded == 2)
    }

    /// The CLI: the table names the created item, --format csv is field,value rows (it printed
    /// the table's sentence before), and --no-new-items exits non-zero naming file:line.
    @Test func theCommandNamesCreatedItemsAndPrintsCSV() throws {
        let catalog = try seeded()
        defer { withExtendedLifetime(catalog) {} }
        let ratings = try TestData.file("more.csv", "userId,movieId,rating\nb,22,4\n")
        let refused = try TestData.runTimbre(["import", "--database", catalog.url, "--ratings", ratings, "--no-new-items"])
        #expect(refused.status != 0 && refused.err.contains("\(ratings):2: item 22 is not in the catalog"), "\(refused.err)")
        let csv = try TestData.runTimbre(["import", "--database", catalog.url, "--ratings", ratings, "--format", "csv"])
        #expect(csv.status == 0, "\(csv.err)")
        let rows = csv.out.split(separator: "\n").map(String.init)
        #expect(rows.first == "field,value")
        #expect(rows.contains("items_added,1") && rows.contains("created_item,22") && rows.contains("created_user,b"))
        #expect(!csv.out.contains("users added"))
        let other = try TestData.file("other.csv", "userId,movieId,rating\nc,23,4\n")
        let table = try TestData.runTimbre(["import", "--database", catalog.url, "--ratings", other])
        #expect(table.status == 0 && table.out.contains("created items named only by the ratings or plays file (no title or attributes): 23"), "\(table.out)")
    }
}
