import ServiceMetrics
import Testing

@Suite struct MetricsListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464),
        ("localhost:0", "localhost", 0),
        ("[::1]:9464", "::1", 9464),
        ("0.0.0.0:65535", "0.0.0.0", 65535),
    ])
    func parsesHostAndPort(text: String, host: String, port: Int) throws {
        let address = try MetricsListenAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == text)
    }

    @Test(arguments: [
        "9464", ":9464", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http", "::1:9464", "[::1]9464", "[::1",
    ])
    func rejectsWhatIsNotHostColonPort(text: String) {
        #expect(throws: MetricsServerError.self) { try MetricsListenAddress(parsing: text) }
    }

    @Test func theDefaultIsThePrometheusExporterPortOnLoopback() {
        #expect(MetricsListenAddress.default.description == "127.0.0.1:9464")
    }

    @Test func anInvalidAddressErrorNamesTheValueAndTheFix() {
        do {
            _ = try MetricsListenAddress(parsing: "::1:9464")
            Issue.record("parsed an unbracketed IPv6 address")
        } catch {
            #expect(error.description.contains("::1:9464"))
            #expect(error.description.contains("[::1]:9464"))
        }
    }
}
