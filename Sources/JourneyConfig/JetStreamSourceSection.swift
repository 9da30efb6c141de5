import DaemonSettings
import Foundation
import JourneyCore

extension ConfigReader {
    /// Partitions of a bus at most: each is a stream, a consumer and a lock.
    static let partitionRange = 1...1024
    /// JetStream's replica counts.
    static let replicaRange = 1...5

    func readJetStreamSource(_ source: MappingView) -> SourceSettings.Kind? {
        var servers: [String] = []
        if let field = source["servers"] {
            if let items = list(field, of: "NATS server URLs", shape: "servers: [\"nats://127.0.0.1:4222\"]") {
                for item in items {
                    guard let url = text(item, expecting: "a NATS server URL such as nats://127.0.0.1:4222").value
                    else { continue }
                    if Self.isNATSURL(url) {
                        servers.append(url)
                    } else {
                        report(
                            "\(Self.quoted(url)) is not a NATS server URL; write nats://host:port such as nats://127.0.0.1:4222",
                            at: item)
                    }
                }
                if items.isEmpty {
                    report("lists no server; write at least one, e.g. nats://127.0.0.1:4222", at: field)
                }
            }
        } else {
            reportMissing("servers", in: source, advice: "write servers: [\"nats://127.0.0.1:4222\"]")
        }
        var stream = "CJM"
        if let field = source["stream"], let name = text(field, expecting: "a stream name such as CJM").value {
            if Self.isToken(name), name.utf8.count <= 32 {
                stream = name
            } else {
                report(
                    "\(Self.quoted(name)) cannot name streams; use up to 32 letters, digits, - and _ (e.g. CJM)",
                    at: field)
            }
        }
        var subject = "cjm.p"
        if let field = source["subject"], let text = text(field, expecting: "a subject prefix such as cjm.p").value {
            if text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ Self.isToken(String($0)) }) {
                subject = text
            } else {
                report(
                    "\(Self.quoted(text)) is not a subject prefix; use tokens of letters, digits, - and _ "
                        + "separated by dots, without wildcards (e.g. cjm.p)", at: field)
            }
        }
        let partitions = integer(
            source["partitions"], example: "16", range: Self.partitionRange,
            rangeAdvice: "choose from 1 to 1024, more than the daemons you expect")
        if case .absent = partitions {
            reportMissing(
                "partitions", in: source,
                advice: "write partitions: 16 (fixed for the life of the data; more than the daemons you expect)")
        }
        var owned = PartitionSelection.all
        if let field = source["owned_partitions"],
            let text = text(field, expecting: "all, none, or partitions such as \"0-7\"").value
        {
            switch Self.partitionSelection(text, partitions: partitions.value ?? Self.partitionRange.upperBound) {
            case .success(let selection): owned = selection
            case .failure(let problem): report(problem.message, at: field)
            }
        }
        var replicas = 1
        if let field = source["replicas"] {
            switch integer(
                field, example: "3", range: Self.replicaRange, rangeAdvice: "JetStream keeps 1 to 5 replicas")
            {
            case .valid(let value): replicas = value
            case .absent, .invalid: break
            }
        }
        var idleAfter = JetStreamSourceSettings.defaultIdleAfter
        if let field = source["idle_after"], let value = duration(field, positive: true).value {
            idleAfter = value
        }
        guard !servers.isEmpty, let partitions = partitions.value else { return nil }
        return .jetstream(
            JetStreamSourceSettings(
                servers: servers, stream: stream, subject: subject, partitions: partitions, ownedPartitions: owned,
                replicas: replicas, idleAfter: idleAfter))
    }

    /// `all`, `none`, or a comma list of partitions and ranges (`0-7`, `0,2,4-6`) below `partitions`.
    static func partitionSelection(_ text: String, partitions: Int) -> Result<PartitionSelection, ValueFormatError> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "all" { return .success(.all) }
        if trimmed == "none" { return .success(.none) }
        var selected = Set<Int>()
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            guard (1...2).contains(bounds.count), let low = bounds.first!, let high = bounds.last!, low <= high else {
                return .failure(
                    ValueFormatError(
                        "expected all, none, or partitions and ranges such as \"0-7\" or \"0,2,4-6\", got \(quoted(text))"
                    ))
            }
            guard high < partitions else {
                return .failure(
                    ValueFormatError(
                        "partition \(high) does not exist; the partitions are 0 to \(partitions - 1)"))
            }
            selected.formUnion(low...high)
        }
        return .success(.some(selected.sorted()))
    }

    /// A NATS URL cjm accepts: `nats://host:port` (or `tls://`), as nats.c takes it.
    static func isNATSURL(_ text: String) -> Bool {
        for scheme in ["nats://", "tls://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            return !rest.isEmpty && !rest.contains(where: { $0 == " " || $0 == "/" })
        }
        return false
    }

    /// One subject token (or stream name) of cjm's: letters, digits, `-` and `_`.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
                    || $0 == "_"
            }
    }
}
