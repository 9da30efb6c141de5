import CNATS

/// A failed call into the NATS C client (nats.c), with what the server or the client said.
public struct NATSError: Error, CustomStringConvertible, Sendable {
    /// What cjmd was doing, e.g. "connecting to nats://127.0.0.1:4222".
    public var operation: String
    /// nats.c's status code (`natsStatus`).
    public var status: Int32
    /// JetStream's error code when the server answered with one (0 otherwise), e.g. 10058
    /// (a stream with that name exists with another configuration).
    public var jetStreamCode: Int32
    /// nats.c's text for the status, with its last error's detail when it has one.
    public var message: String

    /// Whether the status means no server could be reached or the connection is gone:
    /// worth retrying once a server is back, unlike a refused configuration.
    public var isUnavailable: Bool {
        [
            NATS_NO_SERVER, NATS_CONNECTION_CLOSED, NATS_CONNECTION_DISCONNECTED, NATS_TIMEOUT, NATS_STALE_CONNECTION,
            NATS_NOT_YET_CONNECTED, NATS_NO_RESPONDERS, NATS_IO_ERROR,
        ]
        .map { Int32(bitPattern: $0.rawValue) }.contains(status)
    }

    /// Settings the server answered without, as it would if it did not know them (an older
    /// nats-server drops unknown fields silently); empty for every other failure.
    public var settingsIgnored: [String] = []

    public var description: String {
        if !settingsIgnored.isEmpty {
            return "NATS: \(operation): the server did not take " + settingsIgnored.joined(separator: ", ")
                + "; cjmd needs nats-server 2.9 or later, and streams it creates exactly as asked"
        }
        var text = "NATS: \(operation) failed: \(message)"
        if jetStreamCode != 0 { text += " (JetStream error \(jetStreamCode))" }
        if isUnavailable {
            text += "; check that nats-server runs with JetStream enabled (-js) at the configured servers"
        }
        return text
    }

    /// Throws unless `status` is `NATS_OK`.
    static func check(
        _ status: natsStatus, _ operation: @autoclosure () -> String, jetStreamCode: jsErrCode = jsErrCode(0)
    )
        throws(NATSError)
    {
        guard status != NATS_OK else { return }
        throw NATSError(status: status, operation: operation(), jetStreamCode: jetStreamCode)
    }

    init(settingsIgnored: [String], operation: String) {
        self.operation = operation
        self.status = Int32(bitPattern: NATS_ERR.rawValue)
        self.jetStreamCode = 0
        self.message = "settings ignored"
        self.settingsIgnored = settingsIgnored
    }

    init(status: natsStatus, operation: String, jetStreamCode: jsErrCode = jsErrCode(0)) {
        self.operation = operation
        self.status = Int32(bitPattern: status.rawValue)
        self.jetStreamCode = Int32(bitPattern: jetStreamCode.rawValue)
        var text = String(cString: natsStatus_GetText(status))
        var lastStatus = NATS_OK
        if let detail = nats_GetLastError(&lastStatus), detail.pointee != 0 {
            let detailText = String(cString: detail)
            if detailText != text { text += ": \(detailText)" }
        }
        self.message = text
    }
}
