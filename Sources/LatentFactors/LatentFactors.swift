import TimbreCore

/// What the latent-factor strategies (`bpr`, `biased-mf`, `ials`) share: recognising the training profile a
/// stored user vector was learnt from, and the inner products they score with.
public enum LatentFactors {
    /// FNV-1a over the profile's items (and values, when they matter to the model). A model stores
    /// it per training user; a profile whose fingerprint differs (new or changed interactions) is
    /// folded in instead of served from the stored vector.
    public static func fingerprint(items: some Collection<Int32>, values: (some Collection<Float>)?) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ word: UInt32) {
            for shift in stride(from: 0, to: 32, by: 8) {
                hash = (hash ^ UInt64((word >> UInt32(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
            }
        }
        mix(UInt32(truncatingIfNeeded: items.count))
        for item in items { mix(UInt32(bitPattern: item)) }
        if let values { for v in values { mix(v.bitPattern) } }
        return hash
    }

    /// Σ a[k]·b[k] for k < count, sixteen lanes at a time: a scalar loop's dependent adds do not
    /// vectorise (strict floating point), and this is the inner loop of every factor model's fit.
    @inline(__always) public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        if i + 8 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = (acc0 + acc1).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// scores[i] = bias[i] + x·rows[i] for every row of a row-major `factors`-wide matrix.
    public static func score(_ x: [Float], rows: [Float], bias: [Float], factors: Int, into scores: inout [Float]) {
        precondition(x.count == factors && rows.count == bias.count * factors && scores.count >= bias.count)
        x.withUnsafeBufferPointer { xp in
            rows.withUnsafeBufferPointer { rp in
                bias.withUnsafeBufferPointer { bp in
                    scores.withUnsafeMutableBufferPointer { sp in
                        for i in 0..<bp.count {
                            sp[i] = bp[i] + dot(xp.baseAddress!, rp.baseAddress! + i * factors, factors)
                        }
                    }
                }
            }
        }
    }
}

/// A Float buffer that several training threads update at once without locks (Hogwild, Niu et al.
/// 2011): each thread owns its users' rows; item rows are shared and an occasional lost update is
/// the accepted price. Only for training loops that accept that; freed by its owner.
public struct SharedFloats: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    public init(_ values: [Float]) {
        count = values.count
        base = .allocate(capacity: max(count, 1))
        if count > 0 { values.withUnsafeBufferPointer { base.initialize(from: $0.baseAddress!, count: count) } }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }
    public func free() { base.deallocate() }
}
