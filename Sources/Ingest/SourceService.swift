import DaemonSettings
import JourneyCore
import ServiceLifecycle

/// One kind of source of `cjmd run` — Unix and TCP sockets, tailed files, and those to come —
/// as a service: it starts the configured sources of its kind, frames what they read into
/// lines, turns each into a record with ``RecordDecoder`` (the one decode path), submits the
/// records to the pipeline's ``CommitQueue`` (whose tickets are the acknowledgement hook:
/// `whenCommitted(through:)`), follows reloads, and on graceful shutdown returns once
/// everything it accepted is committed.
///
/// A new kind of source is a type conforming to this protocol (one file), its case of
/// `SourceSettings.Kind` with its configuration section, its tests, and one line in the list
/// of source services that `cjmd run` starts (docs/architecture.md).
public protocol SourceService: Service {
    /// Whether this service runs the sources of `kind`.
    static func runs(_ kind: SourceSettings.Kind) -> Bool

    /// Reload: starts, stops or restarts this kind's sources to match `sources` (every
    /// source of the new configuration); returns what changed, for the log.
    func apply(_ sources: [SourceSettings]) async throws -> [String]
}

extension SourceService {
    /// The sources of this service's kinds among `sources`.
    static func ownSources(_ sources: [SourceSettings]) -> [SourceSettings] {
        sources.filter { runs($0.kind) }
    }
}
