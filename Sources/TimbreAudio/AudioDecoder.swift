import TimbreCore
import TimbreInterchange
/// A decoded mono signal and facts about the file it came from.
public struct DecodedAudio: Sendable {
    /// Mono Float32 samples at `sampleRate`.
    public var samples: [Float]
    public var sampleRate: Int
    /// The file's own rate, channel count, format and full duration (not just the part read).
    public var sourceSampleRate: Int
    public var sourceChannelCount: Int
    public var sourceFormat: AudioFileFormat
    public var sourceDuration: Double
    public var tags = TrackTags()

    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// Largest absolute sample value.
    public var peak: Float {
        samples.withUnsafeBufferPointer(\.largestMagnitude)
    }
}

extension UnsafeBufferPointer<Float> {
    /// max |x| (0 when empty), eight lanes at a time: a plain Float max loop stays scalar (the
    /// compiler may not reorder it), and an integer max over the bits has no SSE2 instruction.
    /// NaN samples are passed over (a comparison with NaN is false), so they never count as loud.
    var largestMagnitude: Float {
        guard let base = baseAddress else { return 0 }
        let magnitudeBits = SIMD8<UInt32>(repeating: 0x7fff_ffff)
        var lanes = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let bits = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<UInt32>.self) & magnitudeBits
            lanes = lanewiseMax(lanes, unsafeBitCast(bits, to: SIMD8<Float>.self))
            i += 8
        }
        var largest = lanes.max()
        while i < count { largest = Swift.max(largest, abs(base[i])); i += 1 }
        return largest
    }
}

/// Reads audio files the way `librosa.load(path, sr=22050, mono=True, offset=…, duration=…)` does:
/// libsndfile decode, mean of channels, soxr HQ resampling, length ceil(n · sr / sr_in).
public struct AudioDecoder: Sendable {
    public var targetSampleRate: Int
    /// Frames per libsndfile read; the stereo buffer never holds more than this.
    public var blockFrames: Int
    /// Longest a decode may take; checked between blocks, so a decoder that crawls through a
    /// pathological file becomes a `.timedOut` failure. (A read blocked inside the kernel, e.g. on
    /// a hung network mount, cannot be interrupted from within the process.)
    public var timeLimit: Duration?

    public init(targetSampleRate: Int = 22_050, blockFrames: Int = 65_536, timeLimit: Duration? = nil) {
        self.targetSampleRate = targetSampleRate
        self.blockFrames = blockFrames
        self.timeLimit = timeLimit
    }

    /// Refuses what is not a regular file before anything opens it: opening a FIFO blocks until a
    /// writer appears, and a device may never end.
    static func requireRegularFile(_ path: String) throws(AudioError) {
        switch FileKind.of(path) {
        case .regular: return
        case .unavailable(let reason): throw .unreadable(path: path, reason: reason)
        case let kind: throw .notRegularFile(path: path, kind: kind.description)
        }
    }

    /// Decodes `path`, starting `offset` seconds in and reading at most `duration` seconds; only
    /// the frames needed are decoded. With `targetSampleRate` 0 the file's own rate is kept.
    public func decode(path: String, offset: Double = 0, duration: Double? = nil) throws(AudioError) -> DecodedAudio {
        let stream = try open(path: path, offset: offset, duration: duration)
        var output: [Float] = []
        // With the resampler's working room (it appends a block's worth of zeros before each call
        // and a flush block at the end), so the 2.6 MB of a 30 s clip is never copied to grow.
        output.reserveCapacity(stream.capacityNeeded)
        while try stream.read(appendingTo: &output) {}
        return DecodedAudio(samples: output, sampleRate: stream.sampleRate, sourceSampleRate: stream.file.sampleRate,
                            sourceChannelCount: stream.file.channelCount, sourceFormat: stream.file.format,
                            sourceDuration: stream.file.duration, tags: stream.file.tags)
    }

    /// Opens `path` for decoding block by block (see `AudioStream`), with the same checks, frame
    /// arithmetic and output as `decode(path:offset:duration:)`. `timeLimit` counts from here, so
    /// it includes whatever the caller does between reads.
    public func open(path: String, offset: Double = 0, duration: Double? = nil) throws(AudioError) -> AudioStream {
        guard offset >= 0, offset.isFinite else { throw .invalidArgument("offset must be ≥ 0 seconds, got \(offset)") }
        if let duration, !(duration >= 0 && duration.isFinite) {
            throw .invalidArgument("duration must be ≥ 0 seconds, got \(duration)")
        }
        let deadline = timeLimit.map { ContinuousClock.now + $0 }
        try Self.requireRegularFile(path)
        let file = try SoundFile(path: path)
        if let promised = file.framesPromisedByTruncatedHeader {
            throw .truncated(path: path, expectedFrames: promised, decodedFrames: file.frameCount)
        }
        let sourceRate = file.sampleRate
        // Same frame arithmetic as librosa's soundfile path: int(offset·sr), int(duration·sr).
        let startFrame = Int(offset * Double(sourceRate))
        let available = max(0, file.frameCount - startFrame)
        let wanted = duration.map { min(Int($0 * Double(sourceRate)), available) } ?? available
        if file.frameCount == 0 { throw .empty(path: path) }
        if startFrame > 0 {
            guard startFrame < file.frameCount else {
                throw .invalidArgument("\(path): offset \(offset) s is past the end (\(file.duration) s)")
            }
            try file.seek(toFrame: startFrame)
        }
        let outputRate = targetSampleRate > 0 ? targetSampleRate : sourceRate
        let resampler = outputRate == sourceRate ? nil : try Resampler(inputRate: Double(sourceRate), outputRate: Double(outputRate))
        return AudioStream(file: file, resampler: resampler, sampleRate: outputRate, startFrame: startFrame, wanted: wanted,
                           block: max(1, min(blockFrames, wanted)), readsEverything: duration != 0,
                           deadline: deadline, timeLimit: timeLimit)
    }

    /// Mean of the channels, summed in channel order in Float32 as numpy's `mean(axis=0)` does.
    @inline(__always)
    static func downmix(_ interleaved: UnsafeMutablePointer<Float>, channels: Int, frames: Int,
                        into mono: UnsafeMutablePointer<Float>) {
        switch channels {
        case 1:
            mono.update(from: interleaved, count: frames)
        case 2:
            for i in 0..<frames { mono[i] = (interleaved[2 * i] + interleaved[2 * i + 1]) / 2 }
        default:
            let scale = Float(channels)
            for i in 0..<frames {
                var sum: Float = 0
                for c in 0..<channels { sum += interleaved[i * channels + c] }
                mono[i] = sum / scale
            }
        }
    }
}

/// A file being decoded block by block into the mono, resampled signal `AudioDecoder.decode`
/// returns whole: a consumer that works as the signal arrives (musicnn's patches) holds only
/// what it still needs, and can start before the file is decoded. Not `Sendable`: one reader.
public final class AudioStream {
    let file: SoundFile
    /// Output samples per second.
    public let sampleRate: Int
    private let resampler: Resampler?
    private let startFrame: Int
    private let wanted: Int
    private let block: Int
    private let readsEverything: Bool
    private let deadline: ContinuousClock.Instant?
    private let timeLimit: Duration?
    private let interleaved: UnsafeMutablePointer<Float>
    private let mono: UnsafeMutablePointer<Float>
    /// Source frames decoded, and output samples handed out, so far.
    private var decoded = 0
    private var emitted = 0
    private var ended = false
    /// Why the end of the stream failed its checks; thrown again by later reads.
    private var endFailure: AudioError?

    init(file: SoundFile, resampler: Resampler?, sampleRate: Int, startFrame: Int, wanted: Int, block: Int,
         readsEverything: Bool, deadline: ContinuousClock.Instant?, timeLimit: Duration?) {
        self.file = file
        self.resampler = resampler
        self.sampleRate = sampleRate
        self.startFrame = startFrame
        self.wanted = wanted
        self.block = block
        self.readsEverything = readsEverything
        self.deadline = deadline
        self.timeLimit = timeLimit
        interleaved = .allocate(capacity: block * file.channelCount)
        mono = .allocate(capacity: block)
    }

    deinit {
        interleaved.deallocate()
        mono.deallocate()
    }

    public var path: String { file.path }

    /// The signal's length if every frame the file promises decodes (librosa's length for them).
    public var expectedSampleCount: Int { resampler?.outputCount(forInputCount: wanted) ?? wanted }

    /// Capacity that holds the whole output plus the resampler's working room.
    var capacityNeeded: Int { expectedSampleCount + (resampler?.workingMargin(forBlock: block) ?? 0) }

    /// Appends the next block's samples to `output` and returns true, or, at the end, appends the
    /// last ones and returns false; the samples handed out then add up to exactly librosa's length,
    /// ceil(n · out / in). The resampler's output lags its input, so before the end it never has
    /// more than that to give; `output` may hold earlier samples of the caller's own.
    public func read(appendingTo output: inout [Float]) throws(AudioError) -> Bool {
        if let endFailure { throw endFailure }
        guard !ended else { return false }
        let before = output.count
        if decoded < wanted {
            if let deadline, ContinuousClock.now > deadline, let timeLimit {
                throw .timedOut(path: path, seconds: Double(timeLimit.components.seconds) + Double(timeLimit.components.attoseconds) * 1e-18)
            }
            let got = try file.readFrames(into: interleaved, frames: min(block, wanted - decoded))
            if got > 0 {
                AudioDecoder.downmix(interleaved, channels: file.channelCount, frames: got, into: mono)
                let chunk = UnsafeBufferPointer(start: mono, count: got)
                if let resampler { try resampler.process(chunk, appendingTo: &output) }
                else { output.append(contentsOf: chunk) }
                decoded += got
                emitted += output.count - before
                return true
            }
        }
        do throws(AudioError) {
            try finish(appendingTo: &output, startingAt: before)
        } catch {
            endFailure = error
            throw error
        }
        ended = true
        return false
    }

    /// The end of the stream: its checks, the resampler's last samples and librosa's length.
    private func finish(appendingTo output: inout [Float], startingAt before: Int) throws(AudioError) {
        if let error = file.pendingError, decoded < wanted {
            throw .corrupt(path: path, reason: "\(error) after \(decoded) of \(wanted) frames")
        }
        // libsndfile's length of an Ogg/MP3 stream comes from granule positions and can exceed what
        // decodes by a few packets in intact files (seen: 10 frames in an Opus track, 0.13 s in a
        // Vorbis one); librosa keeps what decodes. Only a shortfall over one second, or a stream
        // with no end at all, counts as truncation. (PCM lengths were checked at open.)
        let tolerated = file.frameCount < Int(Int64.max) ? file.sampleRate : 0
        if wanted - decoded > tolerated {
            // libsndfile reports the largest count when an Ogg stream has no final page.
            let known = file.frameCount < Int(Int64.max)
            throw .truncated(path: path, expectedFrames: known ? startFrame + wanted : nil, decodedFrames: startFrame + decoded)
        }
        if decoded == 0 && readsEverything { throw .empty(path: path) }
        if let resampler {
            try resampler.flush(appendingTo: &output)
            // Cut what soxr gave past librosa's length, or pad with zeros up to it; only this
            // call's samples can be cut (the caller may already have used the earlier ones).
            let remaining = resampler.outputCount(forInputCount: decoded) - emitted
            assert(remaining >= 0, "soxr handed out more than librosa's length before its flush")
            Resampler.fixLength(&output, to: before + max(remaining, 0))
            emitted += output.count - before
        }
    }

    /// Output samples handed out so far; the signal's length once `read` has returned false.
    public var sampleCount: Int { emitted }
}
