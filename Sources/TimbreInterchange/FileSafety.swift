import Foundation

/// What a path names, following symbolic links (`lstat` for the link itself).
public enum FileKind: Equatable, Sendable, CustomStringConvertible {
    case regular, directory, symbolicLink, fifo, socket, device
    /// stat failed; `reason` is strerror (e.g. "No such file or directory").
    case unavailable(reason: String)

    public static func of(_ path: String, followingLinks: Bool = true) -> FileKind {
        var info = stat()
        guard (followingLinks ? stat(path, &info) : lstat(path, &info)) == 0 else {
            return .unavailable(reason: String(cString: strerror(errno)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        default: return .device
        }
    }

    public var description: String {
        switch self {
        case .regular: "a regular file"
        case .directory: "a folder"
        case .symbolicLink: "a symbolic link"
        case .fifo: "a FIFO (named pipe)"
        case .socket: "a socket"
        case .device: "a device"
        case .unavailable(let reason): "unavailable (\(reason))"
        }
    }
}

public struct OutputFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): cannot write: \(reason)" }
}

/// Refuses, before any long work, an output path whose folder is missing or not a folder: the
/// write at the end would fail only after it (`evaluate --plot nodir/x.svg` ran the whole
/// evaluation first).
public func checkOutputFolder(of path: String) throws(OutputFileError) {
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    switch FileKind.of(folder) {
    case .directory: return
    case .unavailable(let reason): throw OutputFileError(path: path, "the folder \(folder) cannot be used: \(reason)")
    case let kind: throw OutputFileError(path: path, "\(folder) is \(kind), not a folder")
    }
}

/// The one way Timbre writes an output file (plots, models, exports): the bytes go to a temporary
/// file in the target's folder, are flushed, and the temporary file is renamed over the target.
/// A reader never sees half a file and a failure leaves the old one. A target that is a symbolic
/// link or not a regular file (a FIFO, a device, a folder) is refused: following a link would
/// overwrite whatever it points at.
public func writeFileSafely(_ bytes: some Collection<UInt8>, to path: String) throws(OutputFileError) {
    var mode: mode_t = 0o644
    switch FileKind.of(path, followingLinks: false) {
    case .regular:
        var info = stat()
        if stat(path, &info) == 0 { mode = info.st_mode & 0o7777 }
    case .unavailable:
        break // a new file
    case let kind:
        throw OutputFileError(path: path, "it is \(kind), not a regular file; refusing to replace it")
    }
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var template = Array("\(folder)/.\(url.lastPathComponent).XXXXXX".utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { throw OutputFileError(path: path, "cannot create a file in \(folder): \(String(cString: strerror(errno)))") }
    let temporary = String(cString: template)
    func fail(_ what: String) -> OutputFileError {
        let reason = String(cString: strerror(errno))
        close(descriptor)
        unlink(temporary)
        return OutputFileError(path: path, "\(what): \(reason)")
    }
    let data = Array(bytes)
    var written = 0
    while written < data.count {
        let n = data.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, data.count - written) }
        if n < 0 { if errno == EINTR { continue }; throw fail("write failed") }
        written += n
    }
    guard fchmod(descriptor, mode) == 0 else { throw fail("chmod failed") }
    guard fsync(descriptor) == 0 else { throw fail("fsync failed") }
    guard close(descriptor) == 0 else {
        unlink(temporary)
        throw OutputFileError(path: path, "close failed: \(String(cString: strerror(errno)))")
    }
    // rename replaces a link that appeared since the check, never the link's target.
    guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw OutputFileError(path: path, "rename failed: \(reason)")
    }
}
