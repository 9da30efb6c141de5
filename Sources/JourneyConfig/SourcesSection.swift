import DaemonSettings
import JourneyCore
import Yams

extension ConfigReader {
    /// The keys each source type takes.
    static let sourceKeysByType: [(type: String, keys: [String])] = [
        ("unix", ["type", "name", "path", "mode", "forward_to"]),
        ("tcp", ["type", "name", "listen", "forward_to"]),
        ("tail", ["type", "name", "path", "start_at", "forward_to"]),
        ("http", ["type", "name", "listen", "write_keys", "max_body_bytes", "forward_to"]),
        (
            "jetstream",
            [
                "type", "name", "servers", "stream", "subject", "partitions", "owned_partitions", "replicas",
                "idle_after",
            ]
        ),
    ]
    static let sourceTypes = sourceKeysByType.map(\.type)
    /// Stream and consumer settings that nats-server 2.9 does not know (it drops them from a
    /// request silently), by the release that brought them: a jetstream source refuses them.
    static let newerNATSSettings: [String: String] = [
        "compression": "2.10", "subject_transform": "2.10", "subject_transforms": "2.10", "first_seq": "2.10",
        "metadata": "2.10", "filter_subjects": "2.10", "consumer_limits": "2.10",
        "allow_msg_ttl": "2.11", "subject_delete_marker_ttl": "2.11",
        "pause_until": "2.11", "priority_groups": "2.11", "priority_policy": "2.11",
    ]
    static let allSourceKeys = [
        "type", "name", "path", "mode", "listen", "start_at", "write_keys", "max_body_bytes", "forward_to", "servers",
        "stream", "subject", "partitions", "owned_partitions", "replicas", "idle_after",
    ]
    /// Bounds of `max_body_bytes`: below 1 KiB no SDK's batch fits; above 1 GiB a few
    /// concurrent requests could exhaust memory.
    static let bodyBytesRange = 1024...(1 << 30)

    /// Longest Unix socket path: `sun_path` holds 108 bytes including the terminating NUL.
    static let maximumSocketPathBytes = 107
    /// systemd's limit on `FileDescriptorName=`, which a source name is matched against.
    static let maximumSourceNameBytes = 255
    /// Mode of a Unix socket when `mode` is left out: owner and group may connect.
    static let defaultSocketMode: UInt32 = 0o660

    func readSources(_ field: Field?) -> [SourceSettings] {
        guard let field, !field.isNull,
            let items = list(field, of: "sources", shape: "one \"- type: ...\" item per source")
        else { return [] }
        var sources: [SourceSettings] = []
        var firstLineByName: [String: Int] = [:]
        var forwardFields: [String: Field] = [:]
        for item in items {
            guard let (source, nameField) = readSource(item) else { continue }
            if source.forwardTo != nil, case .mapping = item.node {
                forwardFields[source.name] = Field(
                    node: Self.peekNode("forward_to", in: item.node)!, path: item.path.appending(key: "forward_to"))
            }
            let line = item.node.mark?.line ?? 1
            if let firstLine = firstLineByName[source.name] {
                if let nameField {
                    report(
                        "the name \(Self.quoted(source.name)) is already used by the source at line \(firstLine); "
                            + "give each source its own name", at: nameField)
                } else {
                    report(
                        "this source repeats the one at line \(firstLine) (both are \(Self.quoted(source.name))); "
                            + "remove one, or give each a distinct name:", at: item)
                }
                continue
            }
            firstLineByName[source.name] = line
            sources.append(source)
        }
        let buses = Set(sources.filter { if case .jetstream = $0.kind { true } else { false } }.map(\.name))
        for source in sources {
            guard let target = source.forwardTo, !buses.contains(target), let field = forwardFields[source.name] else {
                continue
            }
            var message = "no jetstream source is named \(Self.quoted(target))"
            message +=
                buses.isEmpty
                ? "; add one (type: jetstream) for this source to publish its events to"
                : "; the jetstream sources are " + buses.sorted().map(Self.quoted).joined(separator: ", ")
            report(message, at: field)
        }
        return sources
    }

    /// One source and the field of its explicit name, if any; nil when it has problems.
    private func readSource(_ item: Field) -> (SourceSettings, Field?)? {
        let declaredType = Self.peekScalar("type", in: item.node)
        let typeKeys = Self.sourceKeysByType.first { $0.type == declaredType }?.keys
        guard
            let source = mapping(
                item, expecting: "a source as key: value lines starting with type: unix, tcp, tail, http or jetstream",
                knownKeys: typeKeys ?? Self.allSourceKeys,
                misplacedAdvice: { key in
                    if declaredType == "jetstream", let version = Self.newerNATSSettings[key] {
                        return
                            "\(Self.quoted(key)) is a setting of nats-server \(version) and later, which cjmd does not "
                            + "pass on: nats-server 2.9 (Debian 12's) drops settings it does not know without a word, "
                            + "so a stream or consumer would silently run without it. cjmd uses only what 2.9 has; "
                            + "set it on the streams yourself with nats-server \(version) or later (cjmd leaves "
                            + "existing streams as they are, docs/scaling.md)"
                    }
                    guard let typeKeys, let declaredType, Self.allSourceKeys.contains(key) else { return nil }
                    let owners = Self.sourceKeysByType.filter { $0.keys.contains(key) }.map(\.type)
                    return "\(Self.quoted(key)) applies to \(owners.joined(separator: " and ")) sources only; "
                        + "a \(declaredType) source takes " + typeKeys.joined(separator: ", ")
                }
            )
        else { return nil }

        let problemsBefore = problems.count
        let name = text(source["name"], expecting: "a name for the source")
        if let name = name.value, name.utf8.count > Self.maximumSourceNameBytes, let nameField = source["name"] {
            report(
                "a source name can be at most \(Self.maximumSourceNameBytes) bytes "
                    + "(systemd's limit for FileDescriptorName=); shorten it", at: nameField)
        }
        let kind: SourceSettings.Kind?
        switch text(source["type"], expecting: "a source type: unix, tcp, tail, http or jetstream") {
        case .absent:
            reportMissing(
                "type", in: source, advice: "write type: unix, type: tcp, type: tail, type: http or type: jetstream")
            kind = nil
        case .invalid:
            kind = nil
        case .valid(let type):
            switch type {
            case "unix": kind = readUnixSource(source)
            case "tcp": kind = readTCPSource(source)
            case "tail": kind = readTailSource(source)
            case "http": kind = readHTTPSource(source)
            case "jetstream": kind = readJetStreamSource(source)
            default:
                var message = "unknown source type \(Self.quoted(type)); expected unix, tcp, tail, http or jetstream"
                if let suggestion = Suggestion.closest(to: type, among: Self.sourceTypes) {
                    message += " (did you mean \(Self.quoted(suggestion))?)"
                }
                if let typeField = source["type"] { report(message, at: typeField) }
                kind = nil
            }
        }
        let forwardTo = text(source["forward_to"], expecting: "the name of a jetstream source").value
        guard let kind, problems.count == problemsBefore else { return nil }
        return (SourceSettings(kind: kind, name: name.value, forwardTo: forwardTo), source["name"])
    }

    private func readUnixSource(_ source: MappingView) -> SourceSettings.Kind? {
        let expected = "a socket path such as /run/cjmd/events.sock"
        let path = text(source["path"], expecting: expected)
        if case .absent = path {
            reportMissing("path", in: source, advice: "write path: /run/cjmd/events.sock")
        }
        if let pathText = path.value, pathText.utf8.count > Self.maximumSocketPathBytes, let field = source["path"] {
            report(
                "a Unix socket path can be at most \(Self.maximumSocketPathBytes) bytes, this one has "
                    + "\(pathText.utf8.count); choose a shorter one such as /run/cjmd/events.sock", at: field)
            return nil
        }
        var mode = Self.defaultSocketMode
        if let modeField = source["mode"],
            let modeText = text(modeField, expecting: "an octal mode such as \"0660\"").value
        {
            switch ValueFormats.fileMode(modeText) {
            case .success(let parsed): mode = parsed
            case .failure(let error):
                report(error.message, at: modeField)
                return nil
            }
        }
        guard let pathText = path.value else { return nil }
        return .unix(path: pathText, mode: mode)
    }

    private func readTCPSource(_ source: MappingView) -> SourceSettings.Kind? {
        switch text(source["listen"], expecting: "host:port such as 127.0.0.1:7410") {
        case .absent:
            reportMissing("listen", in: source, advice: "write listen: 127.0.0.1:7410 (host:port)")
            return nil
        case .invalid:
            return nil
        case .valid(let address):
            switch ValueFormats.listenAddress(address) {
            case .success(let parsed): return .tcp(host: parsed.host, port: parsed.port)
            case .failure(let error):
                if let field = source["listen"] { report(error.message, at: field) }
                return nil
            }
        }
    }

    private func readHTTPSource(_ source: MappingView) -> SourceSettings.Kind? {
        var address: (host: String, port: Int)?
        switch text(source["listen"], expecting: "host:port such as 127.0.0.1:8088") {
        case .absent:
            reportMissing("listen", in: source, advice: "write listen: 127.0.0.1:8088 (host:port)")
        case .invalid:
            break
        case .valid(let text):
            switch ValueFormats.listenAddress(text) {
            case .success(let parsed): address = parsed
            case .failure(let error): if let field = source["listen"] { report(error.message, at: field) }
            }
        }
        var keys: Set<String>?
        if let field = source["write_keys"] {
            if let items = list(field, of: "write keys", shape: "write_keys: [\"wk_live_1\"]") {
                var read: Set<String> = []
                for item in items {
                    if let key = text(item, expecting: "a write key (text)").value { read.insert(key) }
                }
                if items.isEmpty {
                    report(
                        "lists no key, so no SDK could send anything; write at least one, e.g. write_keys: [\"wk_live_1\"]",
                        at: field)
                } else {
                    keys = read
                }
            }
        } else {
            reportMissing(
                "write_keys", in: source,
                advice: "write write_keys: [\"wk_live_1\"] (the SDKs' write keys or PostHog API keys to accept)")
        }
        var maxBodyBytes = HTTPSourceSettings.defaultMaxBodyBytes
        if let field = source["max_body_bytes"],
            let sizeText = text(field, expecting: "a size such as 8MiB").value
        {
            switch ValueFormats.byteSize(sizeText) {
            case .success(let bytes) where Self.bodyBytesRange.contains(bytes): maxBodyBytes = bytes
            case .success:
                report("\(Self.quoted(sizeText)) is out of range; choose from 1KiB to 1GiB", at: field)
            case .failure(let error): report(error.message, at: field)
            }
        }
        guard let address, let keys, !keys.isEmpty else { return nil }
        return .http(
            HTTPSourceSettings(host: address.host, port: address.port, writeKeys: keys, maxBodyBytes: maxBodyBytes))
    }

    private func readTailSource(_ source: MappingView) -> SourceSettings.Kind? {
        let path = text(source["path"], expecting: "a file path or glob such as /var/log/shop/*.ndjson")
        if case .absent = path {
            reportMissing("path", in: source, advice: "write path: /var/log/shop/events.ndjson (a glob is allowed)")
        }
        var startAtBeginning = false
        if let field = source["start_at"], let startAt = text(field, expecting: "beginning or end").value {
            switch startAt {
            case "beginning": startAtBeginning = true
            case "end": startAtBeginning = false
            default:
                var message = "expected beginning or end, got \(Self.quoted(startAt))"
                if let suggestion = Suggestion.closest(to: startAt, among: ["beginning", "end"]) {
                    message += "; did you mean \(Self.quoted(suggestion))?"
                }
                report(message, at: field)
                return nil
            }
        }
        guard let pathText = path.value else { return nil }
        return .tail(path: pathText, startAtBeginning: startAtBeginning)
    }

    /// The node under `key` when `node` is a mapping.
    static func peekNode(_ key: String, in node: Node) -> Node? {
        guard case .mapping(let mapping) = node else { return nil }
        for (keyNode, value) in mapping {
            if case .scalar(let keyScalar) = keyNode, keyScalar.string == key { return value }
        }
        return nil
    }

    /// The text of a scalar under `key` when `node` is a mapping, read before the mapping is
    /// validated because the source type decides which keys are valid.
    static func peekScalar(_ key: String, in node: Node) -> String? {
        guard case .mapping(let mapping) = node else { return nil }
        for (keyNode, value) in mapping {
            if case .scalar(let keyScalar) = keyNode, keyScalar.string == key,
                case .scalar(let valueScalar) = value
            {
                return valueScalar.string
            }
        }
        return nil
    }
}
