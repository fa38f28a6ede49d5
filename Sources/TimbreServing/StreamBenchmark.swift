import Foundation
import TimbreCore
#if canImport(Glibc)
import Glibc
#endif

/// Throughput and per-request latency of a `serve --stdio` child process, driven as an app would:
/// a writer keeps at most `window` requests outstanding, a reader takes the answers; a request's
/// latency runs from writing its line to reading its answer.
public struct StreamMeasurement: Sendable, Codable {
    public let requests: Int
    public let window: Int
    public let seconds: Double
    public let requestsPerSecond: Double
    public let p50Milliseconds: Double
    public let p99Milliseconds: Double
    public let maxMilliseconds: Double
    /// Answers that were error lines (should be 0).
    public let errors: Int
}

public struct StreamBenchmarkError: Error, CustomStringConvertible {
    public let description: String
}

public func measureStream(executable: String, arguments: [String], lines: [String], window: Int) throws -> StreamMeasurement {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    let sent = UnsafeMutablePointer<Double>.allocate(capacity: lines.count)
    let received = UnsafeMutablePointer<Double>.allocate(capacity: lines.count)
    defer { sent.deallocate(); received.deallocate() }
    let times = TimeSlots(sent: sent, received: received)
    let flow = NSCondition()
    nonisolated(unsafe) var answered = 0
    let writerDone = DispatchSemaphore(value: 0)
    let writeHandle = input.fileHandleForWriting
    Thread.detachNewThread {
        for (k, line) in lines.enumerated() {
            flow.lock()
            while k - answered >= window { flow.wait() }
            flow.unlock()
            times.sent[k] = monotonicSeconds()
            writeHandle.write(Data((line + "\n").utf8))
        }
        try? writeHandle.close()
        writerDone.signal()
    }
    guard let stream = fdopen(output.fileHandleForReading.fileDescriptor, "r") else {
        throw StreamBenchmarkError(description: "cannot read the server's output")
    }
    var buffer: UnsafeMutablePointer<CChar>?
    var capacity = 0
    var errors = 0
    let start = monotonicSeconds()
    for k in 0..<lines.count {
        guard getline(&buffer, &capacity, stream) > 0 else {
            throw StreamBenchmarkError(description: "the server stopped after \(k) of \(lines.count) answers")
        }
        times.received[k] = monotonicSeconds()
        if let line = buffer, strstr(line, "\"error\"") != nil { errors += 1 }
        flow.lock()
        answered = k + 1
        flow.broadcast()
        flow.unlock()
    }
    let seconds = monotonicSeconds() - start
    free(buffer)
    writerDone.wait()
    process.waitUntilExit()
    fclose(stream)
    guard process.terminationStatus == 0 else { throw StreamBenchmarkError(description: "the server exited with status \(process.terminationStatus)") }
    let latencies = (0..<lines.count).map { (received[$0] - sent[$0]) * 1000 }.sorted()
    func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
    return StreamMeasurement(requests: lines.count, window: window, seconds: seconds, requestsPerSecond: Double(lines.count) / seconds,
                             p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99), maxMilliseconds: latencies.last ?? 0,
                             errors: errors)
}

/// Writer and reader each touch only their own array, slot by slot.
private struct TimeSlots: @unchecked Sendable {
    let sent: UnsafeMutablePointer<Double>
    let received: UnsafeMutablePointer<Double>
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
