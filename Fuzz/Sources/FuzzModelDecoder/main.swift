import CFuzzerDriver
import Foundation
import TimbreContent
import TimbreCore
import TimbreNeural
import TimbreStrategies

/// Stored model blobs (`trained_models.state`): the first byte picks a registered strategy, whose
/// decoder (through the registry, as `recommend` loads models; composed strategies decode their
/// components through it) reads the rest behind that strategy's header, or the content model (`content-lstm`). Any bytes either
/// decode or throw; nothing traps or allocates what the blob merely claims.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzModelDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let strategies = registeredStrategies.strategies
    let choice = Int(data[0]) % (strategies.count + 1)
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if choice < strategies.count {
        // The header (strategy name, layout version) that every stored model starts with, so the
        // mutations go into the model itself; composed models hold their components' headers.
        let type = strategies[choice]
        var header = ModelWriter()
        header.write(type.name)
        header.write(type.modelFormatVersion)
        _ = try? registeredStrategies.decodeModel(of: type, header.bytes + bytes)
    } else {
        _ = try? ContentModel(decoding: bytes)
    }
    return 0
}

/// The committed seeds (Fuzz/corpus/model-decoder/): every registered strategy's model fitted on
/// a tiny catalog, and a small content model, each behind its selector byte. Written when
/// TIMBRE_FUZZ_WRITE_SEEDS names a folder, instead of fuzzing.
func writeSeeds(to folder: String) throws {
    let users = Vocabulary(["u1", "u2", "u3", "u4"]), items = Vocabulary(["a", "b", "c", "d", "e"])
    let triples = [(0, 0, 5), (0, 1, 3), (0, 2, 4), (1, 0, 4), (1, 3, 2), (2, 1, 5), (2, 2, 1), (2, 4, 3), (3, 0, 2), (3, 4, 5)]
        .map { RatingTriple(user: Int32($0.0), item: Int32($0.1), value: Float($0.2)) }
    let embeddings = EmbeddingTable(dimension: 2, vectors: [1, 0, 0.8, 0.6, 0, 1, -0.6, 0.8, 0.5, 0.5], present: [true, true, true, true, false])
    let data = TrainingData(ratings: try RatingMatrix(users: users, items: items, ratings: triples), itemEmbeddings: embeddings)
    // Small models: a seed is a starting point for mutations, and libFuzzer cuts inputs at -max_len.
    let overrides = ["hybrid": ["first": "item-knn(mode=implicit,k=2)", "second": "bias"], "ials": ["factors": "2"],
                     "bpr": ["factors": "2", "epochs": "2"], "biased-mf": ["factors": "2", "samples": "2"]]
    var blobs: [(String, [UInt8])] = []
    for (k, type) in registeredStrategies.strategies.enumerated() {
        let (strategy, _) = try registeredStrategies.make(type.name, overrides: overrides[type.name] ?? [:])
        let model = try strategy.fitAny(data)
        _ = try registeredStrategies.decodeModel(of: type, encodeModel(model, of: type)) // a seed must decode
        blobs.append((type.name, [UInt8(k)] + encodeModel(model)))
    }
    let content = ContentModel(classifier: SequenceClassifier(inputSize: 2, layerSizes: [2], classCount: 2, seed: 1),
                               standardisation: Standardisation(mean: [0, 0], deviation: [1, 1]), classNames: ["x", "y"])
    blobs.append(("content-lstm", [UInt8(registeredStrategies.strategies.count)] + content.encode()))
    for (name, bytes) in blobs {
        try Data(bytes).write(to: URL(fileURLWithPath: folder).appendingPathComponent(name + ".model"))
    }
}

if let folder = ProcessInfo.processInfo.environment["TIMBRE_FUZZ_WRITE_SEEDS"] {
    do { try writeSeeds(to: folder) } catch { fatalError("\(error)") }
    exit(0)
}

// libFuzzer reads its options (-max_total_time, corpus folders, …) from the command line.
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzModelDecoder))
