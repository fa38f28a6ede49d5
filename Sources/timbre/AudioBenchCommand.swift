import ArgumentParser
import Foundation
import TimbreAudio
import TimbreCore

extension AudioCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time MFCC extraction and ingest per 30 s clip against the FFT and decode floors.",
            discussion: """
            For each FILE the first --clip seconds are used. Prints, per clip and as medians of \
            --repeats runs: the FFT floor (1 + clip·22050/512 real FFTs of 2048 points with our \
            FFTW wrapper), our MFCC of the decoded clip, the decode floor (libsndfile alone, no \
            down-mix or resampling), ingest work per clip on one thread (hash + decode + resample + \
            MFCC, no database), and ingest throughput on --jobs threads. When librosa is importable \
            (scripts/librosa-reference.py, which uses $TIMBRE_LIBROSA_VENV), librosa's times are \
            measured in the same run. Build with -c release.
            """
        )

        @Argument(help: "Audio files of at least --clip seconds (e.g. Ogg and Opus music).")
        var files: [String]
        @Option(help: "Clip length in seconds.")
        var clip = 30.0
        @Option(help: "Timed repetitions per measurement (median reported).")
        var repeats = 9
        @Option(help: "Threads for the parallel ingest measurement.")
        var jobs = 2
        @Flag(help: "Only time the FFT floor and our MFCC (for profiling).")
        var mfccOnly = false
        @Option(help: "Path of scripts/librosa-reference.py (empty to skip librosa).")
        var librosaScript = "scripts/librosa-reference.py"

        func run() throws {
            let frames = 1 + Int(clip * 22_050) / 512
            let analyser = try TrackAnalyser()
            let decoder = AudioDecoder()

            // FFT floor: just the transforms, on realistic data.
            let fft = try FFT(size: 2048, kind: .realInput)
            let sample = try decoder.decode(path: files[0], duration: clip).samples
            for i in 0..<2048 { fft.input[i] = sample[min(i + 100_000, sample.count - 1)] }
            let fftMS = median(repeats) { for _ in 0..<frames { fft.transform() } }

            let mfccMS = median(repeats) { _ = analyser.extractor.mfcc(sample) }
            let melMS = median(repeats) { _ = analyser.extractor.melSpectrogramDB(sample) }

            if mfccOnly {
                print(String(format: "FFT floor %.2f ms, MFCC %.2f ms (mel dB %.2f ms) per %.0f s clip", fftMS, mfccMS, melMS, clip))
                return
            }
            var rows: [(file: String, decode: Double, load: Double, ingest: Double, hash: Double)] = []
            for file in files {
                let decodeMS = try median(max(3, repeats / 2)) { try decodeFloor(file) }
                let hash = try SHA256.digest(ofFile: file)
                let sizeFraction = clip / max(try SoundFile(path: file).duration, clip)
                let hashMS = try median(max(3, repeats / 2)) { _ = try SHA256.digest(ofFile: file) } * sizeFraction
                let loadMS = try median(max(3, repeats / 2)) { _ = try decoder.decode(path: file, duration: clip) }
                let ingestMS = try median(max(3, repeats / 2)) {
                    _ = try analyser.analyse(path: file, contentSHA256: hash, duration: clip)
                } + hashMS
                rows.append((file, decodeMS, loadMS, ingestMS, hashMS))
            }

            // Throughput on `jobs` threads: each thread analyses every file's clip in turn.
            let work = files
            let clipLength = clip
            func throughput(_ threads: Int) -> Double {
                let start = DispatchTime.now()
                _ = onThreads(threads) { _ in
                    guard let analyser = try? TrackAnalyser() else { return }
                    for _ in 0..<2 { for file in work { _ = try? analyser.analyse(path: file, duration: clipLength) } }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
                return Double(threads * 2 * work.count) / seconds
            }
            let one = throughput(1), many = throughput(jobs)

            print(String(format: "per %.0f s clip (%d frames), medians of %d runs, release build", clip, frames, repeats))
            print(String(format: "  FFT floor (%d × rfft 2048, FFTW)     %8.2f ms", frames, fftMS))
            print(String(format: "  our MFCC                             %8.2f ms   (%.2f× FFT floor)", mfccMS, mfccMS / fftMS))
            print(String(format: "    of which STFT + mel + dB           %8.2f ms", melMS))
            for (file, decodeMS, loadMS, ingestMS, hashMS) in rows {
                print("  \(URL(fileURLWithPath: file).lastPathComponent)")
                print(String(format: "    decode floor (libsndfile alone)    %8.2f ms", decodeMS))
                print(String(format: "    decode + mono + resample           %8.2f ms   (%.3f× decode floor)", loadMS, loadMS / decodeMS))
                print(String(format: "    ingest, 1 thread (hash %.1f ms)    %8.2f ms   (%.3f× decode floor)", hashMS, ingestMS, ingestMS / decodeMS))
            }
            print(String(format: "  ingest throughput: 1 thread %.2f clips/s, %d threads %.2f clips/s (%.2f×)", one, jobs, many, many / one))

            if !librosaScript.isEmpty, let librosa = librosaTimes() {
                let librosaMFCC = librosa["mfcc_ms"] as? Double ?? .nan
                print(String(format: "  librosa %@ feature.mfcc            %8.2f ms   (ours %.1f× faster)",
                             librosa["librosa"] as? String ?? "?", librosaMFCC, librosaMFCC / mfccMS))
                let loadMFCC = librosa["load_mfcc_ms"] as? [String: Double] ?? [:]
                for (file, _, _, ingestMS, _) in rows {
                    if let theirs = loadMFCC[file] {
                        print(String(format: "  librosa load+mfcc %@  %8.2f ms   (our ingest %.1f× faster)",
                                     URL(fileURLWithPath: file).lastPathComponent, theirs, theirs / ingestMS))
                    }
                }
            } else {
                print("  librosa: not measured (scripts/librosa-reference.py bench failed or librosa not installed)")
            }
        }

        private func decodeFloor(_ path: String) throws {
            let file = try SoundFile(path: path)
            let wanted = Int(clip * Double(file.sampleRate))
            let block = 65_536
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: block * file.channelCount)
            defer { buffer.deallocate() }
            var done = 0
            while done < wanted {
                let got = try file.readFrames(into: buffer, frames: min(block, wanted - done))
                if got == 0 { break }
                done += got
            }
        }

        private func librosaTimes() -> [String: Any]? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", librosaScript, "bench", "--repeats", String(repeats)] + files
            var environment = ProcessInfo.processInfo.environment
            environment["TIMBRE_LIBROSA_NO_INSTALL"] = "1"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            do { try process.run() } catch { return nil }
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return nil }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        }
    }
}

/// Median wall time in milliseconds of `repeats` runs (after one untimed warm-up run).
func median(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now()
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
    }
    times.sort()
    return times[times.count / 2]
}
