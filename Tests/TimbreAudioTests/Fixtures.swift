import Foundation
@testable import TimbreAudio

/// The committed clips and their librosa 0.11 references (scripts/librosa-reference.py fixtures).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Music clips: (file name, channels, native sample rate).
    static let music: [(name: String, channels: Int, sampleRate: Int)] = [
        ("wesnoth-battle.ogg", 2, 44_100),
        ("warzone-track1.opus", 2, 48_000),
        ("wesnoth-elvish-22k-mono.flac", 1, 22_050),
        ("warzone-menu-16k-mono.wav", 1, 16_000),
        ("wesnoth-knolls.mp3", 2, 44_100),
    ]
    static let musicNames = music.map(\.name)

    /// Offset and duration of the `.offset.mfcc.csv` and `.load.f32` references.
    static let referenceOffset = 0.5
    static let referenceDuration = 1.0

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func referenceMFCC(_ name: String, offset: Bool = false) throws -> FeatureMatrix {
        let url = directory.appendingPathComponent("reference/\(name)\(offset ? ".offset" : "").mfcc.csv")
        let rows = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            line.split(separator: ",").map { Float(String($0))! }
        }
        return FeatureMatrix(rowCount: rows.count, columnCount: rows.first?.count ?? 0, values: rows.flatMap { $0 })
    }

    static func referenceSamples(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent("reference/\(name).load.f32"))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

/// Largest deviation of `ours` from `reference`, and how many values miss the issue's tolerance
/// (1e-3 absolute or 1e-4 relative).
struct Agreement: CustomStringConvertible {
    var maxAbsolute: Float = 0
    var outsideTolerance = 0

    init(_ ours: some Collection<Float>, _ reference: some Collection<Float>,
         absolute: Float = 1e-3, relative: Float = 1e-4) {
        for (a, b) in zip(ours, reference) {
            let difference = abs(a - b)
            maxAbsolute = max(maxAbsolute, difference)
            if difference > absolute && difference > relative * abs(b) { outsideTolerance += 1 }
        }
    }

    var description: String { "max |Δ| \(maxAbsolute), \(outsideTolerance) outside tolerance" }
}
