import Foundation
import NIOConcurrencyHelpers

/// Creates Unix socket files with no more permissions than configured.
///
/// `bind()` creates the file under the process umask, and `chmod` can only follow it: in
/// between, a permissive umask would leave the socket open to everyone. The umask is
/// process-wide, so it is only ever narrowed while binds are in flight and restored when
/// the last one ends; files other threads create meanwhile can only get fewer permissions.
enum SocketFileMask {
    private static let state = NIOLockedValueBox((inFlight: 0, original: mode_t(0)))

    static func creating<Result: Sendable>(
        mode: mode_t, _ body: () async throws -> Result
    ) async throws -> Result {
        state.withLockedValue { state in
            let current = umask(0o077)
            if state.inFlight == 0 { state.original = current }
            state.inFlight += 1
            umask(current | (~mode & 0o777))
        }
        defer {
            state.withLockedValue { state in
                state.inFlight -= 1
                if state.inFlight == 0 { umask(state.original) }
            }
        }
        return try await body()
    }
}
