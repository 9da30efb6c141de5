import SystemdSupport
import Testing

@Suite("Redaction of database passwords")
struct RedactionTests {
    @Test(
        "passwords are masked in conninfo and URL forms",
        arguments: [
            ("host=db password=hunter2 dbname=cjm", "host=db password=*** dbname=cjm"),
            ("password = 'it\\'s secret' dbname=cjm", "password = *** dbname=cjm"),
            ("PASSWORD=abc", "PASSWORD=***"),
            ("PGPASSWORD=abc psql", "PGPASSWORD=*** psql"),
            ("postgresql://cjm:s3cret@db:5432/cjm", "postgresql://cjm:***@db:5432/cjm"),
            ("postgres://cjm:p@ss@db/cjm", "postgres://cjm:***@db/cjm"),
            ("postgresql://cjm:a?b#c@db/cjm", "postgresql://cjm:***@db/cjm"),
            (
                "postgresql:///cjm?user=cjm&password=s3cret&sslmode=require",
                "postgresql:///cjm?user=cjm&password=***&sslmode=require"
            ),
            ("http://alert:tok@127.0.0.1:9093/api", "http://alert:***@127.0.0.1:9093/api"),
            ("a postgresql://u:one@h and postgresql://v:two@k", "a postgresql://u:***@h and postgresql://v:***@k"),
        ])
    func masks(input: String, expected: String) {
        #expect(Redaction.conninfo(input) == expected)
    }

    @Test(
        "text without passwords is unchanged",
        arguments: [
            "postgresql:///cjm",
            "postgresql://cjm@db/cjm",
            "host=/run/postgresql dbname=cjm",
            "the password is required",
            "héllo wörld ✓",
            "",
        ])
    func leavesOtherTextAlone(input: String) {
        #expect(Redaction.conninfo(input) == input)
    }

    @Test("sensitive metadata keys are recognised regardless of case")
    func sensitiveKeys() {
        #expect(Redaction.isSensitiveKey("password"))
        #expect(Redaction.isSensitiveKey("DB_Password"))
        #expect(!Redaction.isSensitiveKey("user"))
        #expect(!Redaction.isSensitiveKey("pass"))
    }
}
