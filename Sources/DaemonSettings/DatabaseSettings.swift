/// Where the database is.
public struct DatabaseSettings: Sendable, Equatable {
    /// A libpq connection string or URL; `PG*` environment variables fill in what it omits.
    public var url: String
    public init(url: String = "postgresql:///cjm") { self.url = url }
}
