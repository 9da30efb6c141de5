/// The request paths of the analytics SDKs that cjmd's HTTP source answers (docs/http.md):
/// Segment's and RudderStack's HTTP API, and PostHog's capture API.
public enum SDKRoute: Sendable, Equatable {
    /// `POST /v1/batch` (and `/v1/import`, its older name): `{"batch": [...], "sentAt": ...}`.
    case segmentBatch
    /// `POST /v1/track`, `/v1/identify`, … : one message, its type given by the path.
    case segmentCall(SegmentCall)
    /// `POST /batch/`: `{"api_key": ..., "batch": [...], "sent_at": ...}`.
    case posthogBatch
    /// `POST /capture/` or `/i/v0/e/`: one event, with its `api_key`.
    case posthogCapture

    /// The message types of Segment's spec, as single calls.
    public enum SegmentCall: String, Sendable, CaseIterable {
        case track, identify, page, screen, group, alias
    }

    /// Which SDK family speaks a route: it decides the success body and the field names.
    public enum Family: Sendable, Equatable {
        case segment, posthog
    }

    /// The route of a request path (its query string and one trailing slash ignored); nil
    /// for a path no SDK sends to.
    public init?(path: String) {
        var path = Substring(path)
        if let query = path.firstIndex(of: "?") { path = path[..<query] }
        if path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        switch path {
        case "/v1/batch", "/v1/import": self = .segmentBatch
        case "/batch": self = .posthogBatch
        case "/capture", "/i/v0/e", "/e": self = .posthogCapture
        default:
            guard path.hasPrefix("/v1/"), let call = SegmentCall(rawValue: String(path.dropFirst(4))) else {
                return nil
            }
            self = .segmentCall(call)
        }
    }

    public var family: Family {
        switch self {
        case .segmentBatch, .segmentCall: .segment
        case .posthogBatch, .posthogCapture: .posthog
        }
    }

    /// Whether the body holds a list of messages (else it is one message).
    public var isBatch: Bool {
        switch self {
        case .segmentBatch, .posthogBatch: true
        case .segmentCall, .posthogCapture: false
        }
    }

    /// The body of a `200`: what each SDK checks for. rudder-sdk-python and posthog treat
    /// any other 2xx as a failure and retry.
    public var successBody: String {
        switch family {
        case .segment: #"{"success": true}"#
        case .posthog: #"{"status": 1}"#
        }
    }
}
