import AsyncHTTPClient
import NIOCore

/// One POST of a payload to Alertmanager, with the outcome sorted by what to do about it.
struct AlertmanagerPoster: Sendable {
    /// What one attempt came to.
    enum Outcome: Sendable, Equatable {
        case delivered
        /// Alertmanager refused the request (4xx, or a redirect): the same post would be refused again.
        case rejected(status: Int, bodyPrefix: String)
        /// The webhook URL cannot work; the message says what to change.
        case misconfigured(String)
        /// Worth another try: 5xx, 408, 429, connection errors, timeouts.
        case retryable(String)
        /// The delivery loop is being cancelled; not the endpoint's fault.
        case cancelled
    }

    let url: String
    let urlProblem: String?
    let requestTimeout: Duration

    /// How much of a rejection's body goes into the log line.
    static let loggedBodyBytes = 200
    /// Responses are read to the end so the connection can be reused; Alertmanager answers
    /// with a few bytes, so anything far larger is not worth reading.
    static let drainedBodyBytes = 64 * 1024

    init(url: String, requestTimeout: Duration) {
        self.url = url
        self.urlProblem = AlertWebhook.Settings.problem(withURL: url)
        self.requestTimeout = requestTimeout
    }

    func post(_ body: [UInt8], using client: HTTPClient) async -> Outcome {
        if let urlProblem { return .misconfigured(urlProblem) }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "cjmd")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: requestTimeout.timeAmount)
            let status = Int(response.status.code)
            let prefix = try await Self.readBody(response.body, keepingFirst: Self.loggedBodyBytes)
            switch status {
            case 200..<300:
                return .delivered
            case 408, 429, 500..<600:
                return .retryable(
                    "HTTP \(status) \(response.status.reasonPhrase)\(prefix.isEmpty ? "" : ": " + prefix)")
            default:
                // 4xx, and 3xx since redirects are not followed: the URL or the body is wrong.
                return .rejected(status: status, bodyPrefix: prefix)
            }
        } catch {
            return Self.classify(error)
        }
    }

    static func classify(_ error: any Error) -> Outcome {
        if error is CancellationError || Task.isCancelled { return .cancelled }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .cancelled:
                return .cancelled
            case .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath:
                return .misconfigured(
                    "alerts.webhook cannot be used (\(clientError)); write it like http://127.0.0.1:9093/api/v2/alerts")
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout:
                return .retryable("no answer in time (\(clientError))")
            default:
                return .retryable(String(describing: clientError))
            }
        }
        return .retryable(String(describing: error))
    }

    /// Reads the body to its end (up to ``drainedBodyBytes``) and returns its first `limit`
    /// bytes as text, with invalid UTF-8 repaired.
    private static func readBody(_ body: HTTPClientResponse.Body, keepingFirst limit: Int) async throws -> String {
        var kept: [UInt8] = []
        var total = 0
        for try await chunk in body {
            if kept.count < limit {
                kept.append(contentsOf: chunk.readableBytesView.prefix(limit - kept.count))
            }
            total += chunk.readableBytes
            if total >= drainedBodyBytes { break }
        }
        return String(decoding: kept, as: UTF8.self).trimmingTrailingNewlines()
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last.isNewline { text.removeLast() }
        return String(text)
    }
}

extension Duration {
    /// The duration as NIO's `TimeAmount`.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
