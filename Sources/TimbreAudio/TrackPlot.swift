import Foundation

/// Draws a track as a waveform above its mel spectrogram, with a colour bar and a time axis in
/// seconds. Both are on absolute scales, so two plots compare: the waveform spans full scale (±1,
/// ticked at ±1, ±0.5 and 0, with the peak in dBFS in its label), never stretched to the track's
/// own peak (a near-silent file then looks silent); the spectrogram is in dBFS, 0 being the
/// strongest band of a full-scale 1 kHz sine (`MFCCExtractor.fullScaleReferenceDB`), coloured over
/// a fixed `floorDBFS`…0 range (louder bands take the top colour).
public struct TrackPlot: Sendable {
    public var width = 1200
    public var waveformHeight = 150
    public var spectrogramHeight = 380
    /// The bottom of the colour scale, dBFS.
    public var floorDBFS: Float = -90

    public init() {}

    private let left = 70, right = 100, top = 34, gap = 36, bottom = 44

    /// `melDB` as `MFCCExtractor.melSpectrogramDB` gives it; `referenceDB` the level that is 0 dBFS
    /// (`MFCCExtractor.fullScaleReferenceDB()` of the same extractor).
    public func render(samples: [Float], sampleRate: Int, melDB: FeatureMatrix, referenceDB: Float, filterbank: MelFilterbank,
                       title: String) -> RGBImage {
        let height = top + waveformHeight + gap + spectrogramHeight + bottom
        var image = RGBImage(width: width, height: height)
        let plotWidth = width - left - right
        let ink = RGB(30, 30, 30), grid = RGB(215, 215, 215)
        let duration = Double(samples.count) / Double(sampleRate)
        image.text(String(title.prefix(90)), x: left, y: 10, ink)

        // Waveform: min and max of the samples under each pixel column.
        let waveTop = top
        let middle = waveTop + waveformHeight / 2
        image.fill(x: left, y: middle, width: plotWidth, height: 1, grid)
        let samplePeak = samples.lazy.map { abs($0) }.max() ?? 0
        // Full scale, not the track's peak: louder than ±1 (clipping) is drawn at the edge.
        let peak: Float = 1
        for (value, label) in [(1, "1"), (0.5, "0.5"), (0, "0"), (-0.5, "-0.5"), (-1, "-1")] as [(Float, String)] {
            let y = middle - Int(Float(waveformHeight / 2 - 2) * value)
            image.fill(x: left - 5, y: y, width: 5, height: 1, ink)
            image.text(label, x: left - 8 - 6 * label.count, y: y - 3, ink)
        }
        samples.withUnsafeBufferPointer { signal in
            for column in 0..<plotWidth {
                let from = signal.count * column / plotWidth, to = max(from + 1, signal.count * (column + 1) / plotWidth)
                guard from < signal.count else { break }
                var low: Float = 0, high: Float = 0
                for i in from..<min(to, signal.count) { low = min(low, signal[i]); high = max(high, signal[i]) }
                let y0 = middle - Int(Float(waveformHeight / 2 - 2) * min(high, peak) / peak)
                let y1 = middle - Int(Float(waveformHeight / 2 - 2) * max(low, -peak) / peak)
                image.fill(x: left + column, y: y0, width: 1, height: max(1, y1 - y0 + 1), RGB(31, 119, 180))
            }
        }
        image.frame(x: left, y: waveTop, width: plotWidth, height: waveformHeight, ink)
        image.text("waveform", x: 8, y: waveTop - 14, ink)
        let peakText = samplePeak > 0 ? String(format: "peak %.1f dbfs", 20 * log10(Double(samplePeak))) : "silent"
        image.text(peakText, x: left + 80, y: waveTop - 14, ink)

        // Mel spectrogram: lowest band at the bottom, nearest-neighbour scaling.
        let specTop = waveTop + waveformHeight + gap
        let highest: Float = 0, lowest = floorDBFS
        let range = highest - lowest
        for row in 0..<spectrogramHeight {
            let band = (melDB.rowCount - 1) - row * melDB.rowCount / spectrogramHeight
            for column in 0..<plotWidth {
                let frame = min(melDB.columnCount - 1, column * melDB.columnCount / plotWidth)
                let level = (melDB[band, frame] - referenceDB - lowest) / range
                image[left + column, specTop + row] = Colormap.magma(level)
            }
        }
        image.frame(x: left, y: specTop, width: plotWidth, height: spectrogramHeight, ink)
        image.text("mel (Hz)", x: 8, y: specTop - 14, ink)
        // Frequency ticks at round frequencies, placed on the mel scale.
        let lowMel = MelFilterbank.hzToMel(filterbank.minimumFrequency), highMel = MelFilterbank.hzToMel(filterbank.maximumFrequency)
        for hz in [0.0, 500, 1000, 2000, 4000, 8000, 16000] where hz >= filterbank.minimumFrequency && hz <= filterbank.maximumFrequency {
            let fraction = (MelFilterbank.hzToMel(hz) - lowMel) / (highMel - lowMel)
            let y = specTop + spectrogramHeight - 1 - Int(fraction * Double(spectrogramHeight - 1))
            image.fill(x: left - 5, y: y, width: 5, height: 1, ink)
            image.text(hz >= 1000 ? "\(Int(hz / 1000))k" : "\(Int(hz))", x: left - 36, y: y - 3, ink)
        }

        // Time axis under both panels.
        let steps: [Double] = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600]
        let step = steps.first { duration / $0 <= 12 } ?? 600
        let axisY = specTop + spectrogramHeight
        var t = 0.0
        while t <= duration + 1e-9 {
            let x = left + Int(t / max(duration, 1e-9) * Double(plotWidth - 1))
            image.fill(x: x, y: axisY, width: 1, height: 5, ink)
            image.fill(x: x, y: waveTop + waveformHeight, width: 1, height: 4, ink)
            let label = step < 1 ? String(format: "%.1f", t) : String(Int(t.rounded()))
            image.text(label, x: x - label.count * 3, y: axisY + 9, ink)
            t += step
        }
        image.text("time (s)", x: left + plotWidth / 2 - 24, y: axisY + 26, ink)

        // Colour bar with dB ticks every 10 dB.
        let barX = left + plotWidth + 16, barWidth = 16
        for row in 0..<spectrogramHeight {
            let level = 1 - Float(row) / Float(spectrogramHeight - 1)
            image.fill(x: barX, y: specTop + row, width: barWidth, height: 1, Colormap.magma(level))
        }
        image.frame(x: barX, y: specTop, width: barWidth, height: spectrogramHeight, ink)
        image.text("dbfs", x: barX, y: specTop - 14, ink)
        var db = (highest / 10).rounded(.down) * 10
        while db >= lowest {
            let y = specTop + Int((highest - db) / range * Float(spectrogramHeight - 1))
            image.fill(x: barX + barWidth, y: y, width: 4, height: 1, ink)
            image.text(String(Int(db)), x: barX + barWidth + 7, y: y - 3, ink)
            db -= 10
        }
        return image
    }
}

/// Matplotlib's "magma", sampled at nine points and interpolated linearly.
enum Colormap {
    private static let magmaStops: [(Float, Float, Float)] = [
        (0, 0, 4), (28, 16, 68), (79, 18, 123), (129, 37, 129), (181, 54, 122),
        (229, 80, 100), (251, 135, 97), (254, 194, 135), (252, 253, 191),
    ]

    static func magma(_ level: Float) -> RGB {
        let x = min(max(level.isFinite ? level : 0, 0), 1) * Float(magmaStops.count - 1)
        let i = min(Int(x), magmaStops.count - 2), f = x - Float(i)
        let a = magmaStops[i], b = magmaStops[i + 1]
        return RGB(UInt8(a.0 + (b.0 - a.0) * f), UInt8(a.1 + (b.1 - a.1) * f), UInt8(a.2 + (b.2 - a.2) * f))
    }
}

extension RGBImage {
    mutating func frame(x: Int, y: Int, width w: Int, height h: Int, _ colour: RGB) {
        fill(x: x - 1, y: y - 1, width: w + 2, height: 1, colour)
        fill(x: x - 1, y: y + h, width: w + 2, height: 1, colour)
        fill(x: x - 1, y: y - 1, width: 1, height: h + 2, colour)
        fill(x: x + w, y: y - 1, width: 1, height: h + 2, colour)
    }

    /// Draws `string` with a 5×7 bitmap font (6 px advance); unknown characters draw as blanks.
    mutating func text(_ string: String, x: Int, y: Int, _ colour: RGB) {
        for (n, character) in string.lowercased().enumerated() {
            guard let rows = BitmapFont.glyphs[character] else { continue }
            for (dy, bits) in rows.enumerated() {
                for dx in 0..<5 where bits & (0x10 >> dx) != 0 { self[x + 6 * n + dx, y + dy] = colour }
            }
        }
    }
}

enum BitmapFont {
    static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02], ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        "_": [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F], "/": [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00], " ": [0, 0, 0, 0, 0, 0, 0],
        "a": [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F], "b": [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E],
        "c": [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E], "d": [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        "e": [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E], "f": [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        "g": [0x00, 0x00, 0x0F, 0x11, 0x0F, 0x01, 0x0E], "h": [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        "i": [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E], "j": [0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C],
        "k": [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12], "l": [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "m": [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11], "n": [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
        "o": [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E], "p": [0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        "q": [0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01], "r": [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        "s": [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E], "t": [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        "u": [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D], "v": [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "w": [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A], "x": [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        "y": [0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E], "z": [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F],
    ]
}
