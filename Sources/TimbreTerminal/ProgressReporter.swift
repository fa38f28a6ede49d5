import Foundation

/// Progress of long work on stderr (done, rate, ETA), drawn only when stderr is a terminal so
/// scripts reading stdout, or logs capturing stderr, stay clean.
public final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let total: Int?
    private let unit: String
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let lock = NSLock()
    private var done = 0
    private var detail = ""

    public init(_ label: String, total: Int?, unit: String = "", enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = enabled
    }

    public var elapsed: Double { max(Date().timeIntervalSince(start), 1e-6) }

    /// Counts `n` more done; `detail` (e.g. a second rate) is shown after the counts.
    public func advance(by n: Int = 1, detail: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        done += n
        if let detail { self.detail = detail }
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        draw()
    }

    /// Clears the line; call once the work is over.
    public func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func draw() {
        let rate = Double(done) / elapsed
        var text = "\r\u{1B}[K\(label): \(done)"
        if let total {
            text += "/\(total) (\(total > 0 ? done * 100 / total : 100)%)"
        }
        text += "  " + Self.rateText(rate, unit: unit)
        if !detail.isEmpty { text += "  " + detail }
        if let total, rate > 0, done < total {
            text += "  ETA \(Self.duration(Double(total - done) / rate))"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// "12 tracks/s", "1.4 tracks/s": slow rates keep a decimal, so one track a second reads as a
    /// rate ("1.0 tracks/s"), not as a miscounted "1 tracks".
    public static func rateText(_ rate: Double, unit: String) -> String {
        String(format: rate < 10 ? "%.1f%@/s" : "%.0f%@/s", rate, unit.isEmpty ? "" : " \(unit)")
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
