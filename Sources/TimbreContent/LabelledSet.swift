import Foundation
import TimbreAudio

/// One audio file of a labelled set.
public struct LabelledTrack: Sendable, Hashable {
    public var path: String
    /// Index into the set's `classNames`.
    public var label: Int
    /// Tracks with the same label and variant stem are one piece of music and always land in the
    /// same part of a split, so a test clip never has its remaster in training.
    public var variantStem: String

    public init(path: String, label: Int, variantStem: String? = nil) {
        self.path = path
        self.label = label
        self.variantStem = variantStem ?? VariantStem.of(path: path)
    }
}

/// Audio files labelled by the sub-folder they sit in: `ROOT/<class>/…/*.ogg`.
public struct LabelledSet: Sendable, Equatable {
    public var classNames: [String]
    public var tracks: [LabelledTrack]

    public init(classNames: [String], tracks: [LabelledTrack]) {
        self.classNames = classNames
        self.tracks = tracks
    }

    /// Classes are the non-hidden sub-folders of `root`, sorted by name; each class's audio files
    /// are found recursively (symbolic links followed), sorted by path.
    public static func scan(_ root: String) throws -> LabelledSet {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ContentError.badSet("\(root): not a folder")
        }
        let entries: [String]
        do { entries = try manager.contentsOfDirectory(atPath: root) } catch {
            throw ContentError.badSet("\(root): cannot list: \(error.localizedDescription)")
        }
        let classFolders = entries.filter { name in
            var folder: ObjCBool = false
            return !name.hasPrefix(".") && manager.fileExists(atPath: root + "/" + name, isDirectory: &folder) && folder.boolValue
        }.sorted()
        guard classFolders.count >= 2 else {
            throw ContentError.badSet("\(root): needs ≥ 2 class sub-folders, found \(classFolders.count)")
        }
        var tracks: [LabelledTrack] = []
        for (label, name) in classFolders.enumerated() {
            let files = IngestPipeline.files(in: [root + "/" + name])
            guard !files.isEmpty else { throw ContentError.badSet("\(root)/\(name): no audio files") }
            tracks += files.map { LabelledTrack(path: $0, label: label) }
        }
        return LabelledSet(classNames: classFolders, tracks: tracks)
    }
}


/// The rule that groups variants of one piece: the file name without its extension, lower-cased,
/// with one trailing variant marker removed — `enhanced`, `revisited`, `remastered`, `remix`,
/// `old` or `new` after a `_`, `-` or space — and then trailing separators. So `track3.opus` and
/// `track3_enhanced.opus`, `frantic.ogg` and `frantic-old.ogg`, `sixtyfour_.ogg` and
/// `sixtyfour_revisited.ogg` are one piece; `defeat.ogg` and `defeat2.ogg` are two.
public enum VariantStem {
    static let markers = ["enhanced", "revisited", "remastered", "remix", "old", "new"]
    /// An array, not a Set: the order is fixed, so the stem (and the split) is the same in every process.
    static let separators: [Character] = ["_", "-", " "]

    public static func of(path: String) -> String {
        var stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.lowercased()
        removal: for marker in markers {
            for separator in separators where stem.hasSuffix(String(separator) + marker) && stem.count > marker.count + 1 {
                stem.removeLast(marker.count + 1)
                break removal
            }
        }
        while let last = stem.last, separators.contains(last), stem.count > 1 { stem.removeLast() }
        return stem
    }
}

public enum ContentError: Error, CustomStringConvertible {
    /// The folder is not a usable labelled set; the message names it.
    case badSet(String)
    /// A file could not be written; the message names it.
    case cannotWrite(String)
    /// A model file could not be read or is not a content model; the message names it.
    case badModel(String)

    public var description: String {
        switch self {
        case .badSet(let message), .cannotWrite(let message), .badModel(let message): message
        }
    }
}
