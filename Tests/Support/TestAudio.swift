import Foundation

extension TestData {
    /// Writes 16-bit mono PCM as a WAV file: real audio for decoder, ingest and content tests
    /// without committed fixtures. `info`: a LIST/INFO chunk of tags (e.g. INAM title, IART
    /// artist, IPRD album), as tagging tools write them.
    public static func writeWAV(_ samples: [Int16], rate: Int, to path: String, info: [(id: String, text: String)] = []) throws {
        var data = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        var list = Data()
        for (id, text) in info {
            var bytes = Array(text.utf8) + [0]
            if bytes.count % 2 == 1 { bytes.append(0) }
            list.append(contentsOf: Array(id.utf8))
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { list.append(contentsOf: $0) }
            list.append(contentsOf: bytes)
        }
        let listChunk = info.isEmpty ? 0 : 12 + list.count
        data.append(contentsOf: Array("RIFF".utf8)); append(UInt32(36 + listChunk + 2 * samples.count))
        data.append(contentsOf: Array("WAVEfmt ".utf8)); append(UInt32(16)); append(UInt16(1)); append(UInt16(1))
        append(UInt32(rate)); append(UInt32(2 * rate)); append(UInt16(2)); append(UInt16(16))
        if !info.isEmpty {
            data.append(contentsOf: Array("LIST".utf8)); append(UInt32(4 + list.count))
            data.append(contentsOf: Array("INFO".utf8)); data.append(list)
        }
        data.append(contentsOf: Array("data".utf8)); append(UInt32(2 * samples.count))
        for s in samples { append(s) }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// `seconds` of a tone at `hertz` with a little noise, 22 050 Hz, as 16-bit samples.
    public static func tone(hertz: Double, seconds: Double, loudness: Double = 0.3, seed: UInt32 = 1) -> [Int16] {
        var state = seed
        return (0..<Int(seconds * 22_050)).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Double(state >> 8) / Double(1 << 24) - 0.5
            return Int16(32_000 * loudness * (sin(Double(i) * 2 * .pi * hertz / 22_050) + 0.05 * noise))
        }
    }
}
