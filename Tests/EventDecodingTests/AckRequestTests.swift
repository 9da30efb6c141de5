import EventDecoding
import JourneyCore
import Testing

@Suite("The socket protocol's ack request")
struct AckRequestTests {
    @Test(
        "{\"ack\": true} in any JSON spacing is an ack request",
        arguments: [
            #"{"ack": true}"#, #"{"ack":true}"#, " { \"ack\" :\ttrue } \r", #"{"\u0061ck":true}"#, "{\n\"ack\":true}",
        ])
    func recognized(line: String) {
        #expect(EventDecoder.isAckRequest(line))
        #expect(EventDecoder.isAckRequest(Array(line.utf8)))
    }

    @Test(
        "anything else is not",
        arguments: [
            #"{"ack": false}"#, #"{"ack": 1}"#, #"{"ack": "true"}"#, #"{"ack": null}"#, #"{"ack": true, "x": 1}"#,
            #"{"x": 1, "ack": true}"#, #"{"ACK": true}"#, #"{"ack ": true}"#, #"{"ack": true}}"#, #"[{"ack": true}]"#,
            #"{"ack": true"#, #"{"ack": tru}"#, #"{"ack": true} x"#, "", "{}", #"{"ack":true,}"#, #"{"ack": [true]}"#,
        ])
    func rejected(line: String) {
        #expect(!EventDecoder.isAckRequest(line))
    }

    @Test("an ack request is not an event")
    func notAnEvent() {
        #expect(decode(#"{"ack": true}"#).rejection?.reason == .missingField)
    }
}
