/// Hides passwords before text reaches a log.
///
/// Database settings are libpq conninfo strings or URLs, and operators paste them into
/// configuration and error messages; a journal is readable by more people than the database.
public enum Redaction {
    /// What a hidden secret is replaced with.
    public static let mask = "***"

    /// True for metadata keys whose whole value is a secret: any key containing "password",
    /// ignoring case (`password`, `db_password`, `PGPASSWORD`).
    public static func isSensitiveKey(_ key: String) -> Bool {
        containsPasswordKeyword(Array(key.utf8))
    }

    /// `text` with every password in it replaced by ``mask``:
    /// - keyword/value form: `password=secret`, `password = 'it\'s secret'` → `password=***`
    ///   (quoted values are masked whole; any keyword ending in "password", e.g. `PGPASSWORD=`);
    /// - URL user info: `postgresql://user:secret@host/db` → `postgresql://user:***@host/db`
    ///   (any scheme, so webhook URLs with credentials are covered too);
    /// - URL query: `postgresql:///db?password=secret&sslmode=require` → `…?password=***&sslmode=require`.
    ///
    /// Text without "password" or "://" is returned unchanged without copying.
    public static func conninfo(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard containsPasswordKeyword(bytes) || contains(bytes, schemeSeparator) else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if let end = maskedUserInfo(bytes, at: index, into: &output) {
                index = end
            } else if let end = maskedKeywordValue(bytes, at: index, into: &output) {
                index = end
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let passwordKeyword = Array("password".utf8)
    private static let schemeSeparator = Array("://".utf8)
    private static let maskBytes = Array(mask.utf8)

    /// At `://`: copies the authority with the password after the user name masked.
    /// The authority ends where libpq ends it, at the first `/`, or at white space.
    private static func maskedUserInfo(_ bytes: [UInt8], at start: Int, into output: inout [UInt8]) -> Int? {
        guard matches(bytes, at: start, schemeSeparator, ignoringCase: false) else { return nil }
        let authorityStart = start + schemeSeparator.count
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, bytes[authorityEnd] != UInt8(ascii: "/"), !isSpace(bytes[authorityEnd]) {
            authorityEnd += 1
        }
        output.append(contentsOf: schemeSeparator)
        // The last '@' ends the user info, so a raw '@' inside a password is still masked.
        guard let at = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")),
            let colon = bytes[authorityStart..<at].firstIndex(of: UInt8(ascii: ":"))
        else {
            output.append(contentsOf: bytes[authorityStart..<authorityEnd])
            return authorityEnd
        }
        output.append(contentsOf: bytes[authorityStart...colon])
        output.append(contentsOf: maskBytes)
        output.append(contentsOf: bytes[at..<authorityEnd])
        return authorityEnd
    }

    /// At `password` followed by `=`: copies the keyword and masks its value.
    private static func maskedKeywordValue(_ bytes: [UInt8], at start: Int, into output: inout [UInt8]) -> Int? {
        guard matches(bytes, at: start, passwordKeyword, ignoringCase: true) else { return nil }
        var cursor = start + passwordKeyword.count
        while cursor < bytes.count, isSpace(bytes[cursor]) { cursor += 1 }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "=") else { return nil }
        cursor += 1
        while cursor < bytes.count, isSpace(bytes[cursor]) { cursor += 1 }
        let valueStart = cursor

        // In a URL query the value ends at the next parameter; in conninfo at white space.
        let inQuery = start > 0 && (bytes[start - 1] == UInt8(ascii: "?") || bytes[start - 1] == UInt8(ascii: "&"))
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "'") {
            cursor += 1
            while cursor < bytes.count {
                if bytes[cursor] == UInt8(ascii: "\\") {
                    cursor += 2
                    continue
                }
                cursor += 1
                if bytes[cursor - 1] == UInt8(ascii: "'") { break }
            }
            cursor = min(cursor, bytes.count)
        } else {
            while cursor < bytes.count, !isSpace(bytes[cursor]),
                !(inQuery && (bytes[cursor] == UInt8(ascii: "&") || bytes[cursor] == UInt8(ascii: "#")))
            {
                cursor += 1
            }
        }
        output.append(contentsOf: bytes[start..<valueStart])
        output.append(contentsOf: maskBytes)
        return cursor
    }

    private static func containsPasswordKeyword(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= passwordKeyword.count else { return false }
        for start in 0...bytes.count - passwordKeyword.count
        where matches(bytes, at: start, passwordKeyword, ignoringCase: true) {
            return true
        }
        return false
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for start in 0...bytes.count - needle.count where matches(bytes, at: start, needle, ignoringCase: false) {
            return true
        }
        return false
    }

    private static func matches(_ bytes: [UInt8], at start: Int, _ needle: [UInt8], ignoringCase: Bool) -> Bool {
        guard start + needle.count <= bytes.count else { return false }
        for offset in 0..<needle.count {
            var byte = bytes[start + offset]
            if ignoringCase, byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != needle[offset] { return false }
        }
        return true
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }
}
