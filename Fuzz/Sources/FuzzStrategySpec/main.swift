import CFuzzerDriver
import Foundation
import TimbreCore
import TimbreStrategies

/// Strategy specs as `--strategy` and `evaluate` take them (`NAME:k=v,…`, `NAME(k=v,…)`, nested).
/// A spec that parses prints (`description`) as a spec that parses back to itself, and making it
/// through the registry (parameter parsing, composed strategies' nested specs) either succeeds or
/// throws; nothing traps.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzStrategySpec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let spec = try? StrategySpec.parse(text) else { return 0 }
    let printed = spec.description
    do {
        let again = try StrategySpec.parse(printed)
        precondition(again == spec, "'\(text)' parses to \(spec) but its description '\(printed)' parses to \(again)")
    } catch {
        preconditionFailure("'\(text)' parses but its description '\(printed)' does not: \(error)")
    }
    if let (_, parameters) = try? registeredStrategies.make(spec) {
        // The resolved parameters name the same configuration when read back.
        let resolved = StrategySpec(name: spec.name, parameters: parameters)
        let reparsed = try? registeredStrategies.make(StrategySpec.parse(resolved.description))
        precondition(reparsed?.1 == parameters, "\(resolved) does not make the parameters it was printed from")
    }
    return 0
}

// libFuzzer reads its options (-max_total_time, corpus folders, …) from the command line.
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzStrategySpec))
