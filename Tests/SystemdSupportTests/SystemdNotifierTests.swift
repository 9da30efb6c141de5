import Dispatch
import Foundation
import SystemdSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("sd_notify over a real AF_UNIX datagram socket")
struct SystemdNotifierTests {
    @Test("each convenience message arrives as exactly the datagram sd_notify(3) defines")
    func messagesOnPathSocket() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])
        #expect(notifier.isEnabled)
        #expect(notifier.address == .path(socketPath))

        #expect(notifier.ready(status: "listening on 2 sources") == .sent)
        #expect(receiver.receive() == "READY=1\nSTATUS=listening on 2 sources")
        #expect(notifier.ready() == .sent)
        #expect(receiver.receive() == "READY=1")
        #expect(notifier.status("draining 12 events") == .sent)
        #expect(receiver.receive() == "STATUS=draining 12 events")
        #expect(notifier.watchdog() == .sent)
        #expect(receiver.receive() == "WATCHDOG=1")
        #expect(notifier.stopping() == .sent)
        #expect(receiver.receive() == "STOPPING=1")
        #expect(notifier.notify("EXTEND_TIMEOUT_USEC=5000000") == .sent)
        #expect(receiver.receive() == "EXTEND_TIMEOUT_USEC=5000000")
    }

    @Test("RELOADING=1 carries a CLOCK_MONOTONIC timestamp taken during the call")
    func reloadingCarriesMonotonicTime() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])

        let before = monotonicMicroseconds()
        #expect(notifier.reloading() == .sent)
        let after = monotonicMicroseconds()

        let message = try #require(receiver.receive())
        let lines = message.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.last?.split(separator: "=", maxSplits: 1))
        #expect(stamp.first == "MONOTONIC_USEC")
        let usec = try #require(stamp.last.flatMap { UInt64($0) })
        #expect(before <= usec && usec <= after)
    }

    @Test("an explicit reload timestamp and status are sent as given")
    func reloadingWithExplicitValues() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])
        notifier.reloading(monotonicUsec: 123_456_789, status: "re-reading /etc/cjmd/cjmd.yaml")
        #expect(receiver.receive() == "RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=re-reading /etc/cjmd/cjmd.yaml")
    }

    @Test("a newline in STATUS cannot smuggle in another assignment")
    func statusStaysOneAssignment() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])
        notifier.status("bad\nREADY=1")
        #expect(receiver.receive() == "STATUS=bad READY=1")
    }

    @Test("'@name' addresses reach a socket in the abstract namespace")
    func abstractNamespace() throws {
        let name = uniqueName("cjmd-notify-test")
        let receiver = try DatagramReceiver(name: name, abstract: true)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name])
        #expect(notifier.address == .abstract(name))
        #expect(notifier.ready(status: "ok") == .sent)
        #expect(receiver.receive() == "READY=1\nSTATUS=ok")
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func disabledWithoutSocket() throws {
        let notifier = try SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.ready() == .notConfigured)
        let empty = try SystemdNotifier(environment: ["NOTIFY_SOCKET": ""])
        #expect(!empty.isEnabled)
    }

    @Test("a vanished socket is reported as ENOENT, once, to the debug log, without throwing")
    func missingSocketIsReportedNotThrown() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/gone"
        let messages = MessageCollector()
        let notifier = try SystemdNotifier(
            environment: ["NOTIFY_SOCKET": socketPath], debugLog: { messages.append($0) })
        let outcome = notifier.ready()
        #expect(outcome == .failed(NotifyFailure(errno: ENOENT, socket: socketPath, step: "send")))
        let logged = messages.all
        #expect(logged.count == 1)
        #expect(logged.first?.contains("READY=1") == true)
        #expect(logged.first?.contains(socketPath) == true)
    }

    @Test("a socket nobody reads any more (closed receiver) is ECONNREFUSED, not a crash")
    func closedReceiverIsRefused() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/closed"
        do {
            let receiver = try DatagramReceiver(name: socketPath)
            _ = receiver.fd
        }
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])
        #expect(notifier.watchdog() == .failed(NotifyFailure(errno: ECONNREFUSED, socket: socketPath, step: "send")))
    }

    @Test(
        "addresses sd_notify cannot use are rejected with a typed error",
        arguments: [
            ("relative/notify", NotifySocketError.unsupportedAddress("relative/notify")),
            ("vsock:2:1234", NotifySocketError.unsupportedAddress("vsock:2:1234")),
            ("@", NotifySocketError.unsupportedAddress("@")),
            (
                "/" + String(repeating: "a", count: 107),
                NotifySocketError.addressTooLong("/" + String(repeating: "a", count: 107))
            ),
        ])
    func rejectsUnusableAddresses(value: String, expected: NotifySocketError) {
        #expect(throws: expected) { try SystemdNotifier(environment: ["NOTIFY_SOCKET": value]) }
    }

    @Test("the longest path that fits sockaddr_un (107 bytes + NUL) is accepted")
    func longestPathFits() throws {
        let path = "/" + String(repeating: "a", count: 106)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        #expect(notifier.address == .path(path))
    }

    @Test("many threads notifying at once each deliver one intact datagram")
    func concurrentNotifications() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath])
        let senders = 64
        // The receiver's queue holds only ~10 datagrams, so it must read while the threads send,
        // as systemd does.
        let received = MessageCollector()
        let reading = DispatchSemaphore(value: 0)
        // Dedicated threads, not GCD: on Linux the global queues share their threads with the
        // Swift concurrency pool (as many as cores), which other tests may be occupying.
        Thread.detachNewThread {
            for _ in 0..<senders {
                guard let message = receiver.receive() else { break }
                received.append(message)
            }
            reading.signal()
        }
        let outcomes = MessageCollector()
        let sent = DispatchGroup()
        for index in 0..<senders {
            sent.enter()
            Thread.detachNewThread {
                outcomes.append(notifier.status("thread \(index)") == .sent ? "sent" : "not sent")
                sent.leave()
            }
        }
        sent.wait()
        reading.wait()
        #expect(outcomes.all.filter { $0 == "sent" }.count == senders)
        #expect(Set(received.all) == Set((0..<senders).map { "STATUS=thread \($0)" }))
    }

    @Test("a receiver that stops reading makes a send fail after sendTimeout instead of hanging")
    func fullQueueTimesOut() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        let notifier = try SystemdNotifier(environment: ["NOTIFY_SOCKET": socketPath], sendTimeout: .milliseconds(50))
        var outcome = NotifyOutcome.sent
        var sentBeforeFull = 0
        let started = monotonicMicroseconds()
        while outcome == .sent, sentBeforeFull < 10_000 {
            outcome = notifier.watchdog()
            if outcome == .sent { sentBeforeFull += 1 }
        }
        let elapsed = monotonicMicroseconds() - started
        #expect(outcome == .failed(NotifyFailure(errno: EAGAIN, socket: socketPath, step: "send")))
        #expect(sentBeforeFull > 0)
        #expect(elapsed >= 50_000 && elapsed < 5_000_000)
        #expect(receiver.drain().count == sentBeforeFull)
    }

    @Test("unsetEnvironment removes NOTIFY_SOCKET from the process after reading it")
    func unsetsEnvironment() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/notify"
        let receiver = try DatagramReceiver(name: socketPath)
        setenv("NOTIFY_SOCKET", socketPath, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let notifier = try SystemdNotifier(unsetEnvironment: true)
        #expect(getenv("NOTIFY_SOCKET") == nil)
        #expect(notifier.ready() == .sent)
        #expect(receiver.receive() == "READY=1")
    }
}

/// Collects debug-log sentences from any thread.
final class MessageCollector: @unchecked Sendable {
    // @unchecked: `messages` is only touched with `mutex` held.
    private var messages: [String] = []
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func append(_ message: String) {
        pthread_mutex_lock(mutex)
        messages.append(message)
        pthread_mutex_unlock(mutex)
    }

    var all: [String] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return messages
    }
}
