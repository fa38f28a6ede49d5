import Foundation

/// A bounded read → workers → ordered writer pipeline for a stream of items (lines of a protocol,
/// patches of a track): `read` runs on a thread of its own (nil ends the stream), worker threads
/// 0 ..< `workers` run `process(worker, number, item)` concurrently (numbers count from 1; the
/// worker index lets each keep working memory of its own), and the calling thread writes the
/// answers in input order, flushing whenever it has written everything ready, so a client waiting
/// for one answer gets it at once. At most `window` items are read ahead of the writer (memory
/// stays bounded when the output blocks). Returns the number of items processed once the input
/// has ended and every answer is written.
public func orderedPipeline<Item: Sendable, Answer: Sendable>(
    workers: Int = availableCores, window: Int = 1024,
    read: @escaping @Sendable () -> Item?,
    process: @escaping @Sendable (_ worker: Int, _ number: Int, _ item: Item) -> Answer,
    write: (Answer) -> Void, flush: () -> Void = {}
) -> Int {
    let state = PipelineState<Item, Answer>()
    let window = max(1, window)
    Thread.detachNewThread {
        var number = 0
        while true {
            state.condition.lock()
            while state.inFlight >= window { state.condition.wait() }
            state.condition.unlock()
            // Read outside the lock: a blocking read must not stall the workers or the writer.
            let item = read()
            state.condition.lock()
            if let item {
                number += 1
                state.pending.append((number, item))
                state.inFlight += 1
            } else {
                state.inputEnded = true
                state.total = number
            }
            state.condition.broadcast()
            state.condition.unlock()
            if item == nil { return }
        }
    }
    for worker in 0..<max(1, workers) {
        Thread.detachNewThread {
            while true {
                state.condition.lock()
                while state.head == state.pending.count && !state.inputEnded { state.condition.wait() }
                guard state.head < state.pending.count else {
                    state.condition.unlock()
                    return
                }
                let (number, item) = state.pending[state.head]
                state.head += 1
                // Drop the taken items now and then, so taking one stays O(1) on average.
                if state.head >= 256 && 2 * state.head >= state.pending.count {
                    state.pending.removeFirst(state.head)
                    state.head = 0
                }
                state.condition.unlock()
                let answer = process(worker, number, item)
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
        var ready: [Answer] = []
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
private final class PipelineState<Item, Answer>: @unchecked Sendable {
    let condition = NSCondition()
    /// Items read and not yet taken by a worker: `pending[head...]`.
    var pending: [(Int, Item)] = []
    var head = 0
    var answers: [Int: Answer] = [:]
    var inFlight = 0
    var inputEnded = false
    var total = 0
}
