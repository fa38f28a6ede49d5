import TimbreCore
import CPNG
import TimbreInterchange

/// Writes 8-bit RGB images as PNG through libpng's simplified API (which reports errors through
/// its return value instead of longjmp, so it is safe to call from Swift). The only place that
/// talks to libpng.
public struct PNGWriter: Sendable {
    public init() {}

    /// Encodes in memory, then writes through `writeFileSafely` (temporary file and rename; a
    /// symbolic link or non-regular file at `path` is refused).
    public func write(_ image: RGBImage, to path: String) throws(AudioError) {
        let bytes = try encode(image, name: path)
        do { try writeFileSafely(bytes, to: path) } catch { throw .unreadable(path: path, reason: error.reason) }
    }

    public func encode(_ image: RGBImage, name: String = "image") throws(AudioError) -> [UInt8] {
        var control = png_image()
        control.version = UInt32(PNG_IMAGE_VERSION)
        control.width = UInt32(image.width)
        control.height = UInt32(image.height)
        control.format = UInt32(PNG_FORMAT_RGB)
        defer { png_image_free(&control) }
        var size = 0
        var out: [UInt8] = []
        var ok = image.pixels.withUnsafeBytes { bytes in
            png_image_write_to_memory(&control, nil, &size, 0, bytes.baseAddress, Int32(image.width * 3), nil)
        }
        if ok != 0 {
            out = [UInt8](repeating: 0, count: size)
            ok = image.pixels.withUnsafeBytes { bytes in
                out.withUnsafeMutableBytes { target in
                    png_image_write_to_memory(&control, target.baseAddress, &size, 0, bytes.baseAddress, Int32(image.width * 3), nil)
                }
            }
        }
        if ok == 0 {
            let message = withUnsafeBytes(of: control.message) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            throw .unreadable(path: name, reason: "cannot encode PNG: \(message)")
        }
        return Array(out.prefix(size))
    }
}

/// A plain 8-bit RGB raster, row-major from the top-left corner.
public struct RGBImage: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = RGB(255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    public subscript(x: Int, y: Int) -> RGB {
        get { let i = 3 * (y * width + x); return RGB(pixels[i], pixels[i + 1], pixels[i + 2]) }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = 3 * (y * width + x)
            pixels[i] = newValue.r; pixels[i + 1] = newValue.g; pixels[i + 2] = newValue.b
        }
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ colour: RGB) {
        for row in max(0, y)..<min(height, y + h) { for column in max(0, x)..<min(width, x + w) { self[column, row] = colour } }
    }
}

public struct RGB: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
}
