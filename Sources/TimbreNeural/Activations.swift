/// The LSTM's gate activations without libm calls: glibc's tanhf (by way of expm1f) and expf
/// took over half of all training time as opaque scalar calls. These are plain arithmetic, which
/// the optimiser vectorises across a gate row, and accurate to a few ulp (tanh to a few 1e-8
/// absolute), well inside what training or the Double-reference tests can see. Scalar Float code
/// rather than SIMD types: those are generic, unspecialised code in debug builds, which made the
/// test suite several times slower.

/// e^x by Cephes's expf: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two parts so r stays exact),
/// e^r by its minimax polynomial, 2^n written into the exponent bits. Inputs are clamped to the
/// range where the result is a normal float, so large |x| saturates instead of giving inf or NaN.
/// Rounding to n adds and subtracts 1.5·2²³, which leaves n in the low mantissa bits.
@inline(__always) func exponential(_ x: Float) -> Float {
    let x = x > 88.3 ? 88.3 : x < -87.3 ? -87.3 : x
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 0.166_666_655
    p = p * r + 0.500_000_012
    let y = p * (r * r) + r + 1
    // shifted's bits are 0x4B40_0000 + n; move n + 127 into the exponent field.
    return y * Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + exponential(-x)) }

/// tanh x = 1 − 2 / (e^{2x} + 1), saturating cleanly to ±1.
@inline(__always) func hyperbolicTangent(_ x: Float) -> Float { 1 - 2 / (exponential(2 * x) + 1) }
