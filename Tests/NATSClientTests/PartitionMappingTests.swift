import Foundation
import JourneyCore
import NATSClient
import NATSTestServer
import Testing

/// cjmd's partition of a customer against nats-server's own `{{partition(N,1)}}` mapping: a
/// producer publishing to `cjm.in.<token>` through the server must land where cjmd puts the
/// customer.
@Suite("Customer partitions", .enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
struct PartitionMappingTests {
    /// Ids of every shape a producer sends: UUIDs, numbers, e-mails, dots, spaces, wildcards,
    /// tildes, non-ASCII.
    static func customerIDs(count: Int) -> [String] {
        var random = SystemRandomNumberGenerator()
        let shapes: [(Int) -> String] = [
            { _ in UUID().uuidString.lowercased() },
            { "\($0)" },
            { "user\($0)@example.com" },
            { "a.b.\($0)" },
            { "first last \($0)" },
            { "*>\($0)~" },
            { "kundin-\($0)-müller-東京" },
            { n in
                String(
                    (0..<(1 + n % 40)).map { _ in Character(UnicodeScalar(UInt8.random(in: 33...126, using: &random))) }
                )
            },
        ]
        return (0..<count).map { shapes[$0 % shapes.count]($0) }
    }

    @Test(arguments: [16, 7, 1])
    func theServersMappingPutsEveryCustomerInCjmdsPartition(partitions: Int) throws {
        let server = try NATSServerProcess(
            extraConfiguration: "mappings { \"cjm.in.*\": \"cjm.p.{{partition(\(partitions),1)}}.{{wildcard(1)}}\" }")
        let connection = try NATSConnection(servers: [server.url], name: "cjm-test")
        let subscription = try connection.subscribe(subject: "cjm.p.>")
        try connection.flush()
        let ids = Self.customerIDs(count: 2_000)
        for id in ids {
            try connection.publish(subject: "cjm.in.\(CustomerPartition.token(for: id))", payload: Array(id.utf8))
        }
        try connection.flush()
        var seen = 0
        var partitionsSeen = Set<Int>()
        while seen < ids.count, let message = try subscription.next(timeoutMilliseconds: 5_000) {
            let parts = message.subject.split(separator: ".", maxSplits: 3)
            try #require(parts.count == 4 && parts[0] == "cjm" && parts[1] == "p")
            let id = String(decoding: message.payload, as: UTF8.self)
            #expect(String(parts[3]) == CustomerPartition.token(for: id))
            #expect(Int(parts[2]) == CustomerPartition.partition(ofCustomer: id, partitions: partitions), "\(id)")
            partitionsSeen.insert(Int(parts[2])!)
            seen += 1
        }
        #expect(seen == ids.count)
        #expect(partitionsSeen.count == partitions)
    }

    @Test func tokensAreSubjectSafeAndDecodeToTheirId() {
        for id in Self.customerIDs(count: 5_000) {
            let token = CustomerPartition.token(for: id)
            #expect(!token.isEmpty)
            #expect(!token.contains(where: { ".*> \t\r\n".contains($0) }))
            #expect(token.unicodeScalars.allSatisfy { $0.isASCII })
            #expect(CustomerPartition.customerID(ofToken: token) == id)
        }
        #expect(CustomerPartition.token(for: "alice@example.com") == "alice~40example~2Ecom")
        #expect(CustomerPartition.token(for: "~") == "~7E")
        // One spelling per id: a kept byte written as an escape, or a broken escape, is no token of ours.
        #expect(CustomerPartition.customerID(ofToken: "~61") == nil)
        #expect(CustomerPartition.customerID(ofToken: "a~4") == nil)
        #expect(CustomerPartition.customerID(ofToken: "a~4g") == nil)
        #expect(CustomerPartition.customerID(ofToken: "~FF") == nil)  // not UTF-8
    }
}
