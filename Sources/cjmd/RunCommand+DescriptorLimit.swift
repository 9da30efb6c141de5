import DaemonSettings
import JourneyCore
import Logging
import SystemdSupport

extension RunCommand {
    /// Descriptors beyond the client connections: listeners, database connections, files
    /// being tailed, the metrics server, the journal.
    static let descriptorsBesideConnections: UInt64 = 64

    /// Raises the descriptor limit and warns when `ingest.max_connections` cannot be reached
    /// under it (accepts would then fail with EMFILE before the configured refusal).
    static func checkDescriptorLimit(_ configuration: CJMConfiguration, logger: Logger) {
        guard let limit = FileDescriptorLimit.raiseToHardLimit() else { return }
        let needed = UInt64(configuration.ingest.maxConnections) + descriptorsBesideConnections
        if limit < needed {
            logger.warning(
                "the open-file limit is below ingest.max_connections",
                metadata: [
                    "limit": "\(limit)", "max_connections": "\(configuration.ingest.maxConnections)",
                    "advice":
                        "raise LimitNOFILE= in the unit (or ulimit -n) to at least \(needed), or lower ingest.max_connections",
                ])
        }
    }
}
