/// Builds libpq keyword/value connection strings without injection: every value is quoted,
/// so spaces, quotes and backslashes in paths or passwords cannot start a new keyword.
public enum Conninfo {
    /// Quotes one value for a `key=value` conninfo: `it's` becomes `'it\'s'`.
    public static func quote(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "'" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("'")
        return quoted
    }

    /// Joins keyword/value pairs into a conninfo string, quoting every value:
    /// `Conninfo.make(["host": "/tmp/pg", "dbname": "cjm"])` → `host='/tmp/pg' dbname='cjm'`.
    /// Keywords are libpq's (host, port, user, dbname, password, sslmode, ...).
    public static func make(_ parameters: KeyValuePairs<String, String>) -> String {
        parameters.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }
}
