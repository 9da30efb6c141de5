import CompressNIO
import DaemonSettings
import EventDecoding
import Foundation
import IngestEnvelope
import JourneyCore
import NIOCore
import NIOHTTP1

/// An answer to an SDK request (docs/http.md).
struct SDKResponse: Sendable, Equatable {
    var status: HTTPResponseStatus
    var body: String
    /// `Retry-After`, in seconds.
    var retryAfterSeconds: Int? = nil
    /// Whether the connection closes after it (the rest of the request was not read).
    var closesConnection = false

    /// `200` with the body the route's SDK checks for.
    static func success(_ route: SDKRoute) -> SDKResponse {
        SDKResponse(status: .ok, body: route.successBody)
    }

    /// An error as JSON: `code` and `message` (what rudder-sdk-python reads; it fails on a
    /// JSON error without `code`), and `detail` (what posthog reads).
    static func error(
        _ status: HTTPResponseStatus, code: String, message: String, retryAfterSeconds: Int? = nil,
        closesConnection: Bool = false
    ) -> SDKResponse {
        let text = JSONText.quoted(message)
        return SDKResponse(
            status: status, body: #"{"code": "\#(code)", "message": \#(text), "detail": \#(text)}"#,
            retryAfterSeconds: retryAfterSeconds, closesConnection: closesConnection)
    }

    static func tooLarge(_ limit: Int, what: String) -> SDKResponse {
        .error(
            .payloadTooLarge, code: "payload_too_large",
            message: "the \(what) body is larger than max_body_bytes (\(limit) bytes); send smaller batches",
            closesConnection: true)
    }
}

/// Turns one SDK request into pipeline items, or into the error it is answered with; pure
/// but for decompression. Nothing is submitted for a request that gets an error.
struct SDKRequestReader: Sendable {
    let settings: HTTPSourceSettings
    let decoder: RecordDecoder
    let payloads: SDKPayloadDecoder

    init(source: String, settings: HTTPSourceSettings, ingest: IngestSettings, forwards: Bool = false) {
        self.settings = settings
        self.decoder = RecordDecoder(source: source, settings: ingest, keepsLines: forwards)
        self.payloads = SDKPayloadDecoder(clockSkewTolerance: ingest.clockSkewTolerance)
    }

    enum Outcome: Sendable {
        /// Accepted: the items to commit before answering `200`.
        case submit([PipelineItem], SDKRoute)
        case reply(SDKResponse)
    }

    /// The route of a request head, or the error for a path or method no SDK uses.
    static func route(of head: HTTPRequestHead) -> Result<SDKRoute, SDKResponseError> {
        guard let route = SDKRoute(path: head.uri) else {
            return .failure(
                SDKResponseError(
                    .error(
                        .notFound, code: "not_found",
                        message: "no SDK endpoint at \(head.uri); cjmd answers /v1/batch, /v1/track, … and /batch/")))
        }
        guard head.method == .POST else {
            return .failure(
                SDKResponseError(.error(.methodNotAllowed, code: "method_not_allowed", message: "use POST")))
        }
        return .success(route)
    }

    func read(head: HTTPRequestHead, route: SDKRoute, body: ByteBuffer, receivedAt: EventTime) -> Outcome {
        let headerKey = Self.basicAuthUser(head.headers["Authorization"].first)
        if let headerKey, !settings.writeKeys.contains(headerKey) {
            return .reply(Self.unauthorized)
        }
        let plain: ByteBuffer
        switch decompress(body, encoding: head.headers["Content-Encoding"].first) {
        case .success(let bytes): plain = bytes
        case .failure(let error): return .reply(error.response)
        }
        let payload: SDKPayloadDecoder.Payload
        do {
            payload = try plain.withUnsafeReadableBytes { bytes throws(SDKPayloadError) in
                try payloads.decode(bytes, route: route, receivedAt: receivedAt)
            }
        } catch {
            return .reply(.error(.badRequest, code: "invalid_body", message: error.message))
        }
        guard let key = headerKey ?? payload.key, settings.writeKeys.contains(key) else {
            return .reply(Self.unauthorized)
        }
        var items: [PipelineItem] = []
        items.reserveCapacity(payload.lines.count)
        for line in payload.lines {
            let record =
                line.count > decoder.maxLineBytes
                ? decoder.overLong(prefix: line, length: Int64(line.count), receivedAt: receivedAt)
                : line.withUnsafeBytes { decoder.decode($0, receivedAt: receivedAt) }
            if let item = PipelineItem(record) { items.append(item) }
        }
        return .submit(items, route)
    }

    static let unauthorized = SDKResponse.error(
        .unauthorized, code: "unauthorized",
        message: "missing or unknown write key; send one of the source's write_keys as the HTTP Basic user or writeKey")

    /// The user of an HTTP Basic `Authorization` header (Segment's and RudderStack's write
    /// key, with an empty password); nil without one.
    static func basicAuthUser(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1].trimmingCharacters(in: .whitespaces))),
            let text = String(data: decoded, encoding: .utf8)
        else { return nil }
        return String(text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }

    /// The body without its `Content-Encoding`, at most `max_body_bytes` of it.
    private func decompress(_ body: ByteBuffer, encoding: String?) -> Result<ByteBuffer, SDKResponseError> {
        let algorithm: CompressionAlgorithm
        switch encoding?.trimmingCharacters(in: .whitespaces).lowercased() {
        case nil, "", "identity": return .success(body)
        case "gzip", "x-gzip": algorithm = .gzip()
        case "deflate": algorithm = .zlib()
        case let other?:
            return .failure(
                SDKResponseError(
                    .error(
                        .unsupportedMediaType, code: "unsupported_encoding",
                        message: "Content-Encoding \(other) is not supported; send gzip, deflate or no encoding")))
        }
        var compressed = body
        do {
            return .success(try compressed.decompress(with: algorithm, maxSize: settings.maxBodyBytes))
        } catch let error as CompressNIOError where error == .bufferOverflow {
            return .failure(SDKResponseError(.tooLarge(settings.maxBodyBytes, what: "decompressed")))
        } catch {
            return .failure(
                SDKResponseError(
                    .error(
                        .badRequest, code: "invalid_body",
                        message: "the body is not valid \(encoding ?? "") data (\(error)); send it compressed whole")))
        }
    }
}

/// An error answer, as an `Error` for `Result`.
struct SDKResponseError: Error {
    var response: SDKResponse
    init(_ response: SDKResponse) { self.response = response }
}

/// JSON string literals for the handful of texts cjmd writes into responses.
enum JSONText {
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
