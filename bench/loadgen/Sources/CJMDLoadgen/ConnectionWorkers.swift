import Foundation

/// Runs one body per connection, each on a thread of its own (blocking sockets), and waits
/// for all of them; the first error wins.
enum ConnectionWorkers {
    static func run(count: Int, _ body: @escaping @Sendable (Int) throws(LoadgenError) -> Void) throws(LoadgenError) {
        let group = DispatchGroup()
        let firstError = FirstError()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                do throws(LoadgenError) {
                    try body(index)
                } catch {
                    firstError.record(error)
                }
                group.leave()
            }
            thread.name = "connection-\(index)"
            thread.start()
        }
        group.wait()
        if let error = firstError.value { throw error }
    }
}

/// Keeps the first error reported by any thread.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: LoadgenError?

    func record(_ error: LoadgenError) {
        lock.lock()
        if stored == nil { stored = error }
        lock.unlock()
    }

    var value: LoadgenError? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
