import CSndFile
import Foundation
import Synchronization

/// The container and codec of a file as libsndfile reports them.
public struct AudioFileFormat: Sendable, Hashable, CustomStringConvertible {
    public let container: String
    public let codec: String

    public var description: String { codec.isEmpty ? container : "\(container)/\(codec)" }

    init(code: Int32) {
        let major = Int(code) & SF_FORMAT_TYPEMASK
        let minor = Int(code) & SF_FORMAT_SUBMASK
        switch major {
        case SF_FORMAT_WAV, SF_FORMAT_WAVEX, SF_FORMAT_RF64: container = "wav"
        case SF_FORMAT_FLAC: container = "flac"
        case SF_FORMAT_OGG: container = "ogg"
        case SF_FORMAT_MPEG: container = "mp3"
        case SF_FORMAT_AIFF: container = "aiff"
        case SF_FORMAT_AU: container = "au"
        case SF_FORMAT_W64: container = "w64"
        case SF_FORMAT_CAF: container = "caf"
        default: container = "sndfile-0x" + String(major, radix: 16)
        }
        switch minor {
        case SF_FORMAT_PCM_S8: codec = "pcm_s8"
        case SF_FORMAT_PCM_U8: codec = "pcm_u8"
        case SF_FORMAT_PCM_16: codec = "pcm_16"
        case SF_FORMAT_PCM_24: codec = "pcm_24"
        case SF_FORMAT_PCM_32: codec = "pcm_32"
        case SF_FORMAT_FLOAT: codec = "float"
        case SF_FORMAT_DOUBLE: codec = "double"
        case SF_FORMAT_VORBIS: codec = "vorbis"
        case SF_FORMAT_OPUS: codec = "opus"
        case SF_FORMAT_MPEG_LAYER_I: codec = "mp1"
        case SF_FORMAT_MPEG_LAYER_II: codec = "mp2"
        case SF_FORMAT_MPEG_LAYER_III: codec = container == "mp3" ? "" : "mp3"
        default: codec = "0x" + String(minor, radix: 16)
        }
    }
}

/// The naming tags a track file may carry.
public struct TrackTags: Sendable, Equatable {
    public var title: String?
    public var artist: String?
    public var album: String?

    public init(title: String? = nil, artist: String? = nil, album: String? = nil) {
        self.title = title
        self.artist = artist
        self.album = album
    }
}

/// An open libsndfile handle for reading. The only place that talks to libsndfile.
///
/// Not `Sendable`: a handle has a read position, so one thread uses it at a time.
public final class SoundFile {
    public let path: String
    public let sampleRate: Int
    public let channelCount: Int
    /// Frames promised by the header (libsndfile's own estimate for compressed streams).
    public let frameCount: Int
    public let format: AudioFileFormat
    public let isSeekable: Bool
    /// The file's title, artist and album tags (Vorbis comments, WAV INFO chunks, …) where set.
    public let tags: TrackTags
    private let handle: OpaquePointer
    private static let opening = Mutex(())

    public init(path: String) throws(AudioError) {
        self.path = path
        var info = SF_INFO()
        // libsndfile reports a failed open through one global error slot: open and read it under
        // one lock, or parallel workers can blame a file for another file's failure.
        let (opened, openError) = Self.opening.withLock { _ in
            let h = sf_open(path, Int32(SFM_READ), &info)
            return (h, h == nil ? String(cString: sf_strerror(nil)) : "")
        }
        guard let handle = opened else {
            let reason = openError
            if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size == 0 {
                throw .empty(path: path)
            }
            throw Self.classifyOpenFailure(path: path, reason: reason)
        }
        self.handle = handle
        sampleRate = Int(info.samplerate)
        channelCount = Int(info.channels)
        frameCount = Int(info.frames)
        format = AudioFileFormat(code: info.format)
        isSeekable = info.seekable != 0
        func tag(_ kind: Int32) -> String? {
            guard let text = sf_get_string(handle, kind) else { return nil }
            let value = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
            return value.isEmpty ? nil : value
        }
        tags = TrackTags(title: tag(Int32(SF_STR_TITLE)), artist: tag(Int32(SF_STR_ARTIST)), album: tag(Int32(SF_STR_ALBUM)))
        guard sampleRate > 0, channelCount > 0 else {
            throw .corrupt(path: path, reason: "header gives \(sampleRate) Hz, \(channelCount) channels")
        }
    }

    deinit { sf_close(handle) }

    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// Moves the read position to an absolute frame.
    public func seek(toFrame frame: Int) throws(AudioError) {
        guard frame != 0 || isSeekable else { return }
        guard isSeekable else { throw .unsupported(path: path, reason: "stream is not seekable") }
        if sf_seek(handle, sf_count_t(frame), SEEK_SET) < 0 {
            throw .corrupt(path: path, reason: "seek to frame \(frame) failed: \(lastError)")
        }
    }

    /// Reads up to `frames` interleaved frames into `buffer` (which holds at least
    /// `frames × channelCount` floats, normalised to ±1). Returns the frames read; 0 at the end.
    public func readFrames(into buffer: UnsafeMutablePointer<Float>, frames: Int) throws(AudioError) -> Int {
        let read = sf_readf_float(handle, buffer, sf_count_t(frames))
        if read < 0 || (read == 0 && sf_error(handle) != 0) {
            throw .corrupt(path: path, reason: lastError)
        }
        return Int(read)
    }

    /// Whether libsndfile hit a decoding error so far (it may still return the frames before it).
    public var pendingError: String? {
        sf_error(handle) == 0 ? nil : lastError
    }

    /// libsndfile's parse log for this file: where it notes short or damaged headers.
    public var log: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes {
            sf_command(handle, Int32(SFC_GET_LOG_INFO), $0.baseAddress, Int32($0.count))
        }
        guard length > 0 else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// For PCM containers libsndfile silently shortens a data chunk that runs past the end of
    /// the file and notes "data : 96000 (should be 47978)" in its log. Returns the frame count
    /// the header promised when that happened, nil otherwise.
    public var framesPromisedByTruncatedHeader: Int? {
        for line in log.split(separator: "\n") {
            let trimmed = line.trimmingPrefix(while: { $0 == " " })
            guard trimmed.hasPrefix("data") || trimmed.hasPrefix("SSND"),
                  let open = trimmed.range(of: "(should be ") else { continue }
            let stated = trimmed[..<open.lowerBound].split(separator: ":").last.flatMap {
                Int($0.trimmingCharacters(in: .whitespaces)) }
            let actual = Int(trimmed[open.upperBound...].prefix(while: \.isNumber))
            if let stated, let actual, actual < stated, actual > 0 {
                return Int((Double(frameCount) * Double(stated) / Double(actual)).rounded())
            }
        }
        return nil
    }

    private var lastError: String { String(cString: sf_strerror(handle)) }

    private static func classifyOpenFailure(path: String, reason: String) -> AudioError {
        let lowered = reason.lowercased()
        if lowered.contains("no such file") || lowered.contains("permission") || lowered.contains("system error") {
            return .unreadable(path: path, reason: reason)
        }
        if lowered.contains("empty") { return .empty(path: path) }
        if lowered.contains("not recognised") || lowered.contains("unsupported") || lowered.contains("unknown format") {
            return .unsupported(path: path, reason: reason)
        }
        return .corrupt(path: path, reason: reason)
    }
}
