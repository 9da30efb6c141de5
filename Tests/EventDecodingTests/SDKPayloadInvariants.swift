import EventDecoding
import JourneyCore

/// What the SDK body decoder must do with any bytes (fuzz/README.md): the fuzzer
/// `SDKFuzzer` checks it on generated inputs, `SDKFuzzCorpusTests` on the committed corpus.
/// The input's first byte picks the route (mod 4); the rest is the body.
enum SDKPayloadInvariants {
    static let routes: [SDKRoute] = [.segmentBatch, .segmentCall(.page), .posthogBatch, .posthogCapture]
    /// Receipt time of every input: 2026-05-01T12:00:00Z.
    static let receivedAt = EventTime(seconds: 1_777_636_800)

    static func violations(of input: [UInt8]) -> [String] {
        guard let first = input.first else { return [] }
        let route = routes[Int(first) % routes.count]
        let body = Array(input.dropFirst())
        var found: [String] = []
        let decoder = SDKPayloadDecoder()
        let outcome: Result<SDKPayloadDecoder.Payload, SDKPayloadError> = body.withUnsafeBytes { bytes in
            do throws(SDKPayloadError) {
                return .success(try decoder.decode(bytes, route: route, receivedAt: receivedAt))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .failure(let error):
            if error.message.isEmpty { found.append("an error without a message") }
            if body.isEmpty == false, String(validating: body, as: UTF8.self) == nil,
                !error.message.contains("UTF-8")
            {
                found.append("bytes that are not UTF-8 refused for another reason: \(error.message)")
            }
        case .success(let payload):
            if payload.lines.isEmpty { found.append("accepted with no lines") }
            if String(validating: body, as: UTF8.self) == nil { found.append("accepted bytes that are not UTF-8") }
            // Same input, same lines.
            let again = body.withUnsafeBytes { try? decoder.decode($0, route: route, receivedAt: receivedAt) }
            if again?.lines != payload.lines || again?.key != payload.key { found.append("two decodings differ") }
            if !route.isBatch, payload.lines.count != 1 {
                found.append("a single call gave \(payload.lines.count) lines")
            }
            let eventDecoder = EventDecoder()
            for (index, line) in payload.lines.enumerated() {
                // A rewritten message is still one JSON value: the decoder may refuse it for
                // what it says, never for its syntax or encoding, and never finds it blank.
                switch eventDecoder.decode(line, now: receivedAt) {
                case .blank: found.append("line \(index) is blank")
                case .rejected(let rejection)
                where rejection.reason == .invalidJSON || rejection.reason == .invalidUTF8:
                    found.append("line \(index) is \(rejection.reason.rawValue): \(rejection.detail)")
                case .rejected, .event: break
                }
            }
        }
        return found
    }
}
