/// Where one JSON value lies in the line, found by ``JSONScanner``. Values are located, not
/// converted: only the fields an event needs are turned into Swift values, after the whole line
/// has been checked.
struct JSONToken {
    enum Kind: UInt8 {
        case string, number, object, array, `true`, `false`, null

        /// The kind as a phrase for rejection details: "got a number".
        var phrase: String {
            switch self {
            case .string: "a string"
            case .number: "a number"
            case .object: "an object"
            case .array: "an array"
            case .true: "true"
            case .false: "false"
            case .null: "null"
            }
        }
    }

    var kind: Kind
    /// Byte range in the line. For a string: its content between the quotes, still escaped.
    /// For anything else: the value's whole text.
    var start: Int
    var end: Int
    /// A string with at least one backslash escape (its decoded bytes differ from the raw ones).
    var hasEscapes = false
    /// A number without fraction or exponent.
    var isInteger = false
    /// An object or array that contains a `\u0000` escape somewhere, in a key or a value.
    var containsNUL = false
    /// An object or array that contains a number PostgreSQL's `numeric` cannot hold.
    var containsUnstorableNumber = false

    var count: Int { end - start }
}
