import DaemonSettings
import EventDecoding
import IngestEnvelope
import JourneyCore
import Testing

@testable import Ingest

/// The one decode path every source uses: a line becomes an event or a dead letter stamped
/// with the source and the time of receipt, or nothing.
@Suite struct RecordDecoderTests {
    let receivedAt = EventTime(seconds: 1_796_558_400)
    let decoder = RecordDecoder(source: "shop-web", settings: IngestSettings())

    func decode(_ text: String) -> RecordDecoder.Record {
        Array(text.utf8).withUnsafeBytes { decoder.decode($0, receivedAt: receivedAt) }
    }

    @Test func anEventCarriesItsSourceAndTimeOfReceipt() throws {
        guard case .event(let accepted) = decode(#"{"customer_id":"c1","event":"visit","ts":"2026-12-06T11:00:00Z"}"#)
        else {
            Issue.record("expected an event")
            return
        }
        #expect(accepted.source == "shop-web")
        #expect(accepted.receivedAt == receivedAt)
        #expect(accepted.event.customerID == "c1")
    }

    @Test func aBadLineBecomesADeadLetterWithItsBytesAndReason() {
        guard case .rejection(let line) = decode(#"{"customer_id":"c1","event":"visit"}"#) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(line.reason == .missingField)
        #expect(line.detail.contains("ts"))
        #expect(line.raw == Array(#"{"customer_id":"c1","event":"visit"}"#.utf8))
        #expect(line.source == "shop-web")
    }

    @Test func anOverLongLineKeepsItsFirstMaxLineBytes() {
        var settings = IngestSettings()
        settings.maxLineBytes = 16
        let small = RecordDecoder(source: "s", settings: settings)
        guard
            case .rejection(let line) = small.overLong(
                prefix: Array(repeating: UInt8(ascii: "x"), count: 40),
                length: 100, receivedAt: receivedAt)
        else {
            Issue.record("expected a rejection")
            return
        }
        #expect(line.reason == .lineTooLong)
        #expect(line.raw.count == 16)
        #expect(line.detail.contains("100 bytes"))
    }

    @Test func aBlankLineIsNothingButMovesAFilePosition() {
        guard case .blank = decode("   ") else {
            Issue.record("expected blank")
            return
        }
        #expect(PipelineItem(.blank) == nil, "a socket has no position to move")
        let position = SourceCheckpoint(
            source: "t",
            file: FilePosition(
                path: "/var/log/a", identity: FileIdentity(device: 1, inode: 2), fingerprint: "0:", offset: 10))
        guard case .filePosition(let moved)? = PipelineItem(.blank, position: position) else {
            Issue.record("expected a position")
            return
        }
        #expect(moved == position)
    }

    @Test func everyKindOfSourceIsRunByExactlyOneSourceService() {
        let kinds: [SourceSettings.Kind] = [
            .unix(path: "/run/cjmd/events.sock", mode: 0o660), .tcp(host: "127.0.0.1", port: 7410),
            .tail(path: "/var/log/*.ndjson", startAtBeginning: false),
        ]
        for kind in kinds {
            let runners = [SocketSources.runs(kind), TailSources.runs(kind)].filter { $0 }
            #expect(runners.count == 1, "\(kind)")
        }
    }
}
