import Crypto
import JourneyCore

/// The id of an event that came without `event_id` (docs/events.md: derived deterministically from
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
        var customerID = customerID
        var event = event
        var touchpoint = touchpoint
        return customerID.withUTF8 { customer in
            event.withUTF8 { name in
                touchpoint.withUTF8 { channel in
                    hash(
                        customer: UnsafeRawBufferPointer(customer), event: UnsafeRawBufferPointer(name),
                        time: time, touchpoint: UnsafeRawBufferPointer(channel))
                }
            }
        }
    }

    /// Lays the fields out in one stack buffer and hashes it in one call: each `update` of
    /// swift-crypto's incremental hasher costs more than hashing these few bytes.
    private static func hash(
        customer: UnsafeRawBufferPointer, event: UnsafeRawBufferPointer, time: EventTime,
        touchpoint: UnsafeRawBufferPointer
    ) -> String {
        let tagLength = domainTag.utf8CodeUnitCount
        let length = tagLength + 4 + customer.count + 4 + event.count + 8 + 4 + touchpoint.count
        return withUnsafeTemporaryAllocation(byteCount: length, alignment: 8) { message in
            var offset = 0
            func put(_ bytes: UnsafeRawBufferPointer) {
                guard let source = bytes.baseAddress, !bytes.isEmpty, let target = message.baseAddress else { return }
                (target + offset).copyMemory(from: source, byteCount: bytes.count)
                offset += bytes.count
            }
            func putLength(_ bytes: UnsafeRawBufferPointer) {
                withUnsafeBytes(of: UInt32(truncatingIfNeeded: bytes.count).bigEndian) { put($0) }
            }
            put(UnsafeRawBufferPointer(start: domainTag.utf8Start, count: tagLength))
            putLength(customer)
            put(customer)
            putLength(event)
            put(event)
            withUnsafeBytes(of: time.microseconds.bigEndian) { put($0) }
            putLength(touchpoint)
            put(touchpoint)
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(message))
            return hasher.finalize().withUnsafeBytes(format)
        }
    }

    /// `d-` and the hex of the first 16 bytes.
    private static func format(_ hash: UnsafeRawBufferPointer) -> String {
        let hexDigits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 34) { out in
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
