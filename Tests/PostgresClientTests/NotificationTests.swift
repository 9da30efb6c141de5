import PostgresClient
import Testing

@Suite("LISTEN/NOTIFY", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct NotificationTests {
    @Test("a notification from another session arrives with its payload")
    func deliversPayload() throws {
        let listener = try TestDatabase.connect()
        let sender = try TestDatabase.connect()
        let channel = TestDatabase.uniqueName("Channel With Spaces \"quoted\"")
        try listener.listen(channel: channel)
        let payload = "hello\twörld 😀 'quoted' \\ \n"
        try sender.notify(channel: channel, payload: payload)

        let notification = try #require(try listener.waitForNotification(timeout: .seconds(5)))
        #expect(notification.channel == channel)
        #expect(notification.payload == payload)
        let senderPid = try sender.execute("SELECT pg_backend_pid()").int64(row: 0, column: 0)
        #expect(Int64(notification.senderProcessID) == senderPid)
    }

    @Test("waiting times out with nil when nothing is sent")
    func timesOut() throws {
        let listener = try TestDatabase.connect()
        try listener.listen(channel: TestDatabase.uniqueName("quiet"))
        let clock = ContinuousClock()
        let start = clock.now
        let notification = try listener.waitForNotification(timeout: .milliseconds(300))
        let elapsed = start.duration(to: clock.now)
        #expect(notification == nil)
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(3))
    }

    @Test("notifications that arrive during other statements are kept in order; unlisten stops them")
    func bufferedNotificationsAndUnlisten() throws {
        let listener = try TestDatabase.connect()
        let sender = try TestDatabase.connect()
        let channel = TestDatabase.uniqueName("buffered")
        try listener.listen(channel: channel)
        try sender.transaction {
            try sender.notify(channel: channel, payload: "first")
            try sender.notify(channel: channel, payload: "second")
        }
        // They arrive while another statement runs; libpq keeps them for later.
        try listener.execute("SELECT pg_sleep(0.2)")
        var payloads: [String] = []
        while let next = try listener.waitForNotification(timeout: .seconds(2)) {
            payloads.append(next.payload)
            if payloads.count == 2 { break }
        }
        #expect(payloads == ["first", "second"])

        try listener.unlisten(channel: channel)
        try sender.notify(channel: channel, payload: "ignored")
        #expect(try listener.waitForNotification(timeout: .milliseconds(200)) == nil)
    }
}
