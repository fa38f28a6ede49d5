import CFuzzerDriver
import Foundation
import TimbreAudio

/// The audio decoder's front door: the bytes as a file, opened by `SoundFile` (libsndfile) and
/// decoded by `AudioDecoder` as `audio ingest` and `audio mfcc` do (mono, here at most 2 s, at the
/// file's own rate: soxr's filter design per file would cut the executions per second tenfold, and
/// the resampler only ever sees decoded samples). Any bytes either decode or give an
/// `AudioError`; nothing traps.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSoundFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    // One scratch file per process (libFuzzer may run several jobs side by side).
    let inputPath = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/timbre-fuzz-sound-\(getpid())"
    guard FileManager.default.createFile(atPath: inputPath, contents: Data(bytes: data, count: size)) else {
        fatalError("cannot write \(inputPath)")
    }
    do {
        let audio = try AudioDecoder(targetSampleRate: 0).decode(path: inputPath, duration: 2)
        precondition(audio.sampleRate == audio.sourceSampleRate && audio.samples.count <= 2 * audio.sampleRate,
                     "decoded \(audio.samples.count) samples at \(audio.sampleRate) Hz for at most 2 s")
    } catch {
        // AudioError: reported per file by ingest.
    }
    return 0
}

// libFuzzer reads its options (-max_total_time, corpus folders, …) from the command line.
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzSoundFile))
