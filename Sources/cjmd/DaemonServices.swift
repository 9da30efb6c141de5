import DaemonSettings
import EventDecoding
import Foundation
import Ingest
import JourneyConfig
import JourneyCore
import JourneyStore
import Logging
import NIOConcurrencyHelpers
import Prometheus
import ServiceLifecycle
import ServiceMetrics
import SystemdSupport
import UnixSignals

/// Shared, thread-safe facts the health check and the watchdog read.
final class DaemonHealth: Sendable {
    private let state = NIOLockedValueBox((databaseUp: true, listening: false))

    func setDatabaseUp(_ up: Bool) { state.withLockedValue { $0.databaseUp = up } }
    func setListening(_ listening: Bool) { state.withLockedValue { $0.listening = listening } }

    var health: ServiceHealth {
        let s = state.withLockedValue { $0 }
        var problems: [String] = []
        if !s.databaseUp { problems.append("database unreachable") }
        if !s.listening { problems.append("sources not listening") }
        return ServiceHealth(problems: problems)
    }
}

/// Feeds commit outcomes into the Prometheus metrics.
enum MetricsObserver {
    static func make(_ metrics: CJMMetrics, health: DaemonHealth) -> PipelineObserver {
        var observer = PipelineObserver()
        observer.onCommit = { batch, outcome, seconds in
            var accepted: [String: Int] = [:]
            var ignoredPersonas: [String: Int] = [:]
            for e in batch.events {
                accepted[e.source, default: 0] += 1
                if e.ignoredPersona { ignoredPersonas[e.source, default: 0] += 1 }
            }
            for (source, n) in accepted { metrics.recordAccepted(source: source, count: n) }
            for (source, n) in ignoredPersonas { metrics.recordIgnoredPersonas(source: source, count: n) }
            var rejected: [String: [RejectionReason: Int]] = [:]
            for r in batch.rejections { rejected[r.source, default: [:]][r.reason, default: 0] += 1 }
            for (source, n) in outcome.behindRetentionBySource { rejected[source, default: [:]][.behindRetention] = n }
            for (source, reasons) in rejected {
                for (reason, n) in reasons { metrics.recordRejected(source: source, reason: reason, count: n) }
            }
            for (source, n) in outcome.duplicatesBySource { metrics.recordDuplicate(source: source, count: n) }
            for (source, n) in outcome.lateBySource { metrics.recordLate(source: source, count: n) }
            if batch.count > 0 { metrics.observeCommit(seconds: seconds, events: batch.count) }
        }
        observer.onForward = { bySource in
            for (source, n) in bySource {
                metrics.recordAccepted(source: source, count: n)
                metrics.recordForwarded(source: source, count: n)
            }
        }
        observer.onState = { state in
            metrics.setWatermark(
                microsecondsSinceEpoch: state.watermark > .distantPast ? state.watermark.microseconds : nil)
            metrics.setReorderBufferDepth(state.reorderBuffer)
            metrics.setBufferDepth(state.queueDepth)
            metrics.setOpenInstances(state.openInstances)
            metrics.setAlertsFiring(state.firingAlerts)
        }
        observer.onStorage = { bytes in metrics.setDatabaseBytes(bytes) }
        observer.onQueue = { depth, full in
            metrics.setBufferDepth(depth)
            metrics.setBackpressure(full)
        }
        observer.onDatabase = { up in
            metrics.setDatabaseUp(up)
            health.setDatabaseUp(up)
        }
        return observer
    }
}

/// Serves /metrics and /healthz until shutdown.
struct MetricsService: Service {
    let server: MetricsHTTPServer

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: {
            Task { await server.shutdown() }
        }
    }
}

/// Tells systemd STOPPING=1 as soon as shutdown begins (it is the last service, so the
/// first one the group shuts down), and the pipeline that it is draining.
struct StoppingNotifier: Service {
    let notifier: SystemdNotifier
    let pipeline: LivePipeline

    func run() async throws {
        try? await gracefulShutdown()
        notifier.stopping(status: "stopping: committing what was accepted")
        // The first to hear of the shutdown: the drain timeout counts from here.
        pipeline.beginDraining()
    }
}

/// WATCHDOG=1 at half of WatchdogSec while the commit loop comes round.
struct WatchdogService: Service {
    let settings: WatchdogSettings
    let notifier: SystemdNotifier
    let pipeline: LivePipeline

    func run() async throws {
        let limit = Double(settings.timeoutMicroseconds) / 1e6
        await cancelWhenGracefulShutdown {
            await settings.sendPings(through: notifier) { pipeline.secondsSinceHeartbeat < limit }
        }
    }
}

/// SIGHUP: re-reads the configuration with RELOADING=1 + MONOTONIC_USEC, applies it — sources
/// added, removed or changed; journeys, ingest limits and the database for the batches that
/// follow — then READY=1. An invalid file is logged problem by problem and the running
/// configuration stays. The metrics address takes a restart to change.
struct ReloadService: Service {
    let configPath: String
    let initial: CJMConfiguration
    let notifier: SystemdNotifier
    let metrics: CJMMetrics?
    let pipeline: LivePipeline
    /// Every kind of source, each applying its part of a new configuration.
    let sourceServices: [any SourceService]
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            var running = initial
            for await _ in signals {
                notifier.reloading(status: "reloading \(configPath)")
                do {
                    let candidate = try ConfigurationLoader.load(path: configPath)
                    if candidate == running {
                        logger.notice("reload: configuration unchanged")
                    } else {
                        if candidate.service != running.service {
                            logger.warning("reload: service.metrics_listen changes take effect at the next restart")
                        }
                        pipeline.reload(candidate)
                        var changes: [String] = []
                        for service in sourceServices { changes += try await service.apply(candidate.sources) }
                        running = candidate
                        logger.notice(
                            "reload: applied",
                            metadata: [
                                "configuration": "\(candidate.logSummary)",
                                "sources": "\(changes.isEmpty ? "unchanged" : changes.joined(separator: ", "))",
                            ])
                    }
                    metrics?.recordReload(.success)
                } catch let error as ConfigurationError {
                    for problem in error.problems { logger.error("reload: \(problem)") }
                    if error.problems.isEmpty { logger.error("reload: \(error)") }
                    logger.error("reload: keeping the running configuration")
                    metrics?.recordReload(.failure)
                } catch {
                    logger.error("reload: \(error); the sources that could be applied are in place")
                    metrics?.recordReload(.failure)
                }
                notifier.ready(status: "running")
            }
        }
    }
}

/// A shard's partitions and alert judge (docs/scaling.md): started with the daemon; at
/// shutdown each partition finishes its batch (committed, acknowledged) and gives its lock up.
struct ShardService: Service {
    let workers: ShardWorkers
    let drainTimeout: Double
    let logger: Logger

    func run() async throws {
        workers.start()
        try? await gracefulShutdown()
        workers.stop()
        let limit = drainTimeout + 10
        let stopped = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: workers.wait(seconds: limit)) }
        }
        if !stopped {
            logger.warning(
                "partitions still committing after \(Int(limit)) s; stopping without them",
                metadata: [
                    "hint": "what they did not commit is not acknowledged on the bus: the next owner processes it"
                ])
        }
    }
}
