import TimbreCore
import COpenSSL
import Foundation

/// SHA-256 through OpenSSL's libcrypto (which uses the CPU's SHA extensions where present: hashing
/// a track is then a small fraction of decoding it). The content key of a track: a renamed or
/// moved file hashes the same and is recognised as the same track. The only place that talks to
/// libcrypto.
public final class SHA256 {
    private let context: OpaquePointer

    public init() throws(AudioError) {
        guard let context = EVP_MD_CTX_new() else { throw .library("EVP_MD_CTX_new failed") }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { throw .library("EVP_DigestInit_ex(sha256) failed") }
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) throws(AudioError) {
        guard bytes.count == 0 || EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            throw .library("EVP_DigestUpdate failed")
        }
    }

    public func update(_ bytes: [UInt8]) throws(AudioError) {
        let ok = bytes.withUnsafeBytes { raw in raw.count == 0 || EVP_DigestUpdate(context, raw.baseAddress, raw.count) == 1 }
        guard ok else { throw .library("EVP_DigestUpdate failed") }
    }

    /// The 32-byte digest; the hasher cannot be used afterwards.
    public func finalize() throws(AudioError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, length == 32 else { throw .library("EVP_DigestFinal_ex failed") }
        return Array(digest.prefix(32))
    }

    /// Digest of a whole file, read in 1 MiB blocks.
    public static func digest(ofFile path: String) throws(AudioError) -> [UInt8] {
        try AudioDecoder.requireRegularFile(path)
        guard let file = fopen(path, "rb") else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(file) }
        let hasher = try SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = fread(buffer.baseAddress, 1, buffer.count, file)
            if count > 0 { try hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
            if count < buffer.count {
                if ferror(file) != 0 { throw .unreadable(path: path, reason: "read error") }
                break
            }
        }
        return try hasher.finalize()
    }
}

extension Array where Element == UInt8 {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }
}
