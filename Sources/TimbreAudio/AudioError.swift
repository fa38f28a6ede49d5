/// Why a file could not be turned into audio or features. Every case names the file, so a batch
/// report can be read without context.
public enum AudioError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case empty(path: String)
    case unsupported(path: String, reason: String)
    case corrupt(path: String, reason: String)
    /// `expectedFrames` is nil when the stream has no end marker, so its length is unknown.
    case truncated(path: String, expectedFrames: Int?, decodedFrames: Int)
    case silent(path: String)
    /// A FIFO, socket, device or folder: opening or reading it could block forever.
    case notRegularFile(path: String, kind: String)
    /// Decoding took longer than the per-file limit (a stalled or pathological decoder).
    case timedOut(path: String, seconds: Double)
    case invalidArgument(String)
    case library(String)

    public var path: String? {
        switch self {
        case .unreadable(let path, _), .empty(let path), .unsupported(let path, _),
             .corrupt(let path, _), .truncated(let path, _, _), .silent(let path),
             .notRegularFile(let path, _), .timedOut(let path, _):
            return path
        case .invalidArgument, .library:
            return nil
        }
    }

    /// A short category for summaries ("empty", "truncated", …).
    public var kind: String {
        switch self {
        case .unreadable: "unreadable"
        case .empty: "empty"
        case .unsupported: "unsupported"
        case .corrupt: "corrupt"
        case .truncated: "truncated"
        case .silent: "silent"
        case .notRegularFile: "not a regular file"
        case .timedOut: "timed out"
        case .invalidArgument: "invalid argument"
        case .library: "library error"
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot read file: \(reason)"
        case .empty(let path): "\(path): empty file (0 bytes or no audio frames)"
        case .unsupported(let path, let reason): "\(path): not a supported audio file: \(reason)"
        case .corrupt(let path, let reason): "\(path): corrupt audio: \(reason)"
        case .truncated(let path, let expected?, let decoded):
            "\(path): truncated audio: header promises \(expected) frames, only \(decoded) decodable"
        case .truncated(let path, nil, let decoded):
            "\(path): truncated audio: stream stops without its end marker after \(decoded) frames"
        case .silent(let path): "\(path): silent audio (peak below -90 dBFS)"
        case .notRegularFile(let path, let kind): "\(path): skipped: \(kind), not a regular file"
        case .timedOut(let path, let seconds): "\(path): decoding took longer than the limit of \(seconds) s; skipped"
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .library(let message): message
        }
    }
}
