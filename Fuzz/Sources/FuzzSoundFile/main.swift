import CFuzzerDriver
import Foundation
import TimbreAudio

/// The audio decoder's front door: the bytes as a file, opened by `SoundFile` (libsndfile) and
/// decoded by `AudioDecoder` as `audio ingest` and `audio mfcc` do (mono, resampled to 22 050 Hz,
/// here at most 2 s). Any bytes either decode or give an `AudioError`; nothing traps.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSoundFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    // One scratch file per process (libFuzzer may run several jobs side by side).
    let inputPath = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/timbre-fuzz-sound-\(getpid())"
    guard FileManager.default.createFile(atPath: inputPath, contents: Data(bytes: data, count: size)) else {
        fatalError("cannot write \(inputPath)")
    }
    do {
        let audio = try AudioDecoder().decode(path: inputPath, duration: 2)
        precondition(audio.sampleRate == 22_050 && audio.samples.count <= 2 * 22_050 + 1, "decoded \(audio.samples.count) samples for at most 2 s")
    } catch {
        // AudioError: reported per file by ingest.
    }
    return 0
}

// libFuzzer reads its options (-max_total_time, corpus folders, …) from the command line.
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzSoundFile))
