import Foundation
import Testing
import TimbreCore
import TimbreTestSupport
import TimbreInterchange

/// `evaluate --plot nodir/x.svg` printed a raw NSCocoaErrorDomain dump after the whole evaluation;
/// now the folder is checked first and the error names the path.
struct PlotPathTests {
    @Test func aPlotInAMissingFolderIsRefusedBeforeEvaluating() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nodir-\(UUID().uuidString)").path
        let path = folder + "/x.svg"
        #expect(throws: OutputFileError(path: path, "the folder \(folder) cannot be used: No such file or directory")) {
            try checkOutputFolder(of: path)
        }
        // No database is given or reachable: the refusal comes before connecting.
        let result = try TestData.runTimbre(["evaluate", "--strategy", "popularity", "--plot", path, "--database", "postgresql:///nowhere?host=/nonexistent"])
        #expect(result.status != 0)
        #expect(result.err.contains("\(path): cannot write: the folder") && !result.err.contains("NSCocoaErrorDomain"), "\(result.err)")
        let file = try TestData.file("plain.txt", "x")
        #expect(throws: OutputFileError.self) { try checkOutputFolder(of: file + "/x.svg") }
        try checkOutputFolder(of: file)
    }
}
