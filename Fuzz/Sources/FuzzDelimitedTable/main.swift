import CFuzzerDriver
import Foundation
import TimbreInterchange

/// The delimited-file reader behind `timbre import` and `--ratings FILE`. The first byte picks the
/// layout and the kind of table; the rest is the file. Whatever the bytes, the reader either
/// returns a table whose rows all have the header's width, or throws an `InputFileError` that
/// names a line of the file; it never traps.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzDelimitedTable(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let layouts = TableLayout.allCases, kinds: [TableKind] = [.ratings, .items, .users]
    let layout = layouts[Int(data[0]) % layouts.count]
    let kind = kinds[Int(data[0]) / layouts.count % kinds.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    // Lines end at \n, \r\n or a lone \r: at most one line per terminator, plus the last.
    let maximumLine = bytes.count(where: { $0 == 0x0A || $0 == 0x0D }) + 1
    do {
        let table = try DelimitedTable.parse(bytes, file: "fuzz.input", kind: kind, layout: layout)
        precondition(table.rows.count == table.lineNumbers.count)
        precondition(table.rows.allSatisfy { $0.count == table.columns.count }, "a row is not as wide as the header")
        precondition(zip(table.lineNumbers, table.lineNumbers.dropFirst()).allSatisfy { $0 < $1 }, "line numbers out of order")
        switch kind {
        case .ratings:
            let scale = RatingScale(lowest: 1, highest: 5)
            for r in try table.ratingRecords(scale: scale) {
                precondition(r.value >= scale.lowest && r.value <= scale.highest && !r.user.isEmpty && !r.item.isEmpty)
            }
        case .items: _ = try table.itemRecords()
        case .users: _ = try table.userRecords()
        }
    } catch let error as InputFileError {
        if let line = error.line { precondition(line >= 1 && line <= maximumLine, "\(error) names a line the file does not have") }
    } catch {
        preconditionFailure("the reader threw \(type(of: error)), not InputFileError: \(error)")
    }
    return 0
}

// libFuzzer reads its options (-max_total_time, corpus folders, …) from the command line.
var argumentCount = CommandLine.argc
var argumentValues = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argumentCount, &argumentValues, fuzzDelimitedTable))
