/// Why musicnn weights or audio could not be used. Every case names its file or setting.
public enum MusicnnError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingFile(path: String)
    case corruptCheckpoint(path: String, reason: String)
    case missingTensor(name: String, path: String)
    case wrongShape(name: String, expected: [Int], found: [Int], path: String)
    case checksumMismatch(name: String, path: String)
    case unknownModel(String)
    case tooShort(path: String, seconds: Double)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            "\(path): no such file (run scripts/fetch-musicnn, or point --weights / TIMBRE_MUSICNN_DIR at its folder)"
        case .corruptCheckpoint(let path, let reason): "\(path): not a usable TensorFlow checkpoint: \(reason)"
        case .missingTensor(let name, let path): "\(path): the checkpoint has no tensor \(name)"
        case .wrongShape(let name, let expected, let found, let path):
            "\(path): tensor \(name) has shape \(found), musicnn needs \(expected)"
        case .checksumMismatch(let name, let path): "\(path): tensor \(name) fails its CRC-32C (file changed or damaged)"
        case .unknownModel(let name): "unknown musicnn model '\(name)' (allowed: \(MusicnnModelName.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .tooShort(let path, let seconds):
            "\(path): \(String(format: "%.2f", seconds)) s of audio; musicnn needs at least one 3 s patch (2.976 s at 16 kHz)"
        case .invalidArgument(let message): message
        }
    }
}
