import SystemdSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("WATCHDOG_USEC / WATCHDOG_PID")
struct WatchdogSettingsTests {
    @Test("WatchdogSec=30s without WATCHDOG_PID: 30 s timeout, ping every 15 s")
    func timeoutWithoutPID() throws {
        let settings = try #require(
            try WatchdogSettings.fromEnvironment(["WATCHDOG_USEC": "30000000"], processID: 4242))
        #expect(settings.timeout == .seconds(30))
        #expect(settings.pingInterval == .seconds(15))
    }

    @Test("WATCHDOG_PID equal to this process applies the watchdog")
    func matchingPID() throws {
        let environment = ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": String(getpid())]
        let settings = try WatchdogSettings.fromEnvironment(environment)
        #expect(settings?.timeoutMicroseconds == 3_000_000)
        #expect(settings?.pingInterval == .milliseconds(1500))
    }

    @Test("WATCHDOG_PID of another process means no watchdog for this one")
    func otherPID() throws {
        let environment = ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": String(getpid() + 1)]
        #expect(try WatchdogSettings.fromEnvironment(environment) == nil)
    }

    @Test("no WATCHDOG_USEC means no watchdog")
    func absent() throws {
        #expect(try WatchdogSettings.fromEnvironment([:]) == nil)
        #expect(try WatchdogSettings.fromEnvironment(["WATCHDOG_PID": String(getpid())]) == nil)
    }

    @Test(
        "unusable values are typed errors",
        arguments: [
            (["WATCHDOG_USEC": "abc"], WatchdogSettingsError.invalidTimeout("abc")),
            (["WATCHDOG_USEC": "0"], WatchdogSettingsError.invalidTimeout("0")),
            (["WATCHDOG_USEC": "-5"], WatchdogSettingsError.invalidTimeout("-5")),
            (["WATCHDOG_USEC": "18446744073709551615"], WatchdogSettingsError.invalidTimeout("18446744073709551615")),
            (["WATCHDOG_USEC": "1000", "WATCHDOG_PID": "self"], WatchdogSettingsError.invalidProcessID("self")),
        ])
    func invalidValues(environment: [String: String], expected: WatchdogSettingsError) {
        #expect(throws: expected) { try WatchdogSettings.fromEnvironment(environment) }
    }

    @Test("sendPings sends WATCHDOG=1 repeatedly until cancelled, and skips pings while unhealthy")
    func sendPingsUntilCancelled() async throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])
        let settings = WatchdogSettings(timeoutMicroseconds: 40_000)

        let pinger = Task { await settings.sendPings(through: notifier) }
        #expect(await receiver.receiveAsync() == "WATCHDOG=1")
        #expect(await receiver.receiveAsync() == "WATCHDOG=1")
        pinger.cancel()
        await pinger.value
        _ = receiver.drain()
        try await Task.sleep(for: .milliseconds(100))
        #expect(receiver.drain().isEmpty)

        let unhealthy = Task { await settings.sendPings(through: notifier, isHealthy: { false }) }
        try await Task.sleep(for: .milliseconds(100))
        unhealthy.cancel()
        await unhealthy.value
        #expect(receiver.drain().isEmpty)
    }
}
