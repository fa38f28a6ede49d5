import Foundation

/// A bounded read → workers → ordered writer pipeline for a stream of lines: `read` runs on a
/// thread of its own (nil ends the stream), `workers` threads run `process(lineNumber, line)`
/// concurrently, and the calling thread writes the answers in input order, flushing whenever it
/// has written everything ready, so a client waiting for one answer gets it at once. At most
/// `window` lines are read ahead of the writer (memory stays bounded when the output blocks).
/// Returns the number of lines processed once the input has ended and every answer is written.
public func orderedPipeline(workers: Int = availableCores, window: Int = 1024,
                            read: @escaping @Sendable () -> String?,
                            process: @escaping @Sendable (_ lineNumber: Int, _ line: String) -> String,
                            write: (String) -> Void, flush: () -> Void) -> Int {
    let state = PipelineState()
    let window = max(1, window)
    Thread.detachNewThread {
        var number = 0
        while true {
            state.condition.lock()
            while state.inFlight >= window { state.condition.wait() }
            state.condition.unlock()
            // Read outside the lock: a blocking read must not stall the workers or the writer.
            let line = read()
            state.condition.lock()
            if let line {
                number += 1
                state.pending.append((number, line))
                state.inFlight += 1
            } else {
                state.inputEnded = true
                state.total = number
            }
            state.condition.broadcast()
            state.condition.unlock()
            if line == nil { return }
        }
    }
    for _ in 0..<max(1, workers) {
        Thread.detachNewThread {
            while true {
                state.condition.lock()
                while state.head == state.pending.count && !state.inputEnded { state.condition.wait() }
                guard state.head < state.pending.count else {
                    state.condition.unlock()
                    return
                }
                let (number, line) = state.pending[state.head]
                state.head += 1
                // Drop the taken lines now and then, so taking one stays O(1) on average.
                if state.head >= 256 && 2 * state.head >= state.pending.count {
                    state.pending.removeFirst(state.head)
                    state.head = 0
                }
                state.condition.unlock()
                let answer = process(number, line)
                state.condition.lock()
                state.answers[number] = answer
                state.condition.broadcast()
                state.condition.unlock()
            }
        }
    }
    var next = 1
    while true {
        state.condition.lock()
        while state.answers[next] == nil && !(state.inputEnded && next > state.total) { state.condition.wait() }
        if state.inputEnded && next > state.total {
            state.condition.unlock()
            return state.total
        }
        var ready: [String] = []
        while let answer = state.answers.removeValue(forKey: next) {
            ready.append(answer)
            next += 1
        }
        state.inFlight -= ready.count
        state.condition.broadcast()
        state.condition.unlock()
        for answer in ready { write(answer) }
        flush()
    }
}

/// Everything the pipeline's threads share, guarded by `condition`'s lock.
private final class PipelineState: @unchecked Sendable {
    let condition = NSCondition()
    /// Lines read and not yet taken by a worker: `pending[head...]`.
    var pending: [(Int, String)] = []
    var head = 0
    var answers: [Int: String] = [:]
    var inFlight = 0
    var inputEnded = false
    var total = 0
}
