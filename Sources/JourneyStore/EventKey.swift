import PostgresClient

/// How `cjm.event_rows.event_key` holds an event id, in fewer bytes than its text for the
/// ids most sources send (docs/storage.md):
///
/// - a UUID in canonical lowercase form (`8-4-4-4-12` hex digits, as the analytics SDKs
///   send `messageId`s): its 16 bytes;
/// - a derived id (`d-` and 32 lowercase hex digits, docs/events.md): its 16 bytes and
///   `0xFE`, 17 bytes;
/// - any other id: its UTF-8 bytes and `0xFF` — twice when that would make 16 bytes — so
///   never 16 bytes long and always ending in `0xFF`, which UTF-8 never contains.
///
/// The three forms cannot meet, so two ids have the same key exactly when they are the same
/// text. `cjm.event_key(text)` and `cjm.event_id(bytea)` are the same mapping in SQL (a test
/// holds the two equal).
enum EventKey {
    static let derivedEnd: UInt8 = 0xFE
    static let textEnd: UInt8 = 0xFF

    /// The stored key of `id`.
    static func bytes(of id: String) -> [UInt8] {
        var id = id
        return id.withUTF8 { utf8 in
            var key: [UInt8] = []
            withKey(of: utf8) { bytes, end, endCount in
                key = Array(bytes) + [UInt8](repeating: end, count: endCount)
            }
            return key
        }
    }

    /// Calls `body` with the key of the id whose UTF-8 bytes are `utf8`, as bytes and the
    /// end mark repeated `endCount` times after them; allocates nothing.
    static func withKey(
        of utf8: UnsafeBufferPointer<UInt8>, _ body: (UnsafeRawBufferPointer, UInt8, Int) -> Void
    ) {
        if let (high, low, derived) = hexNumber(utf8) {
            withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { body($0, derivedEnd, derived ? 1 : 0) }
        } else {
            body(UnsafeRawBufferPointer(utf8), textEnd, utf8.count == 15 ? 2 : 1)
        }
    }

    /// The id whose stored key is `key`.
    static func id(of key: [UInt8]) -> String {
        if key.count == 16 { return hexText(key[...], dashes: true) }
        if key.count == 17, key[16] == derivedEnd { return "d-" + hexText(key[..<16], dashes: false) }
        var end = key.count
        while end > 0, key[end - 1] == textEnd { end -= 1 }
        return String(decoding: key[..<end], as: UTF8.self)
    }

    /// Whether `id` is a canonical UUID or a derived id (stored as 16 bytes).
    static func isHex(_ id: String) -> Bool {
        var id = id
        return id.withUTF8 { hexNumber($0) != nil }
    }

    /// The 128-bit number of a canonical UUID or of a derived id (`derived`), else nil.
    private static func hexNumber(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, derived: Bool)? {
        let derived: Bool
        switch utf8.count {
        case 36: derived = false
        case 34:
            guard utf8[0] == UInt8(ascii: "d"), utf8[1] == UInt8(ascii: "-") else { return nil }
            derived = true
        default: return nil
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for offset in (derived ? 2 : 0)..<utf8.count {
            let char = utf8[offset]
            if !derived, offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard char == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt64
            switch char {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(char - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(char - UInt8(ascii: "a") + 10)
            default: return nil
            }
            if digits < 16 { high = high << 4 | nibble } else { low = low << 4 | nibble }
            digits += 1
        }
        return (high, low, derived)
    }

    private static func hexText(_ bytes: ArraySlice<UInt8>, dashes: Bool) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if dashes, i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension BinaryCopyInWriter {
    /// Appends the `bytea` key of event id `id` (see ``EventKey``).
    mutating func appendEventKey(_ id: String) {
        var id = id
        id.withUTF8 { utf8 in
            EventKey.withKey(of: utf8) { bytes, end, endCount in appendBytes(bytes, end: end, count: endCount) }
        }
    }
}
