/// Quoting for SQL identifiers (schema, table, channel names) that cannot be parameters.
public enum PostgresIdentifier {
    /// Wraps a name in double quotes, doubling any double quote inside, so it is read as one
    /// identifier exactly as written (case preserved). A NUL character, which no identifier
    /// can hold, is dropped.
    public static func quote(_ name: String) -> String {
        var quoted = "\""
        for character in name where character != "\0" {
            if character == "\"" { quoted.append("\"") }
            quoted.append(character)
        }
        quoted.append("\"")
        return quoted
    }
}
