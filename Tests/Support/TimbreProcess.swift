import Foundation

/// A running `timbre` binary (the one `swift build` made), started by a test that needs it in
/// the background: to run several at once, or to kill one.
public final class TimbreProcess {
    public let process = Process()
    private let directory: URL
    private let outURL: URL, errURL: URL

    /// Starts `timbre arguments`, with `input` as its standard input if given, and `environment`
    /// on top of this process's.
    public init(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("timbre")
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/timbre")
        let binary = [beside, fromSource].first { FileManager.default.isExecutableFile(atPath: $0.path) }
        guard let binary else { throw TestData.TestDataMissing(description: "the timbre binary is not built (swift build)") }
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        // Files, not pipes: a child filling one pipe while we drain the other would deadlock.
        directory = try TestData.folder("timbre-run")
        outURL = directory.appendingPathComponent("out")
        errURL = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        if let input {
            let inURL = directory.appendingPathComponent("in")
            try input.write(to: inURL, atomically: true, encoding: .utf8)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        }
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Sends `signal` (e.g. SIGKILL) to the process.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end. `killedBy` is the signal that ended it, if one did.
    public func wait() throws -> (status: Int32, killedBy: Int32?, out: String, err: String) {
        process.waitUntilExit()
        let signalled = process.terminationReason == .uncaughtSignal
        return (signalled ? -1 : process.terminationStatus, signalled ? process.terminationStatus : nil,
                try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8))
    }
}
