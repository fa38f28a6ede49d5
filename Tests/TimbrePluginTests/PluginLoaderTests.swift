import Foundation
import Testing
import TimbreCatalog
import TimbreEvaluation
import TimbreServing
import TimbreStrategies
import TimbreStrategyKit
import TimbreTestSupport
import Popularity

/// RP3β straight from its definition with dense matrices: P_ui and P_iu row-normalised, raised
/// to alpha, W = P_iu · P_ui, column j divided by popularity_j^beta, no diagonal, every neighbour
/// kept; a profile's scores are the sum of its items' rows.
func naiveRP3beta(_ m: RatingMatrix, alpha: Double, beta: Double, profile: [Int32]) -> [Double] {
    let users = m.userCount, items = m.itemCount
    var x = [[Double]](repeating: [Double](repeating: 0, count: items), count: users)
    for t in m.triples { x[Int(t.user)][Int(t.item)] = 1 }
    let userDegree = x.map { $0.reduce(0, +) }
    let itemDegree = (0..<items).map { i in x.reduce(0) { $0 + $1[i] } }
    func pUI(_ u: Int, _ i: Int) -> Double { x[u][i] == 0 ? 0 : pow(x[u][i] / userDegree[u], alpha) }
    func pIU(_ i: Int, _ u: Int) -> Double { x[u][i] == 0 ? 0 : pow(x[u][i] / itemDegree[i], alpha) }
    var scores = [Double](repeating: 0, count: items)
    for i in profile.map(Int.init) {
        for j in 0..<items where j != i {
            let w = (0..<users).reduce(0) { $0 + pIU(i, $1) * pUI($1, j) }
            scores[j] += itemDegree[j] == 0 ? 0 : w / pow(itemDegree[j], beta)
        }
    }
    return scores
}

/// A test strategy that takes a built-in's name.
struct NamedLikeEASE: Strategy {
    static let name = "ease"
    static let summary = "clashes with the built-in"
    init(parameters: Parameters) {}
    func fit(_ data: TrainingData) -> Popularity.Model { Popularity.Model(counts: []) }
}

struct PluginLoaderTests {
    /// The example loads, and its types are the host's: the plugin's object is of this build's
    /// StrategyPlugin class (else `load` refuses it), its strategy's metatype conforms to this
    /// build's Strategy protocol at run time, and a model fitted through the host registry,
    /// encoded with its header and decoded by the registry scores as the definition says.
    @Test func exampleLoadsAndItsTypesAreTheHosts() throws {
        let registry = try PluginLoader.registry(adding: [try ExamplePlugin.folder])
        let identity = try #require(registry.plugin(of: "rp3beta"))
        let library = try ExamplePlugin.library
        #expect(identity.name == "TimbreRP3beta" && identity.version == "1.0.0" && identity.file == library)
        #expect(registry.plugin(of: "ease") == nil)
        let type = try registry.named("rp3beta")
        #expect((type as Any.Type) is any Strategy.Type)
        #expect(!((type as Any.Type) is any ComposedStrategy.Type))
        let hasItemFactors = type.hasItemFactors
        #expect(!hasItemFactors)

        let m = try TestData.randomRatings(users: 30, items: 20, density: 0.25, seed: 11)
        let (strategy, parameters) = try registry.make("rp3beta", overrides: ["alpha": "0.8", "beta": "0.3", "k": "0"])
        #expect(parameters.values["alpha"] == .double(0.8) && parameters.values["k"] == .int(0))
        let model = try strategy.fitAny(TrainingData(ratings: m))
        let decoded = try registry.decodeModel(of: type, encodeModel(model, of: type))
        for u in Int32(0)..<5 {
            let profile = m.profile(of: u)
            var fitted = [Float](repeating: -.infinity, count: m.itemCount), read = fitted
            model.score(profile, into: &fitted)
            decoded.score(profile, into: &read)
            #expect(fitted == read)
            let expected = naiveRP3beta(m, alpha: 0.8, beta: 0.3, profile: profile.items)
            for (f, e) in zip(fitted, expected) { #expect(abs(Double(f) - e) < 1e-5 * max(1, abs(e))) }
        }
        // A header naming another strategy is refused, as for built-ins.
        #expect(throws: ModelFormatError.self) {
            try registry.decodeModel(of: type, encodeModel(try registry.make("popularity").0.fitAny(TrainingData(ratings: m)),
                                                           of: try registry.named("popularity")))
        }
    }

    /// The evaluator runs a plugin strategy beside a built-in on the same splits.
    @Test func evaluatorRunsThePluginStrategy() throws {
        let registry = try PluginLoader.registry(adding: [try ExamplePlugin.folder])
        let evaluation = Evaluation(split: SplitSpec(.userHoldout(folds: 3, fraction: 0.2), seed: 1), options: EvaluationOptions(cutoff: 5, relevance: .anyHeldOut))
        let report = try evaluation.run(TrainingData(ratings: try TestData.randomRatings(users: 30, items: 20, density: 0.25, seed: 12)),
                                        strategies: [try StrategyUnderTest.registered("rp3beta", in: registry),
                                                     try StrategyUnderTest.registered("popularity", in: registry)],
                                        dataset: "random")
        #expect(report.strategies.map { $0.name } == ["rp3beta", "popularity"])
    }

    @Test func pluginPathIsColonSeparatedFolders() {
        #expect(PluginLoader.environmentFolders(["TIMBRE_PLUGIN_PATH": "/a:/b/c::/d"]) == ["/a", "/b/c", "/d"])
        #expect(PluginLoader.environmentFolders([:]).isEmpty)
    }

    @Test func aFileThatIsNotALibraryIsRefused() throws {
        let path = try TestData.file("libnotes" + PluginLoader.libraryExtension, "not a library\n")
        #expect(throws: PluginLoadError(file: path, .notALibrary)) { try PluginLoader.registry(adding: [path]) }
        #expect(throws: PluginLoadError(file: "/nonexistent/plugins", .notFound)) { try PluginLoader.registry(adding: ["/nonexistent/plugins"]) }
    }

    @Test func anotherKitVersionIsRefusedBeforeTheEntryPoint() throws {
        // Its entry point would crash the host: it must never be called.
        let text = "TimbreStrategyKit 999; Swift \(StrategyPluginABI.compilerVersion)"
        let path = try cLibrary(versionSymbol(text) + "void *\(StrategyPluginABI.entrySymbol)(void) { __builtin_trap(); }\n", name: "oldkit")
        #expect(throws: PluginLoadError(file: path, .incompatible(found: text, expected: StrategyPluginABI.text))) {
            try PluginLoader.registry(adding: [path])
        }
    }

    @Test func anotherCompilerVersionIsRefused() throws {
        let text = "TimbreStrategyKit \(StrategyPluginABI.kitVersion); Swift 5.9"
        let path = try cLibrary(versionSymbol(text), name: "oldswift")
        #expect(throws: PluginLoadError(file: path, .incompatible(found: text, expected: StrategyPluginABI.text))) {
            try PluginLoader.registry(adding: [path])
        }
    }

    @Test func aMissingEntryPointOrVersionSymbolIsRefused() throws {
        let noEntry = try cLibrary(versionSymbol(StrategyPluginABI.text), name: "noentry")
        #expect(throws: PluginLoadError(file: noEntry, .missingSymbol(StrategyPluginABI.entrySymbol))) { try PluginLoader.registry(adding: [noEntry]) }
        let noVersion = try cLibrary("int unrelated(void) { return 1; }\n", name: "noversion")
        #expect(throws: PluginLoadError(file: noVersion, .missingSymbol(StrategyPluginABI.versionSymbol))) {
            try PluginLoader.registry(adding: [noVersion])
        }
    }

    /// An entry point whose object is not this build's StrategyPlugin (as from a plugin bound to a
    /// kit copy of its own) is refused by its class pointer, without being used.
    @Test func anObjectOfAnotherKitIsRefused() throws {
        let path = try cLibrary(versionSymbol(StrategyPluginABI.text) + """
            static void *fake[4] = {0, 0, 0, 0};
            void *\(StrategyPluginABI.entrySymbol)(void) { return fake; }

            """, name: "foreign")
        #expect(throws: PluginLoadError(file: path, .foreignKit)) { try PluginLoader.registry(adding: [path]) }
    }

    /// The same plugin in two folders: the second one's rp3beta clashes with the first's. A
    /// plugin strategy named like a built-in clashes with it.
    @Test func aNameTakenAlreadyIsRefused() throws {
        let library = try ExamplePlugin.library
        // Each copy installed as README says: the plugin with the kit library it linked beside it
        // (the loader needs that file to open the plugin; its symbols then bind to the host's).
        let kit = try ExamplePlugin.folder + "/libTimbreStrategyKit" + PluginLoader.libraryExtension
        let copies = try (1...2).map { n -> String in
            let folder = try TestData.folder("plugins-\(n)")
            try FileManager.default.copyItem(atPath: library, toPath: folder.appendingPathComponent("libTimbreRP3beta" + PluginLoader.libraryExtension).path)
            try FileManager.default.copyItem(atPath: kit, toPath: folder.appendingPathComponent("libTimbreStrategyKit" + PluginLoader.libraryExtension).path)
            return folder.path
        }
        let first = try PluginLoader.registry(adding: [copies[0]])
        let firstIdentity = try #require(first.plugin(of: "rp3beta"))
        let second = copies[1] + "/libTimbreRP3beta" + PluginLoader.libraryExtension
        #expect(throws: PluginLoadError(file: second, .nameClash("rp3beta", with: firstIdentity))) {
            try PluginLoader.registry(adding: copies)
        }
        // The same file named twice (a folder and the file in it) is one plugin, not a clash.
        #expect(try PluginLoader.registry(adding: [copies[0], copies[0] + "/libTimbreRP3beta" + PluginLoader.libraryExtension]).names.filter { $0 == "rp3beta" }.count == 1)

        let fake = StrategyPlugin(name: "fake", version: "0", strategies: [NamedLikeEASE.self])
        #expect(throws: PluginLoadError(file: "fake.so", .nameClash("ease", with: nil))) {
            try PluginLoader.adding((fake, PluginIdentity(name: "fake", version: "0", file: "fake.so")), from: "fake.so", to: registeredStrategies)
        }
    }

    /// Through the built binary (linked like the test process): listed with its origin, and
    /// evaluated from a ratings file beside a built-in; refusals exit non-zero with the reason.
    @Test func cliListsEvaluatesAndRefuses() throws {
        let folder = try ExamplePlugin.folder
        let listed = try TestData.runTimbre(["--plugins", folder, "strategies", "--format", "json"])
        #expect(listed.status == 0, "\(listed.err)")
        struct Listing: Decodable { let name: String; let origin: String }
        let listing = try JSONDecoder().decode([Listing].self, from: Data(listed.out.utf8))
        let library = try ExamplePlugin.library
        #expect(listing.first { $0.name == "rp3beta" }?.origin == library)
        #expect(listing.first { $0.name == "ease" }?.origin == "built in")

        let m = try TestData.randomRatings(users: 30, items: 20, density: 0.25, seed: 13)
        let ratings = try TestData.file("ratings.tsv", "user\titem\trating\n" + m.triples.map { "\(m.users.ids[Int($0.user)])\t\(m.items.ids[Int($0.item)])\t\(Int($0.value))" }.joined(separator: "\n") + "\n")
        let evaluated = try TestData.runTimbre(["evaluate", "--plugins", folder, "--ratings", ratings, "--split", "holdout", "--folds", "3",
                                                "--strategy", "rp3beta:k=10", "--strategy", "item-knn:mode=implicit", "-n", "5", "--format", "json"])
        #expect(evaluated.status == 0, "\(evaluated.err)")
        #expect(evaluated.out.contains("\"rp3beta"))

        // TIMBRE_PLUGIN_PATH alone (a missing folder beside it is refused by name).
        let fromPath = try TestData.runTimbre(["strategies"], environment: ["TIMBRE_PLUGIN_PATH": "/nonexistent-a:" + folder])
        #expect(fromPath.status != 0 && fromPath.err.contains("plugin /nonexistent-a: no such file or folder"))
        let fromPathOnly = try TestData.runTimbre(["strategies", "--format", "json"], environment: ["TIMBRE_PLUGIN_PATH": folder])
        #expect(fromPathOnly.status == 0 && fromPathOnly.out.contains("\"rp3beta\""), "\(fromPathOnly.err)")

        let notes = try TestData.file("libnotes" + PluginLoader.libraryExtension, "text\n")
        let refused = try TestData.runTimbre(["--plugins", notes, "strategies"])
        #expect(refused.status != 0 && refused.err.contains("not a shared library") && refused.out.isEmpty)
        let unknown = try TestData.runTimbre(["evaluate", "--ratings", ratings, "--strategy", "rp3beta"])
        #expect(unknown.status != 0 && unknown.err.contains("no strategy named 'rp3beta'"))
    }
}

/// Two users, four items, small enough that any strategy trains in milliseconds.
func pluginCatalog() throws -> TestCatalog {
    let catalog = try TestCatalog()
    try catalog.db.execute("""
        INSERT INTO users (external_id) VALUES ('ann'), ('bob'), ('cat');
        INSERT INTO items (external_id, title) VALUES ('1', 'One'), ('2', 'Two'), ('3', 'Three'), ('4', 'Four');
        INSERT INTO ratings (user_id, item_id, value)
        SELECT u.id, i.id, 4 FROM users u JOIN items i ON (u.external_id, i.external_id) IN
            (('ann', '1'), ('bob', '1'), ('bob', '2'), ('cat', '2'), ('cat', '3'));
        """)
    return catalog
}

@Suite(.enabled(if: TestCatalog.available, "needs the PostgreSQL server that scripts/test starts"))
struct PluginModelTests {
    /// A served plugin model records its plugin; a service without the plugin refuses the
    /// strategy naming the plugin, and a strategy of that name from other code never gets it.
    @Test func storedModelsRecordThePluginAndNeedItLoaded() throws {
        let catalog = try pluginCatalog()
        let withPlugin = try PluginLoader.registry(adding: [try ExamplePlugin.folder])
        let choice = try StrategyChoice("rp3beta", parameters: ["beta=0"])
        let served = try RecommenderService(db: catalog.db, ratings: false, defaultStrategy: choice, registry: withPlugin)
            .recommend(RecommendationRequest(user: "ann", n: 2))
        // ann has 1; 1 → bob → 2 is the only walk, so 2 comes first.
        #expect(served.items.first?.item == "2")
        let rows = try catalog.db.query("SELECT id, plugin, plugin_version FROM trained_models WHERE strategy = 'rp3beta'",
                                        purpose: "read the stored rp3beta model")
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(try row.string("plugin") == "TimbreRP3beta" && row.string("plugin_version") == "1.0.0")
        let model = try row.int64("id")

        let without = try RecommenderService(db: catalog.db, ratings: false, defaultStrategy: choice, registry: registeredStrategies)
        let refusal = try #require(throws: PluginNotLoadedError.self) {
            try without.recommend(RecommendationRequest(user: "ann", n: 2))
        }
        #expect(refusal.strategy == "rp3beta" && refusal.plugin == PluginIdentity(name: "TimbreRP3beta", version: "1.0.0")
                && refusal.model == model)

        // Another plugin's "rp3beta" (here: the built-in popularity under that name) trains its own model.
        struct Impostor: Strategy {
            static let name = "rp3beta"
            static let summary = "not the plugin's"
            static let parameters = RP3betaSettings.specs
            init(parameters: Parameters) {}
            func fit(_ data: TrainingData) -> Popularity.Model { Popularity(parameters: Parameters()).fit(data) }
        }
        let other = try registeredStrategies.adding([Impostor.self], from: PluginIdentity(name: "Other", version: "2"))
        _ = try RecommenderService(db: catalog.db, ratings: false, defaultStrategy: choice, registry: other)
            .recommend(RecommendationRequest(user: "ann", n: 2))
        #expect(try catalog.count("trained_models") == 2)
    }

    /// The CLI end to end: train with --plugins records it, recommend without it is refused with the plugin's name.
    @Test func cliRecommendsWithThePluginAndRefusesWithoutIt() throws {
        let catalog = try pluginCatalog()
        defer { withExtendedLifetime(catalog) {} }
        let folder = try ExamplePlugin.folder
        let trained = try TestData.runTimbre(["train", "--plugins", folder, "--database", catalog.url, "--strategy", "rp3beta"])
        #expect(trained.status == 0, "\(trained.err)")
        #expect(try catalog.db.storedModels(strategy: "rp3beta").map(\.plugin) == ["TimbreRP3beta 1.0.0"])
        let listed = try TestData.runTimbre(["--plugins", folder, "recommend", "--database", catalog.url, "--user", "ann", "--strategy", "rp3beta",
                                             "--format", "csv"])
        #expect(listed.status == 0 && listed.out.split(separator: "\n").dropFirst().first?.hasPrefix("1,2,") == true, "\(listed.out) \(listed.err)")
        let refused = try TestData.runTimbre(["recommend", "--database", catalog.url, "--user", "ann", "--strategy", "rp3beta"])
        #expect(refused.status != 0 && refused.err.contains("plugin TimbreRP3beta 1.0.0") && refused.out.isEmpty, "\(refused.err)")
    }
}

/// The example's settings, for a test strategy that must resolve the same parameters.
enum RP3betaSettings {
    static let specs = [
        ParameterSpec("alpha", .double(1), ""), ParameterSpec("beta", .double(0.5), ""), ParameterSpec("k", .int(100), ""),
    ]
}
