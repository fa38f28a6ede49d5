import Foundation
import Testing
import TimbreCore
import TimbreStrategies

/// Inputs `scripts/fuzz` found that trapped or exhausted memory, kept as they were found (the fuzz
/// target's first byte, which picks the decoder, dropped; the strategy's header put in front, as
/// the target does), next to a hand-made case of each defect. Each must now be a clear decoding
/// error.
@Suite struct FuzzRegressionTests {
    /// A model body behind its strategy's header, as stored.
    static func stored(_ strategy: String, _ body: [UInt8]) throws -> [UInt8] {
        let type = try registeredStrategies.named(strategy)
        var writer = ModelWriter()
        writer.write(type.name)
        writer.write(type.modelFormatVersion)
        return writer.bytes + body
    }

    static func found(_ strategy: String, _ base64: String) throws -> [UInt8] {
        try stored(strategy, Array(Data(base64Encoded: base64)!.dropFirst()))
    }

    /// An array length of 0x21000a000a746553 times 4 bytes overflowed Int in ModelReader before
    /// it was compared with the bytes left.
    @Test func arrayLengthThatOverflowsIsABadLength() throws {
        let popularity = try registeredStrategies.named("popularity")
        let found = try Self.found("popularity", "AFNldAoACgAh")
        let error = #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: popularity, found) }
        #expect(error?.description.contains("bad array length") == true)

        var writer = ModelWriter()
        writer.write(Int64(1) << 62) // a [Float] of 2⁶² values, then nothing
        #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: popularity, try Self.stored("popularity", writer.bytes)) }
        // The largest length that fits in what is left still reads.
        var exact = ModelWriter()
        exact.write([Float(1), 2, 3])
        var reader = ModelReader(exact.bytes)
        #expect(try reader.read([Float].self) == [1, 2, 3])
    }

    /// A hybrid blob claiming 2⁵⁹-odd components made the decoder reserve room for all of them
    /// (`(0..<count).map`) before the first read ran out of bytes: a 52 GB allocation.
    @Test func hybridComponentCountIsNotTrusted() throws {
        let hybrid = try registeredStrategies.named("hybrid")
        let found = try Self.found("hybrid", """
            BQEAAAAAAAAAegQAAAAAAAAAY29sZAIAACsAAAAACAAAAAAAAABpdGVtLWtubgkAAAAAAAAADQAAAAAAAABhbXBsaWZpY2F0aW9uAQAAAAAAAPA/CAAA\
            AAAAAABjZW4Icmd0A25pAAAAAAAAAGJhc2VsaW5lAQAAAAAAAABrAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAgAAAAAAAAAC\
            AAAAAIBAAAAAgD8AAKBABAAAAAAAAABiaWFzAwAAAAAAAAAMAAAAAAAAAGl0ZW0tZGFtcGluZwEAAHNpbmUAAMhCAAAAAAgAAAAAAAAAYmFzZWxpbmUI\
            AAAAAAAAAGltcGxpY2l0AACAPwYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAADIQgAAAAAIAAAAAAAAAGJhc2VsaW5lCAAAAAAAAABpbXBsAAAAAAA=
            """)
        #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: hybrid, found) }

        var writer = ModelWriter()
        writer.write("z")
        writer.write("cold")
        writer.write(Int64.max) // components claimed; none follows
        let error = #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: hybrid, try Self.stored("hybrid", writer.bytes)) }
        #expect(error?.description.contains("truncated") == true)
    }

    /// A content model's item count times its dimension (both from the blob) overflowed Int.
    @Test func contentModelSizeProductThatOverflowsIsRefused() throws {
        let content = try registeredStrategies.named("content")
        let found = try Self.found("content", """
            BAgAAAAAAAAAaW1wbGljaXQUAAAAAAAAAAAAAAAAAAAAAAUAAAIAAACAAAAACgAAAAAAAAAAAIA/zcxMPwAAAACamRm/AAAAAAAAAACamRk/AACAP83M\
            TD8AAAAABQAAAAAAAAABAQEBAA==
            """)
        #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: content, found) }

        var writer = ModelWriter()
        writer.write("implicit")
        writer.write(Int64(20)) // k
        writer.write(Float(0)) // min-similarity
        writer.write(Int64(1) << 32) // items
        writer.write(Int64(1) << 32) // dimension: 2⁶⁴ values
        writer.write([Float]())
        writer.write([UInt8]())
        let error = #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: content, try Self.stored("content", writer.bytes)) }
        #expect(error?.description.contains("dimension") == true)
    }

    /// An ials model claiming 2⁶¹-odd factors and no items passed the size check (0 values for
    /// 0 items) and then sized its factors × factors Gram matrix by it: an overflow trap.
    @Test func ialsFactorCountIsHeldToTheSettingsRange() throws {
        let ials = try registeredStrategies.named("ials")
        let found = try Self.found("ials", "GQIAAAAAAABDbG9zZWRSYQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAAAAAAAAAAAAAAAAAAAAA=")
        let error = #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: ials, found) }
        #expect(error?.description.contains("outside the setting's range 1…1000") == true, "\(String(describing: error))")

        var writer = ModelWriter()
        writer.write(Int64(1_001)) // factors, one over the setting's 1…1000
        writer.write(Float(0.1)) // regularisation
        writer.write(UInt8(0)); writer.write(UInt8(0)); writer.write(Float(40)); writer.write(Float(1)) // confidence
        writer.write([UInt8]()) // no items
        writer.write([Float]())
        #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: ials, try Self.stored("ials", writer.bytes)) }
    }

    /// A biased-mf blob's members × samples (both stored settings) overflowed Int; stored settings
    /// are now held to their declared ranges (members 1…64, samples 0…1000, factors 1…1024), as
    /// are bpr's.
    @Test func factorModelSettingsAreHeldToTheirRanges() throws {
        let biasedMF = try registeredStrategies.named("biased-mf")
        let found = try Self.found("biased-mf", """
            +/9AQ2xvc2VkMmQyAyhlAyhlZDIDKAAAAAAAAAYAAAAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwBAAAAAAAAAAAbAAAAAAAAABwcHBwcHBwc\
            HBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwBAAAAAAAAAAAbAAAAAAAAAAAACwAAAGV4cGxpY2l0AACAPwYAAAAAAAAAAAAAAAAAAAAA/P///wYT\
            AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
            """)
        #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: biasedMF, found) }

        let bpr = try registeredStrategies.named("bpr")
        var writer = ModelWriter()
        writer.write(Int64(1) << 61) // factors
        let error = #expect(throws: ModelDecodingError.self) { try registeredStrategies.decodeModel(of: bpr, try Self.stored("bpr", writer.bytes)) }
        #expect(error?.description.contains("factors \(Int64(1) << 61) outside the setting's range 1…1024") == true, "\(String(describing: error))")
    }
}
