import Foundation
import PostgresClient
import Testing

@testable import JourneyStore

/// An event id is stored as a key (`EventKey` in Swift, `cjm.event_key` / `cjm.event_id` in
/// SQL, which the view `cjm.events` and the duplicate probe use). The two must give the same
/// bytes for every id, and the key must read back as the id: else a duplicate would pass
/// the probe, or `cjm.events` would show another id than the one sent.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct EventKeyTests {
    /// Ids of every form and at every boundary between the forms.
    static func ids() -> [String] {
        var ids = [
            "550e8400-e29b-41d4-a716-446655440000",  // canonical UUID: 16 bytes
            "550E8400-E29B-41D4-A716-446655440000",  // upper case: text
            "550e8400e29b41d4a716446655440000",  // no dashes: text
            "550e8400-e29b-41d4-a716-44665544000g",  // not hex: text
            "550e8400-e29b-41d4-a716-4466554400000",  // 37 characters: text
            "d-0123456789abcdef0123456789abcdef",  // derived: 17 bytes
            "d-0123456789abcdef0123456789abcde",  // one digit short: text
            "D-0123456789abcdef0123456789abcdef",  // text
            "x", "e42-445425", "fifteen-bytes-x", "sixteen-bytes-xx",
            "\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}x", "a\u{00e9}\u{1F600}",
            String(repeating: "z", count: 128), "ÿÿ", "trailing space ",
        ]
        for _ in 0..<200 { ids.append(UUID().uuidString.lowercased()) }
        for n in 1...40 { ids.append(String(repeating: "k", count: n)) }
        return ids
    }

    @Test func swiftAndSQLStoreEveryIdAsTheSameKeyAndReadItBack() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let connection = try PostgresConnection(conninfo: conninfo)
            _ = try Migrator.migrate(connection)
            let ids = Self.ids()
            let result = try connection.execute(
                """
                SELECT encode(cjm.event_key(id), 'hex'), cjm.event_id(cjm.event_key(id))
                FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) ORDER BY n
                """, [.text(SQLText.textArray(ids))])
            #expect(result.rowCount == ids.count)
            var keys = Set<[UInt8]>()
            for (row, id) in ids.enumerated() {
                let key = EventKey.bytes(of: id)
                let hex = key.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
                #expect(result.string(row: row, column: 0) == hex, "\(id)")
                #expect(result.string(row: row, column: 1) == id, "\(id)")
                #expect(EventKey.id(of: key) == id, "\(id)")
                keys.insert(key)
            }
            #expect(keys.count == Set(ids).count)
            // The forms: 16 bytes for a UUID, 17 for a derived id, never 16 for text.
            #expect(EventKey.bytes(of: ids[0]).count == 16)
            #expect(EventKey.bytes(of: ids[5]).count == 17)
            #expect(ids.filter { !EventKey.isHex($0) }.allSatisfy { EventKey.bytes(of: $0).count != 16 })
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
