/// Which partition of a partitioned source (a NATS JetStream bus) a customer's events go to:
/// all of a customer's events to one partition, so that one daemon sees them in order.
///
/// The customer id travels as one subject token, `cjm.p.<partition>.<token>`; the partition
/// is FNV-1a (32 bits) of the token's bytes modulo the partition count, the function of
/// nats-server's `{{partition(N,1)}}` subject mapping, so that producers publishing to
/// `cjm.in.<token>` through such a mapping land where cjmd would put them (docs/scaling.md).
public enum CustomerPartition {
    /// The subject token of a customer id: its UTF-8 bytes, with every byte other than an
    /// ASCII letter, digit, `-` or `_` written as `~` and two upper-case hex digits (`.`
    /// separates tokens, `*` and `>` are wildcards, and whitespace ends a subject).
    /// `alice@example.com` is `alice~40example~2Ecom`.
    public static func token(for customerID: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(customerID.utf8.count)
        for byte in customerID.utf8 {
            if isKept(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "~"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The customer id of a token made by ``token(for:)``; nil for text no id gives.
    public static func customerID(ofToken token: String) -> String? {
        var out: [UInt8] = []
        var bytes = token.utf8.makeIterator()
        while let byte = bytes.next() {
            if isKept(byte) {
                out.append(byte)
                continue
            }
            guard byte == UInt8(ascii: "~"), let high = bytes.next().flatMap(hexValue),
                let low = bytes.next().flatMap(hexValue)
            else { return nil }
            let decoded = high << 4 | low
            guard !isKept(decoded) else { return nil }  // one spelling per id
            out.append(decoded)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The partition of a subject token among `partitions` (> 0).
    public static func partition(ofToken token: String, partitions: Int) -> Int {
        precondition(partitions > 0, "a partitioned source has at least one partition")
        return Int(fnv1a32(token.utf8) % UInt32(partitions))
    }

    /// The partition of a customer among `partitions`.
    public static func partition(ofCustomer customerID: String, partitions: Int) -> Int {
        partition(ofToken: token(for: customerID), partitions: partitions)
    }

    /// FNV-1a, 32 bits (Go's `hash/fnv` `New32a`, which nats-server uses).
    static func fnv1a32<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }

    private static func isKept(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
