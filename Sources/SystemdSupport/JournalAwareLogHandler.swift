import Logging

/// A swift-log handler that writes one line per message to standard error (or any descriptor),
/// shaped for journald when systemd connected the descriptor to the journal.
///
/// Under systemd each line starts with the sd-daemon(3) priority (`<6>`), so `journalctl -p`
/// filters work, and carries no timestamp, since the journal records one. Elsewhere lines start
/// with an ISO-8601 UTC timestamp and the level. Metadata follows as sorted `key=value` pairs.
/// Passwords in the message and in metadata are masked (see ``Redaction``).
public struct JournalAwareLogHandler: LogHandler {
    /// The logger's label, printed before each message.
    public let label: String
    /// Where lines go.
    public let output: LogOutput
    /// Messages below this level are dropped by `Logger` before they reach the handler.
    public var logLevel: Logger.Level
    /// Metadata attached to every message of this logger.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata (for example task-local), merged under the message's own.
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for the logger `label`.
    public init(
        label: String,
        output: LogOutput = .standardError,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.output = output
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    /// Makes every `Logger` in the process use this handler. Call once, early in `main`.
    public static func bootstrap(
        logLevel: Logger.Level = .info,
        output: LogOutput = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        LoggingSystem.bootstrap(
            { label, provider in
                JournalAwareLogHandler(label: label, output: output, logLevel: logLevel, metadataProvider: provider)
            }, metadataProvider: metadataProvider)
    }

    /// The syslog priority sd-daemon(3) prefixes use for `level`:
    /// trace and debug 7, info 6, notice 5, warning 4, error 3, critical 2.
    public static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, contextual in contextual }
        }
        if let own = event.metadata, !own.isEmpty {
            merged.merge(own) { _, explicit in explicit }
        }
        if let error = event.error, merged["error"] == nil {
            merged["error"] = .string(String(describing: error))
        }
        output.write(
            line: LogLineFormatter.line(
                style: output.style,
                level: event.level,
                label: label,
                message: event.message.description,
                metadata: merged
            )
        )
    }
}
