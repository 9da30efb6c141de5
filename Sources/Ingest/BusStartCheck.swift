import DaemonSettings
import JourneyCore
import Logging
import NATSClient

/// What `cjmd run` checks of each JetStream bus before it starts: that the streams it
/// creates come out as asked. An older nats-server drops settings it does not know from a
/// create request without a word (2.9 does so with 2.10's); cjmd would then run on streams
/// that lack them, so it refuses to start instead (``JetStream/ensureStream(_:)`` compares
/// the server's answer with the request).
public enum BusStartCheck {
    /// A bus whose server did not take what cjmd asked of a stream.
    public struct SettingsIgnored: Error, CustomStringConvertible {
        public var source: String
        public var error: NATSError
        public var description: String { "source \"\(source)\": \(error)" }
    }

    /// Creates the missing streams of every jetstream source, as the first publish or shard
    /// would, and throws ``SettingsIgnored`` when a server answers without a setting. A bus
    /// that cannot be reached now is left to the gateway and shards, which wait for it.
    public static func check(_ configuration: CJMConfiguration, logger: Logger) throws(SettingsIgnored) {
        for source in configuration.sources {
            guard case .jetstream(let bus) = source.kind else { continue }
            do {
                let connection = try NATSConnection(
                    servers: bus.servers, name: "cjmd start check (\(source.name))", timeoutMilliseconds: 2_000)
                defer { connection.close() }
                let jetStream = try connection.jetStream()
                try jetStream.ensureStreams(of: bus)
            } catch {
                if !error.settingsIgnored.isEmpty { throw SettingsIgnored(source: source.name, error: error) }
                logger.warning(
                    "the bus could not be checked at start; its streams are made when it can be reached",
                    metadata: ["source": "\(source.name)", "error": "\(error)"])
            }
        }
    }
}
