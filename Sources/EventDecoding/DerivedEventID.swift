import Crypto
import JourneyCore

/// The id of an event that came without `event_id` (SPEC §1: derived deterministically from
/// customer_id, event, ts and touchpoint).
///
/// This is a **stable contract**: replays, restarts and future versions must derive the same
/// id for the same event, or duplicates would be counted twice. Never change it; a new scheme
/// would need a new prefix and a migration plan.
///
/// The id is `d-` followed by the first 16 bytes (32 lowercase hex digits) of
/// SHA-256 over this byte string:
///
/// ```
/// "cjmd.event-id.v1"                           16 ASCII bytes, a domain tag
/// u32be(len(customer_id)) customer_id          UTF-8 bytes as decoded (escapes resolved)
/// u32be(len(event))       event
/// i64be(ts)                                    microseconds since 1970-01-01T00:00:00Z
/// u32be(len(touchpoint))  touchpoint           after defaulting, so absent = "unknown"
/// ```
///
/// Because `ts` enters as an instant, `2026-05-01T12:00:00+02:00`, `2026-05-01T10:00:00Z` and
/// `1777629600000` give the same id; so do an absent touchpoint and `"touchpoint":"unknown"`.
public enum DerivedEventID {
    /// The domain tag that starts the hashed bytes.
    public static let domainTag: StaticString = "cjmd.event-id.v1"
    /// The prefix of every derived id; client ids may use any other form.
    public static let prefix = "d-"

    /// The derived id of an event with these identifying fields.
    public static func make(customerID: String, event: String, time: EventTime, touchpoint: String) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: domainTag.utf8Start, count: domainTag.utf8CodeUnitCount))
        appendField(customerID, to: &hasher)
        appendField(event, to: &hasher)
        withUnsafeBytes(of: time.microseconds.bigEndian) { hasher.update(bufferPointer: $0) }
        appendField(touchpoint, to: &hasher)
        let digest = hasher.finalize()

        let hexDigits: StaticString = "0123456789abcdef"
        return digest.withUnsafeBytes { hash in
            String(unsafeUninitializedCapacity: 34) { out in
                out[0] = UInt8(ascii: "d")
                out[1] = UInt8(ascii: "-")
                let hex = hexDigits.utf8Start
                for i in 0..<16 {
                    out[2 + 2 * i] = hex[Int(hash[i] >> 4)]
                    out[3 + 2 * i] = hex[Int(hash[i] & 0x0F)]
                }
                return 34
            }
        }
    }

    private static func appendField(_ value: String, to hasher: inout SHA256) {
        var value = value
        value.withUTF8 { bytes in
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
        }
    }
}
