import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cores the process may use; fixed for the life of the process.
public let availableCores: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

/// Runs `body` over contiguous chunks of `0..<count` on all cores and returns the chunk results in
/// order. Chunks outnumber cores so uneven work (heavy users, popular items) balances; each chunk
/// allocates its scratch buffers once, which keeps allocation out of the per-row loops.
public func concurrentChunks<T: Sendable>(
    _ count: Int, chunksPerCore: Int = 8, _ body: @Sendable (Range<Int>) -> T
) -> [T] {
    guard count > 0 else { return [] }
    let chunkCount = min(count, availableCores == 1 ? 1 : availableCores * chunksPerCore)
    let size = (count + chunkCount - 1) / chunkCount
    let ranges = stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    let slots = UnsafeMutablePointer<T?>.allocate(capacity: ranges.count)
    slots.initialize(repeating: nil, count: ranges.count)
    defer { slots.deinitialize(count: ranges.count); slots.deallocate() }
    let writer = ChunkSlots(base: slots)
    DispatchQueue.concurrentPerform(iterations: ranges.count) { c in
        writer.base[c] = body(ranges[c])
    }
    return (0..<ranges.count).map { slots[$0]! }
}

/// Each chunk writes only its own slot, so sharing the pointer across threads is race-free.
private struct ChunkSlots<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T?>
}

/// Runs `body(0) … body(count − 1)` each on a thread of its own and returns their results in
/// order: for workers that mostly wait (on a database, on locks), which must all run at once
/// whatever the core count, unlike `concurrentChunks`' CPU-bound chunks.
public func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
    let slots = UnsafeMutablePointer<T?>.allocate(capacity: max(count, 1))
    slots.initialize(repeating: nil, count: max(count, 1))
    defer { slots.deinitialize(count: max(count, 1)); slots.deallocate() }
    let writer = ChunkSlots(base: slots)
    let done = DispatchGroup()
    for k in 0..<count {
        done.enter()
        Thread.detachNewThread {
            writer.base[k] = body(k)
            done.leave()
        }
    }
    done.wait()
    return (0..<count).map { slots[$0]! }
}
