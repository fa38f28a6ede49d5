import Testing
import TimbreCore
import TimbreTerminal

struct ProgressRateTests {
    @Test func slowRatesKeepADecimal() {
        #expect(ProgressReporter.rateText(1, unit: "tracks") == "1.0 tracks/s")
        #expect(ProgressReporter.rateText(0.44, unit: "tracks") == "0.4 tracks/s")
        #expect(ProgressReporter.rateText(9.96, unit: "tracks") == "10.0 tracks/s")
        #expect(ProgressReporter.rateText(123.4, unit: "users") == "123 users/s")
        #expect(ProgressReporter.rateText(50, unit: "") == "50/s")
    }
}
