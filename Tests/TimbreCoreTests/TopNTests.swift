import Testing
import TimbreCore

@Suite struct OffsetOfMaximum {
    @Test func earliestOfEqualMaximaInArraysAndSlices() {
        #expect([0.2, 0.7, 0.7, 0.1].offsetOfMaximum == 1)
        #expect([Float(3)].offsetOfMaximum == 0)
        #expect([Int]().offsetOfMaximum == nil)
        // A slice's offset counts from its own start, not from the array's.
        let row = [9, 1, 5, 5, 2][1...]
        #expect(row.offsetOfMaximum == 1)
    }
}
