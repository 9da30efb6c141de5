/// The database's schema was migrated by a newer cjmd than this one.
///
/// Downgrading the binary is not supported in place: migrations only go forward, and this
/// binary does not know what the later ones changed.
public struct SchemaNewerThanBinaryError: Error, CustomStringConvertible, Equatable {
    /// The highest version recorded in `cjm.schema_migrations`.
    public let databaseVersion: Int
    /// The highest migration this binary carries.
    public let binaryVersion: Int

    public init(databaseVersion: Int, binaryVersion: Int) {
        self.databaseVersion = databaseVersion
        self.binaryVersion = binaryVersion
    }

    public var description: String {
        "schema cjm is at version \(databaseVersion), but this cjmd knows versions up to \(binaryVersion): "
            + "a newer cjmd migrated this database. Run that newer cjmd (or later), "
            + "or point database.url at another database; nothing was written"
    }
}
