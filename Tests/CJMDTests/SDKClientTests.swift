import Foundation
import PostgresClient
import Testing

/// The real SDKs from PyPI (segment-analytics-python, rudder-sdk-python with gzip on,
/// posthog in capture mode v0), installed by `scripts/sdk-clients.sh`, send identify, page
/// and track calls for many customers to `cjmd run`: the database then holds exactly one row
/// per call with the customer, name, time and touchpoint the SDK sent, and the funnel
/// counts them.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil
            && ProcessInfo.processInfo.environment["CJM_SDK_PYTHON"] != nil,
        "needs CJM_SDK_PYTHON (scripts/sdk-clients.sh) and the test database"))
struct SDKClientTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("sdk/send_events.py").path

    /// One call as the SDK script reports it.
    struct SentCall: Equatable {
        var id: String
        var customer: String
        var event: String
        var touchpoint: String
        var microseconds: Int64
    }

    /// Runs the script for `sdk`; returns the calls it sent.
    static func send(sdk: String, base: String, key: String, customers: Int) throws -> [SentCall] {
        let sender = try SDKSender(sdk: sdk, base: base, key: key, customers: customers, tag: sdk)
        let output = sender.wait()
        #expect(output.status == 0, "\(sdk) reported errors")
        return output.calls
    }

    /// An ISO 8601 time as Python's isoformat writes it, to the microsecond.
    static func microseconds(_ text: String) -> Int64? {
        var text = text
        var fraction: Int64 = 0
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "+" || $0 == "Z" }) {
            let digits = String(text[text.index(after: dot)..<zone]).padding(toLength: 6, withPad: "0", startingAt: 0)
            fraction = Int64(digits.prefix(6)) ?? 0
            text.removeSubrange(dot..<zone)
        }
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: text) else { return nil }
        return Int64(date.timeIntervalSince1970) * 1_000_000 + fraction
    }

    @Test func everySDKsCallsAreStoredOnceAsSentAndCounted() throws {
        let (daemon, base) = try HTTPSourceTests.daemon(maxBodyBytes: "8MiB")
        defer { _ = daemon.terminate() }
        let customers = 200
        var sent: [SentCall] = []
        for sdk in ["segment", "rudder", "posthog"] {
            let calls = try Self.send(
                sdk: sdk, base: base, key: sdk == "posthog" ? "phc_test" : HTTPSourceTests.key, customers: customers)
            #expect(calls.count == (sdk == "posthog" ? 2 : 3) * customers, "\(sdk) sent \(calls.count) calls")
            sent += calls
        }
        let rows = try daemon.query(
            """
            SELECT event_id, customer_id, event, touchpoint, (extract(epoch FROM ts) * 1000000)::int8
            FROM cjm.events WHERE source = 'sdk'
            """)
        var stored: [String: SentCall] = [:]
        for row in 0..<rows.rowCount {
            let call = SentCall(
                id: rows.string(row: row, column: 0) ?? "", customer: rows.string(row: row, column: 1) ?? "",
                event: rows.string(row: row, column: 2) ?? "", touchpoint: rows.string(row: row, column: 3) ?? "",
                microseconds: try rows.int64(row: row, column: 4) ?? 0)
            #expect(stored[call.id] == nil, "\(call.id) stored twice")
            stored[call.id] = call
        }
        #expect(stored.count == sent.count)
        var mismatches: [String] = []
        for call in sent {
            guard var row = stored[call.id] else {
                mismatches.append("\(call.id) missing")
                continue
            }
            // segment-analytics-python sends its times to the millisecond.
            if abs(row.microseconds - call.microseconds) < 1000 { row.microseconds = call.microseconds }
            if row != call { mismatches.append("sent \(call), stored \(row)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.rejected_events") == 0)
        #expect(
            try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.events WHERE properties ? 'sku'")
                == 3 * customers)

        // Every customer entered the journey and reached the cart, once the watermark passes.
        let deadline = Date().addingTimeInterval(30)
        var reached: [Int] = []
        while Date() < deadline {
            let funnel = try daemon.query("SELECT reached FROM cjm.funnel WHERE journey = 'shop' ORDER BY stage_index")
            reached = (0..<funnel.rowCount).map { Int(funnel.string(row: $0, column: 0) ?? "") ?? -1 }
            if reached.count == 3, reached[1] == 3 * customers { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(reached == [3 * customers, 3 * customers, 0])
        #expect(daemon.terminate() == 0)
    }

    /// `kill -9` of `cjmd run` 20 times while segment-analytics-python and rudder-sdk-python
    /// send (retrying, as they do, after refused connections): every call whose batch got a
    /// 200 is stored, none twice, and nothing the SDKs did not send.
    @Test func killedTwentyTimesWhileTheSDKsSendEveryCallIsStoredOnce() throws {
        let (daemon, base) = try HTTPSourceTests.daemon(maxBodyBytes: "8MiB")
        defer { _ = daemon.terminate() }
        let python = try #require(ProcessInfo.processInfo.environment["CJM_SDK_PYTHON"])
        var senders: [(process: Process, output: Pipe)] = []
        for sdk in ["segment", "rudder"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Self.script, sdk, base, HTTPSourceTests.key, "4000", "k-\(sdk)", "tolerant"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            senders.append((process, output))
        }
        // Read the outputs while the senders run (a full pipe would block them).
        let outputs = LockedTexts(count: senders.count)
        for (index, sender) in senders.enumerated() {
            Thread.detachNewThread {
                outputs.set(
                    index, String(decoding: sender.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            }
        }
        var killsWhileSending = 0
        for _ in 0..<20 {
            Thread.sleep(forTimeInterval: Double.random(in: 0.2...0.6))
            if senders.contains(where: { $0.process.isRunning }) { killsWhileSending += 1 }
            daemon.kill9()
            try daemon.start(waitForListening: true)
        }
        let deadline = Date().addingTimeInterval(300)
        while senders.contains(where: { $0.process.isRunning }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(senders.allSatisfy { !$0.process.isRunning }, "the SDKs did not finish")
        #expect(killsWhileSending >= 5, "only \(killsWhileSending) kills came while the SDKs were sending")
        let read = Date().addingTimeInterval(10)
        while (0..<senders.count).contains(where: { outputs.value($0).isEmpty }), Date() < read {
            Thread.sleep(forTimeInterval: 0.1)
        }

        var sent = Set<String>()
        var acked = Set<String>()
        for index in senders.indices {
            for line in outputs.value(index).split(separator: "\n") {
                let fields = line.split(separator: "\t")
                if fields.first == "ACKED", fields.count == 2 {
                    acked.insert(String(fields[1]))
                } else if fields.count == 5 {
                    sent.insert(String(fields[0]))
                }
            }
        }
        #expect(sent.count == 2 * 3 * 4000)
        let rows = try daemon.query("SELECT event_id, count(*) FROM cjm.events GROUP BY 1")
        var stored = Set<String>()
        var twice = 0
        for row in 0..<rows.rowCount {
            stored.insert(rows.string(row: row, column: 0) ?? "")
            if (try rows.int64(row: row, column: 1) ?? 0) > 1 { twice += 1 }
        }
        #expect(twice == 0)
        #expect(stored.isSubset(of: sent))
        #expect(acked.isSubset(of: sent))
        let missing = acked.subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) calls answered 200 are missing, e.g. \(missing.prefix(3))")
        // The SDKs drop calls when their own queue is full (segment-analytics-python: "queue is
        // full") or when they shut down mid-retry; most still get through.
        #expect(acked.count > sent.count / 2, "only \(acked.count) of \(sent.count) calls got a 200")
        #expect(daemon.terminate() == 0)
    }
}

/// One run of `sdk/send_events.py` in the background: its output is read while it runs (a
/// full pipe would block it) and parsed once it exits.
final class SDKSender {
    let process = Process()
    private let output = LockedTexts(count: 1)
    private let done = DispatchSemaphore(value: 0)

    /// What the script printed (see its usage text).
    struct Output {
        var status: Int32 = -1
        var calls: [SDKClientTests.SentCall] = []
        var failed: [String] = []
        var acked: [String] = []
        /// The first call's id of every request the SDK made, in order.
        var attempts: [String] = []
    }

    init(sdk: String, base: String, key: String, customers: Int, tag: String, mode: String? = nil) throws {
        let python = try #require(ProcessInfo.processInfo.environment["CJM_SDK_PYTHON"])
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [SDKClientTests.script, sdk, base, key, String(customers), tag] + (mode.map { [$0] } ?? [])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.detachNewThread { [output, done] in
            output.set(0, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            done.signal()
        }
    }

    /// Waits for the script to exit (at most `timeout` seconds, then kills it) and parses
    /// what it printed.
    func wait(timeout: TimeInterval = 300) -> Output {
        if done.wait(timeout: .now() + timeout) == .timedOut {
            Issue.record("the SDK script did not finish in \(Int(timeout)) s")
            process.terminate()
            done.wait()
        }
        process.waitUntilExit()
        var parsed = Output(status: process.terminationStatus)
        for line in output.value(0).split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            switch (fields.first, fields.count) {
            case ("FAILED", 2): parsed.failed.append(fields[1])
            case ("ACKED", 2): parsed.acked.append(fields[1])
            case ("ATTEMPT", 2): parsed.attempts.append(fields[1])
            case (_, 5):
                if let time = SDKClientTests.microseconds(fields[4]) {
                    parsed.calls.append(
                        .init(
                            id: fields[0], customer: fields[1], event: fields[2], touchpoint: fields[3],
                            microseconds: time))
                }
            default: break
            }
        }
        return parsed
    }
}

/// Texts written by several threads, read once they are done.
final class LockedTexts: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String]
    init(count: Int) { texts = Array(repeating: "", count: count) }
    func set(_ index: Int, _ text: String) {
        lock.lock()
        texts[index] = text
        lock.unlock()
    }
    func value(_ index: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        return texts[index]
    }
}
