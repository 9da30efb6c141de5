import Crypto
import IngestEnvelope

/// The `N:hex` fingerprint of a file's first bytes (see ``FilePosition/fingerprint``).
///
/// Device and inode alone cannot tell a file from a later one that got the same inode, nor
/// notice that a file's content was replaced in place (copytruncate). The first bytes can.
public enum ContentFingerprint {
    /// How many leading bytes are hashed once the file is that long.
    public static let maximumLength = 1024

    /// The fingerprint of `head`, which must be a file's first `head.count` bytes.
    public static func of(_ head: ArraySlice<UInt8>) -> String {
        let digest = SHA256.hash(data: head)
        var text = "\(head.count):"
        text.reserveCapacity(text.utf8.count + 32)
        for byte in digest.prefix(16) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The fingerprint of a whole `head`.
    public static func of(_ head: [UInt8]) -> String { of(head[...]) }

    /// N of a stored `N:hex` fingerprint; nil if it is malformed.
    static func hashedLength(of fingerprint: String) -> Int? {
        guard let colon = fingerprint.firstIndex(of: ":"),
            let length = Int(fingerprint[..<colon]),
            (0...maximumLength).contains(length)
        else { return nil }
        return length
    }

    /// Whether a file whose first bytes are `head` (up to ``maximumLength`` of them) is the
    /// content `fingerprint` was taken from.
    public static func matches(_ fingerprint: String, head: [UInt8]) -> Bool {
        guard let length = hashedLength(of: fingerprint), length <= head.count else { return false }
        return of(head[..<length]) == fingerprint
    }

    private static let hexDigits: [Character] = Array("0123456789abcdef")
}
