extension FeatureMatrix {
    /// Reads the catalog's `audio_features.mfcc` layout (row-major little-endian Float32).
    public init(littleEndianBytes bytes: [UInt8], rowCount: Int, columnCount: Int) throws(AudioError) {
        guard rowCount >= 0, columnCount >= 0, bytes.count == 4 * rowCount * columnCount else {
            throw .library("stored features hold \(bytes.count) bytes, not \(rowCount) × \(columnCount) Float32")
        }
        let values = bytes.withUnsafeBytes { raw in
            (0..<rowCount * columnCount).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        self.init(rowCount: rowCount, columnCount: columnCount, values: values)
    }

    /// The columns `range` as a matrix of their own.
    public func columns(_ range: Range<Int>) -> FeatureMatrix {
        var out: [Float] = []
        out.reserveCapacity(rowCount * range.count)
        for r in 0..<rowCount { out += values[(r * columnCount + range.lowerBound)..<(r * columnCount + range.upperBound)] }
        return FeatureMatrix(rowCount: rowCount, columnCount: range.count, values: out)
    }

    /// Fixed-length windows for a sequence model, cut from a track's stored sequence instead of
    /// decoding the audio again: `seconds` of audio span 1 + ⌊seconds·sr/hop⌋ frames (130 for 3 s at
    /// librosa's defaults, the shape of a 3 s clip's own MFCC), windows start every ⌊seconds·sr/hop⌋
    /// frames, and an incomplete tail is dropped. A 30 s clip (1 292 frames) gives 10 windows.
    public func segments(seconds: Double, configuration: MFCCConfiguration = MFCCConfiguration()) -> [FeatureMatrix] {
        let step = Int(seconds * Double(configuration.sampleRate) / Double(configuration.hopLength))
        let length = step + 1
        guard step > 0, columnCount >= length else { return [] }
        return stride(from: 0, through: columnCount - length, by: step).map { columns($0..<$0 + length) }
    }
}
