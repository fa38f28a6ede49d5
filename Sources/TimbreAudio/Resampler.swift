import CSoxr

/// A streaming libsoxr resampler for one mono Float32 signal. The only place that talks to libsoxr.
///
/// Uses "HQ" quality (`SOXR_HQ`, 20-bit, no flags) on one thread: the exact configuration that
/// python-soxr uses for librosa's default `res_type='soxr_hq'`, so outputs agree with librosa.
public final class Resampler {
    public let inputRate: Double
    public let outputRate: Double
    private let handle: soxr_t

    public init(inputRate: Double, outputRate: Double) throws(AudioError) {
        guard inputRate > 0, outputRate > 0 else {
            throw .invalidArgument("sample rates must be positive, got \(inputRate) → \(outputRate)")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        var error: soxr_error_t? = nil
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var quality = soxr_quality_spec(UInt(SOXR_20_BITQ), 0)
        var runtime = soxr_runtime_spec(1)
        let handle = soxr_create(inputRate, outputRate, 1, &error, &io, &quality, &runtime)
        if let error { throw .library("soxr_create: \(String(cString: error))") }
        guard let handle else { throw .library("soxr_create returned no resampler") }
        self.handle = handle
    }

    deinit { soxr_delete(handle) }

    /// Output length librosa keeps for `inputCount` input samples: ceil(n · out / in).
    public func outputCount(forInputCount inputCount: Int) -> Int {
        Int((Double(inputCount) * (outputRate / inputRate)).rounded(.up))
    }

    /// Capacity beyond the final length that `process` and `flush` may use while they work, for
    /// input blocks of at most `block` samples.
    public func workingMargin(forBlock block: Int) -> Int { roomNeeded(forInputCount: block) + Self.flushRoom }

    private func roomNeeded(forInputCount count: Int) -> Int { max(4096, Int(Double(count) * outputRate / inputRate) + 64) }

    private static let flushRoom = 16_384

    /// Feeds `input` and appends whatever output is ready to `output`.
    public func process(_ input: UnsafeBufferPointer<Float>, appendingTo output: inout [Float]) throws(AudioError) {
        var offset = 0
        repeat {
            let room = roomNeeded(forInputCount: input.count - offset)
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: room))
            var consumed = 0
            var produced = 0
            let error = output.withUnsafeMutableBufferPointer { out in
                soxr_process(handle, input.baseAddress.map { $0 + offset }, input.count - offset, &consumed,
                             out.baseAddress! + start, room, &produced)
            }
            output.removeLast(room - produced)
            if let error { throw .library("soxr_process: \(String(cString: error))") }
            offset += consumed
            if consumed == 0 && produced == 0 { break }
        } while offset < input.count
    }

    /// Signals the end of input and appends the remaining output.
    public func flush(appendingTo output: inout [Float]) throws(AudioError) {
        while true {
            let room = Self.flushRoom
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: room))
            var produced = 0
            let error = output.withUnsafeMutableBufferPointer { out in
                soxr_process(handle, nil, 0, nil, out.baseAddress! + start, room, &produced)
            }
            output.removeLast(room - produced)
            if let error { throw .library("soxr_process (flush): \(String(cString: error))") }
            if produced == 0 { return }
        }
    }

    /// Resamples a whole signal and fixes its length to ceil(n · out / in) as librosa does
    /// (trailing zeros if soxr gave fewer samples, cut if it gave more).
    public static func resample(_ signal: [Float], from inputRate: Double, to outputRate: Double) throws(AudioError) -> [Float] {
        if inputRate == outputRate { return signal }
        let resampler = try Resampler(inputRate: inputRate, outputRate: outputRate)
        var output: [Float] = []
        let expected = resampler.outputCount(forInputCount: signal.count)
        output.reserveCapacity(expected + resampler.workingMargin(forBlock: signal.count))
        try signal.withUnsafeBufferPointer { (input) throws(AudioError) in
            try resampler.process(input, appendingTo: &output)
        }
        try resampler.flush(appendingTo: &output)
        fixLength(&output, to: expected)
        return output
    }

    static func fixLength(_ output: inout [Float], to count: Int) {
        if output.count > count { output.removeLast(output.count - count) }
        else if output.count < count { output.append(contentsOf: repeatElement(0, count: count - output.count)) }
    }
}
