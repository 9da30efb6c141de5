import Testing

/// One kind of mistake: a configuration with exactly that mistake and where it must be
/// reported. The expected line comes from `marker`, a piece of text on the offending line.
struct ProblemCase: Sendable, CustomTestStringConvertible {
    let label: String
    let yaml: String
    let keyPath: String
    let marker: String
    /// Pieces the message must contain (what is wrong and what to write instead).
    let messageContains: [String]

    var testDescription: String { label }

    /// `section` appended after the valid journeys.
    static func withJourneys(
        _ label: String, _ section: String, keyPath: String, marker: String,
        _ messageContains: String...
    ) -> ProblemCase {
        ProblemCase(
            label: label, yaml: minimalJourneys + "\n" + section, keyPath: keyPath, marker: marker,
            messageContains: messageContains)
    }

    /// A journey whose second stage carries `stageLine` (indented for a stage key).
    static func inSecondStage(_ label: String, _ stageLine: String, key: String, _ messageContains: String...)
        -> ProblemCase
    {
        let yaml = """
            journeys:
              - name: purchase
                stages:
                  - name: browse
                    events: [product_view]
                  - name: pay
                    events: [payment_done]
                    \(stageLine)
                  - name: repeat
                    events: [repeat_purchase]
            """
        return ProblemCase(
            label: label, yaml: yaml, keyPath: "journeys[0].stages[1].\(key)", marker: stageLine,
            messageContains: messageContains)
    }

    /// A journey whose second stage has `events: <eventsValue>`.
    static func secondStageEvents(
        _ label: String, _ eventsValue: String, key: String,
        _ messageContains: String...
    ) -> ProblemCase {
        let yaml = """
            journeys:
              - name: purchase
                stages:
                  - name: browse
                    events: [product_view]
                  - name: pay
                    events: \(eventsValue)
            """
        return ProblemCase(
            label: label, yaml: yaml, keyPath: "journeys[0].stages[1].\(key)",
            marker: "events: \(eventsValue)", messageContains: messageContains)
    }

    /// A single source with the given body lines (each indented under `- `).
    static func source(
        _ label: String, _ lines: [String], keyPath: String, marker: String,
        _ messageContains: String...
    ) -> ProblemCase {
        var section = "sources:\n"
        for (index, line) in lines.enumerated() {
            let prefix = index == 0 ? "  - " : (line.hasPrefix("- ") ? "  " : "    ")
            section += prefix + line + "\n"
        }
        return ProblemCase(
            label: label, yaml: minimalJourneys + "\n" + section, keyPath: keyPath, marker: marker,
            messageContains: messageContains)
    }
}

/// Every class of mistake the loader must catch, one case each.
let problemCases: [ProblemCase] = [
    // Unknown keys, at every level.
    .withJourneys(
        "unknown top-level key with a suggestion", "ingestt:\n  max_line_bytes: 1024",
        keyPath: "ingestt", marker: "ingestt", "unknown key \"ingestt\"", "did you mean \"ingest\"?"),
    .withJourneys(
        "unknown key without a close match lists the allowed keys", "ingest:\n  colour: blue",
        keyPath: "ingest.colour", marker: "colour", "unknown key \"colour\"", "max_line_bytes", "batch_max_delay"),
    .inSecondStage("unknown stage key", "abandon_afer: 3d", key: "abandon_afer", "did you mean \"abandon_after\"?"),
    .withJourneys(
        "persona path with an empty name", "personas:\n  from: [traits..persona]", keyPath: "personas.from[0]",
        marker: "traits..persona", "not a dotted path"),
    .withJourneys(
        "persona paths as a mapping", "personas:\n  from: { a: b }", keyPath: "personas.from", marker: "from:",
        "expected a list of dotted paths"),
    .withJourneys(
        "too many persona paths", "personas:\n  from: [a, b, c, d, e, f, g, h, i]", keyPath: "personas.from",
        marker: "from:", "at most 8"),
    .withJourneys(
        "default persona that stands for all", "personas:\n  from: [traits.persona]\n  default: \"*\"",
        keyPath: "personas.default", marker: "default:", "not *"),
    .withJourneys(
        "default persona too long",
        "personas:\n  from: [traits.persona]\n  default: \(String(repeating: "x", count: 65))",
        keyPath: "personas.default", marker: "default:", "1 to 64 characters"),
    .withJourneys(
        "by_persona that is no boolean", "alerts:\n  by_persona: yes", keyPath: "alerts.by_persona",
        marker: "by_persona:", "expected true or false"),
    .withJourneys(
        "unknown personas key", "personas:\n  form: [traits.persona]", keyPath: "personas.form", marker: "form:",
        "did you mean \"from\"?"),
    .withJourneys(
        "unknown alerts key", "alerts:\n  min_decide: 10", keyPath: "alerts.min_decide",
        marker: "min_decide", "did you mean \"min_decided\"?"),
    .withJourneys(
        "unknown service key", "service:\n  metrics_address: 127.0.0.1:9464",
        keyPath: "service.metrics_address", marker: "metrics_address", "unknown key", "metrics_listen"),
    .source(
        "key of another source type", ["type: unix", "path: /run/cjmd/e.sock", "listen: 127.0.0.1:1"],
        keyPath: "sources[0].listen", marker: "listen:", "applies to tcp and http sources only", "path, mode"),
    ProblemCase(
        label: "unknown journey key",
        yaml: """
            journeys:
              - name: purchase
                conversion_windw: 30d
                stages:
                  - name: a
                    events: [x]
                  - name: b
                    events: [y]
            """, keyPath: "journeys[0].conversion_windw", marker: "conversion_windw",
        messageContains: ["did you mean \"conversion_window\"?"]),
    ProblemCase(
        label: "unknown critical key",
        yaml: """
            journeys:
              - name: purchase
                stages:
                  - name: a
                    events: [x]
                  - name: b
                    events: [y]
                critical:
                  sentiment_bellow: -0.5
            """, keyPath: "journeys[0].critical.sentiment_bellow", marker: "sentiment_bellow",
        messageContains: ["did you mean \"sentiment_below\"?"]),

    .withJourneys(
        "YAML merge key", "alerts:\n  <<: {z: 1}", keyPath: "alerts.<<", marker: "<<",
        "merge keys (<<) are not supported"),

    // Wrong types.
    .withJourneys(
        "text where a number belongs", "ingest:\n  max_line_bytes: lots",
        keyPath: "ingest.max_line_bytes", marker: "lots", "expected a whole number such as 65536", "\"lots\""),
    .withJourneys(
        "quoted number", "alerts:\n  min_decided: \"50\"", keyPath: "alerts.min_decided",
        marker: "min_decided", "write the number without quotes"),
    .withJourneys(
        "fraction where a whole number belongs", "ingest:\n  batch_max_events: 2.5",
        keyPath: "ingest.batch_max_events", marker: "2.5", "expected a whole number"),
    .withJourneys(
        "list where a section belongs", "ingest: [fast]", keyPath: "ingest", marker: "ingest:",
        "expected the ingest settings", "got a list"),
    .inSecondStage(
        "mapping where a list belongs", "touchpoints: {web: yes}", key: "touchpoints",
        "expected a list of touchpoints", "got a mapping"),
    .inSecondStage(
        "scalar where a list belongs", "touchpoints: web", key: "touchpoints",
        "expected a list of touchpoints (such as [web, mobile, store])", "\"web\""),
    .withJourneys(
        "list where text belongs", "database:\n  url: [a, b]", keyPath: "database.url", marker: "url:",
        "expected a libpq connection string", "got a list"),
    ProblemCase(
        label: "root that is not a mapping", yaml: "- journeys\n- sources\n", keyPath: "",
        marker: "- journeys", messageContains: ["expected a mapping with the sections", "got a list"]),

    // Duplicate names.
    ProblemCase(
        label: "two journeys with one name",
        yaml: """
            journeys:
              - name: purchase
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
              - name: purchase   # again
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[1].name", marker: "# again",
        messageContains: ["\"purchase\" is already used at line 2"]),
    ProblemCase(
        label: "two stages with one name",
        yaml: """
            journeys:
              - name: purchase
                stages:
                  - name: pay
                    events: [x]
                  - name: pay   # again
                    events: [y]
            """, keyPath: "journeys[0].stages[1].name", marker: "# again",
        messageContains: ["the stage name \"pay\" is already used at line 4"]),
    .source(
        "two sources with one name",
        [
            "type: tcp", "name: in", "listen: 127.0.0.1:1", "- type: tcp",
            "name: in   # again", "listen: 127.0.0.1:2",
        ],
        keyPath: "sources[1].name", marker: "# again", "the name \"in\" is already used by the source at line"),
    .source(
        "two identical unnamed sources",
        [
            "type: tcp", "listen: 127.0.0.1:7410", "- type: tcp   # again",
            "listen: 127.0.0.1:7410",
        ],
        keyPath: "sources[1]", marker: "# again", "repeats the one at line", "\"tcp:127.0.0.1:7410\""),

    // Impossible journeys.
    ProblemCase(
        label: "journey with one stage",
        yaml: """
            journeys:
              - name: purchase
                stages:
                  - name: only
                    events: [x]
            """, keyPath: "journeys[0].stages", marker: "stages:",
        messageContains: ["at least two stages", "got 1"]),
    .secondStageEvents(
        "stage with an empty events list", "[]", key: "events",
        "a stage with no events can never be reached"),
    ProblemCase(
        label: "stage without events",
        yaml: """
            journeys:
              - name: purchase
                stages:
                  - name: a
                    events: [x]
                  - name: b   # no events
            """, keyPath: "journeys[0].stages[1].events", marker: "# no events",
        messageContains: ["missing", "list the event names"]),
    ProblemCase(
        label: "empty journey name",
        yaml: """
            journeys:
              - name: ""
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[0].name", marker: "name: \"\"", messageContains: ["must not be empty"]),
    ProblemCase(
        label: "journey without a name",
        yaml: """
            journeys:
              - conversion_window: 7d
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[0].name", marker: "conversion_window",
        messageContains: ["missing", "name: purchase"]),
    .secondStageEvents(
        "empty event pattern", "[ok, \"\"]", key: "events[1]",
        "must not be empty", "an event name or pattern"),
    .secondStageEvents(
        "event pattern over 128 bytes", "[" + String(repeating: "e", count: 129) + "]",
        key: "events[0]", "at most 128 bytes", "this one has 129"),
    .secondStageEvents(
        "event pattern that is a list", "[[a, b]]", key: "events[0]",
        "expected an event name or pattern", "got a list"),
    .secondStageEvents(
        "events as a single word", "payment_done", key: "events",
        "expected a list of event names", "\"payment_done\""),
    .inSecondStage(
        "empty touchpoints list", "touchpoints: []", key: "touchpoints",
        "remove the key to accept every touchpoint"),
    .inSecondStage(
        "target conversion above 1", "target: { step_conversion: 1.5 }", key: "target.step_conversion",
        "1.5 is out of range", "from 0 to 1"),
    .inSecondStage(
        "target conversion as text", "target: { step_conversion: \"0.4\" }", key: "target.step_conversion",
        "write the number without quotes"),
    .inSecondStage(
        "target time that is no duration", "target: { median_time_to_next: soon }",
        key: "target.median_time_to_next", "soon"),
    .inSecondStage(
        "empty target", "target: {}", key: "target", "step_conversion", "median_time_to_next"),
    .inSecondStage(
        "unknown target key", "target: { step_convertion: 0.4 }", key: "target.step_convertion",
        "did you mean \"step_conversion\"?"),
    ProblemCase(
        label: "target on the last stage",
        yaml: """
            journeys:
              - name: purchase
                stages:
                  - name: a
                    events: [x]
                  - name: b
                    events: [y]
                    target: { step_conversion: 0.5 }
            """, keyPath: "journeys[0].stages[1].target", marker: "target",
        messageContains: ["the last stage has no next stage"]),
    ProblemCase(
        label: "abandon_after on the last stage",
        yaml: """
            journeys:
              - name: purchase
                stages:
                  - name: a
                    events: [x]
                  - name: b
                    events: [y]
                    abandon_after: 2d
            """, keyPath: "journeys[0].stages[1].abandon_after", marker: "abandon_after",
        messageContains: ["remove abandon_after"]),
    ProblemCase(
        label: "no journeys key", yaml: "database:\n  url: postgresql:///cjm\n", keyPath: "journeys",
        marker: "database:", messageContains: ["missing", "at least one journey"]),
    ProblemCase(
        label: "empty journeys list", yaml: "journeys: []\n", keyPath: "journeys", marker: "journeys",
        messageContains: ["is empty", "at least one journey"]),
    ProblemCase(
        label: "empty file", yaml: "# nothing here\n", keyPath: "", marker: "# nothing",
        messageContains: ["the file is empty"]),

    // Durations.
    .inSecondStage(
        "duration written in words", "abandon_after: 3 days", key: "abandon_after",
        "expected a duration such as 90s, 15m, 36h or 7d", "got \"3 days\""),
    .inSecondStage(
        "duration without a unit", "abandon_after: 90", key: "abandon_after",
        "has no unit", "write 90s, 90m, 90h or 90d"),
    .inSecondStage("zero abandon_after", "abandon_after: 0s", key: "abandon_after", "must be longer than zero"),
    .inSecondStage("duration too large", "abandon_after: 999999999999d", key: "abandon_after", "too long"),
    ProblemCase(
        label: "zero conversion window",
        yaml: """
            journeys:
              - name: purchase
                conversion_window: 0d
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[0].conversion_window", marker: "conversion_window",
        messageContains: ["must be longer than zero"]),
    ProblemCase(
        label: "zero repeat window",
        yaml: """
            journeys:
              - name: purchase
                repeat_window: 0s
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[0].repeat_window", marker: "repeat_window",
        messageContains: ["must be longer than zero"]),
    ProblemCase(
        label: "repeat window in words",
        yaml: """
            journeys:
              - name: purchase
                repeat_window: a quarter
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[0].repeat_window", marker: "repeat_window",
        messageContains: ["expected a duration such as 90s, 15m, 36h or 7d"]),
    ProblemCase(
        label: "conversion window with no value",
        yaml: """
            journeys:
              - name: purchase
                conversion_window:
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
            """, keyPath: "journeys[0].conversion_window", marker: "conversion_window",
        messageContains: ["expected a duration", "got no value"]),
    .withJourneys(
        "zero batch delay", "ingest:\n  batch_max_delay: 0ms", keyPath: "ingest.batch_max_delay",
        marker: "batch_max_delay", "must be longer than zero"),
    .withJourneys(
        "zero alert window", "alerts:\n  window: 0m", keyPath: "alerts.window", marker: "window",
        "must be longer than zero"),
    .withJourneys(
        "zero alert baseline", "alerts:\n  baseline: 0", keyPath: "alerts.baseline", marker: "baseline",
        "must be longer than zero"),
    .withJourneys(
        "baseline shorter than the window", "alerts:\n  window: 2h\n  baseline: 1h",
        keyPath: "alerts.baseline", marker: "baseline", "shorter than the window (2h)", "at least 2h"),
    .withJourneys(
        "window longer than the default baseline", "alerts:\n  window: 2d",
        keyPath: "alerts.window", marker: "window", "longer than the default baseline (24h)", "at least 2d"),
    .withJourneys(
        "unknown seasonal baseline", "alerts:\n  baseline: same_hour_7x", keyPath: "alerts.baseline",
        marker: "baseline", "not a seasonal baseline", "same_hour_7d"),
    .withJourneys(
        "too many seasonal days", "alerts:\n  baseline: same_hour_29d", keyPath: "alerts.baseline",
        marker: "baseline", "out of range", "N from 1 to 28"),
    .withJourneys(
        "window longer than the season", "alerts:\n  window: 25h\n  baseline: same_hour_7d",
        keyPath: "alerts.window", marker: "window", "longer than a day", "at most 1d"),
    .withJourneys(
        "z and a budget together", "alerts:\n  false_alarms_per_month: 1\n  z: 4", keyPath: "alerts.z",
        marker: "z:", "not both"),
    .withJourneys(
        "a budget of zero", "alerts:\n  false_alarms_per_month: 0", keyPath: "alerts.false_alarms_per_month",
        marker: "false_alarms_per_month", "greater than 0"),

    .withJourneys(
        "retention shorter than a day", "retention:\n  events: 12h", keyPath: "retention.events",
        marker: "events: 12h", "a whole day at a time", "1d or longer"),
    .withJourneys(
        "retention of dead letters of zero", "retention:\n  rejected_events: 0", keyPath: "retention.rejected_events",
        marker: "rejected_events", "must be longer than zero"),
    .withJourneys(
        "retention not longer than the lateness", "ingest:\n  allowed_lateness: 2d\nretention:\n  events: 2d",
        keyPath: "retention.events", marker: "events: 2d", "longer than ingest.allowed_lateness (2d)"),

    // Numbers out of range.
    .withJourneys(
        "max_line_bytes too small", "ingest:\n  max_line_bytes: 255", keyPath: "ingest.max_line_bytes",
        marker: "255", "255 is out of range", "from 256 to 67108864"),
    .withJourneys(
        "max_line_bytes over 64 MiB", "ingest:\n  max_line_bytes: 67108865",
        keyPath: "ingest.max_line_bytes", marker: "67108865", "out of range"),
    .withJourneys(
        "batch of no events", "ingest:\n  batch_max_events: 0", keyPath: "ingest.batch_max_events",
        marker: "batch_max_events", "at least 1 event"),
    .withJourneys("z of zero", "alerts:\n  z: 0", keyPath: "alerts.z", marker: "z:", "greater than 0"),
    .withJourneys("negative z", "alerts:\n  z: -1.5", keyPath: "alerts.z", marker: "z:", "-1.5 is out of range"),
    .withJourneys(
        "min_delta above 1", "alerts:\n  min_delta: 1.5", keyPath: "alerts.min_delta",
        marker: "min_delta", "from 0 to 1"),
    .withJourneys(
        "negative min_delta", "alerts:\n  min_delta: -0.1", keyPath: "alerts.min_delta",
        marker: "min_delta", "from 0 to 1"),
    .withJourneys(
        "min_decided of zero", "alerts:\n  min_decided: 0", keyPath: "alerts.min_decided",
        marker: "min_decided", "at least 1"),
    .withJourneys("infinite z", "alerts:\n  z: .inf", keyPath: "alerts.z", marker: "z:", "expected a number"),
    ProblemCase(
        label: "sentiment_below outside [-1, 1]",
        yaml: """
            journeys:
              - name: purchase
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
                critical:
                  events: [refund]
                  sentiment_below: -2
            """, keyPath: "journeys[0].critical.sentiment_below", marker: "sentiment_below",
        messageContains: ["-2 is out of range", "from -1 to 1"]),

    // Sources.
    .source(
        "http without write keys", ["type: http", "listen: 8088"], keyPath: "sources[0].write_keys",
        marker: "type: http", "missing", "write_keys"),
    .source(
        "http with an empty key list", ["type: http", "listen: 8088", "write_keys: []"],
        keyPath: "sources[0].write_keys", marker: "write_keys", "lists no key"),
    .source(
        "http body limit with an unknown unit",
        ["type: http", "listen: 8088", "write_keys: [k]", "max_body_bytes: 8MiBs"],
        keyPath: "sources[0].max_body_bytes", marker: "max_body_bytes", "unknown unit", "MiB"),
    .source(
        "http body limit too small", ["type: http", "listen: 8088", "write_keys: [k]", "max_body_bytes: 10"],
        keyPath: "sources[0].max_body_bytes", marker: "max_body_bytes", "out of range", "1KiB"),
    .source(
        "listen without a port", ["type: tcp", "listen: localhost"], keyPath: "sources[0].listen",
        marker: "localhost", "expected host:port"),
    .source(
        "port zero", ["type: tcp", "listen: 127.0.0.1:0"], keyPath: "sources[0].listen", marker: "listen",
        "port 0 is out of range", "1 to 65535"),
    .source(
        "port above 65535", ["type: tcp", "listen: 127.0.0.1:70000"], keyPath: "sources[0].listen",
        marker: "listen", "port 70000 is out of range"),
    .source(
        "IPv6 without brackets", ["type: tcp", "listen: \"::1:7410\""], keyPath: "sources[0].listen",
        marker: "listen", "must be in brackets"),
    .source(
        "tcp source without listen", ["type: tcp", "name: web"], keyPath: "sources[0].listen",
        marker: "type: tcp", "missing", "listen: 127.0.0.1:7410"),
    .source(
        "mode not octal", ["type: unix", "path: /run/cjmd/e.sock", "mode: \"0990\""], keyPath: "sources[0].mode",
        marker: "mode", "expected an octal file mode in quotes such as \"0660\"", "\"0990\""),
    .source(
        "mode in words", ["type: unix", "path: /run/cjmd/e.sock", "mode: rw-rw----"], keyPath: "sources[0].mode",
        marker: "mode", "octal file mode"),
    .source(
        "unix path too long", ["type: unix", "path: /run/" + String(repeating: "p", count: 120)],
        keyPath: "sources[0].path", marker: "path", "at most 107 bytes"),
    .source(
        "unix source without path", ["type: unix", "mode: \"0600\""], keyPath: "sources[0].path",
        marker: "type: unix", "missing", "path: /run/cjmd/events.sock"),
    .source(
        "start_at neither beginning nor end", ["type: tail", "path: /var/log/x", "start_at: middle"],
        keyPath: "sources[0].start_at", marker: "start_at", "expected beginning or end", "\"middle\""),
    .source(
        "start_at misspelt", ["type: tail", "path: /var/log/x", "start_at: begining"],
        keyPath: "sources[0].start_at", marker: "start_at", "did you mean \"beginning\"?"),
    .source(
        "unknown source type", ["type: tpc", "listen: 127.0.0.1:7410"], keyPath: "sources[0].type",
        marker: "tpc", "unknown source type \"tpc\"", "did you mean \"tcp\"?"),
    .source(
        "source without a type", ["path: /var/log/x"], keyPath: "sources[0].type", marker: "path:",
        "missing", "type: unix, type: tcp, type: tail, type: http or type: jetstream"),
    // The bus (docs/scaling.md).
    .source(
        "jetstream source without servers", ["type: jetstream", "partitions: 16"], keyPath: "sources[0].servers",
        marker: "type: jetstream", "missing", "servers: [\"nats://127.0.0.1:4222\"]"),
    .source(
        "jetstream server that is no NATS URL", ["type: jetstream", "servers: [\"http://x:4222\"]", "partitions: 4"],
        keyPath: "sources[0].servers[0]", marker: "http://x", "not a NATS server URL", "nats://host:port"),
    .source(
        "jetstream source without partitions", ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]"],
        keyPath: "sources[0].partitions", marker: "type: jetstream", "missing", "partitions: 16"),
    .source(
        "no partitions", ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 0"],
        keyPath: "sources[0].partitions", marker: "partitions", "out of range", "1 to 1024"),
    .source(
        "owned partition beyond the partitions",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "owned_partitions: \"0-20\""],
        keyPath: "sources[0].owned_partitions", marker: "owned_partitions", "partition 20 does not exist", "0 to 15"),
    .source(
        "owned partitions in words",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "owned_partitions: some"],
        keyPath: "sources[0].owned_partitions", marker: "owned_partitions", "expected all, none", "\"0-7\""),
    .source(
        "seven replicas",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "replicas: 7"],
        keyPath: "sources[0].replicas", marker: "replicas", "out of range", "1 to 5 replicas"),
    .source(
        "a stream setting of NATS 2.10",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "compression: s2"],
        keyPath: "sources[0].compression", marker: "compression", "nats-server 2.10 and later",
        "2.9 (Debian 12's) drops settings it does not know"),
    .source(
        "a consumer setting of NATS 2.10",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "filter_subjects: [a, b]"],
        keyPath: "sources[0].filter_subjects", marker: "filter_subjects", "nats-server 2.10 and later"),
    .source(
        "idle time that is no duration",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "idle_after: soon"],
        keyPath: "sources[0].idle_after", marker: "idle_after", "soon"),
    .source(
        "stream name with a dot",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "stream: CJM.X"],
        keyPath: "sources[0].stream", marker: "stream: CJM.X", "cannot name streams"),
    .source(
        "subject prefix with a wildcard",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "subject: \"cjm.*\""],
        keyPath: "sources[0].subject", marker: "subject", "not a subject prefix", "without wildcards"),
    .source(
        "forward_to names no jetstream source", ["type: unix", "path: /run/cjmd/e.sock", "forward_to: bus"],
        keyPath: "sources[0].forward_to", marker: "forward_to", "no jetstream source is named \"bus\"",
        "add one (type: jetstream)"),
    .source(
        "a jetstream source that forwards",
        ["type: jetstream", "servers: [\"nats://127.0.0.1:4222\"]", "partitions: 16", "forward_to: bus"],
        keyPath: "sources[0].forward_to", marker: "forward_to", "applies to unix and tcp and tail and http sources only"
    ),
    .source(
        "empty source name", ["type: tcp", "name: \"\"", "listen: 127.0.0.1:1"], keyPath: "sources[0].name",
        marker: "name: \"\"", "must not be empty"),

    // Alerts, database, service.
    .withJourneys(
        "webhook with another scheme", "alerts:\n  webhook: ftp://example.com/alerts",
        keyPath: "alerts.webhook", marker: "webhook", "\"ftp\" is not supported", "http(s) URL"),
    .withJourneys(
        "webhook that is not a URL", "alerts:\n  webhook: alertmanager", keyPath: "alerts.webhook",
        marker: "webhook", "expected an http(s) URL"),
    .withJourneys(
        "empty database URL", "database:\n  url: \"\"", keyPath: "database.url", marker: "url:",
        "must not be empty", "postgresql:///cjm"),
    .withJourneys(
        "metrics address without a port", "service:\n  metrics_listen: 127.0.0.1",
        keyPath: "service.metrics_listen", marker: "metrics_listen", "expected host:port", "write off"),

    // YAML syntax.
    ProblemCase(
        label: "YAML syntax error",
        yaml: """
            journeys:
              - name: purchase
                stages: [{name: a, events: [x]}, {name: b, events: [y]}
            alerts:
              z: 3
            """, keyPath: "", marker: "alerts:", messageContains: ["invalid YAML", "check the indentation"]),
    ProblemCase(
        label: "tab indentation", yaml: "journeys:\n\t- name: purchase\n", keyPath: "",
        marker: "\t- name", messageContains: ["invalid YAML"]),
    ProblemCase(
        label: "two documents", yaml: "journeys: []\n---\njourneys: []\n", keyPath: "", marker: "---",
        messageContains: ["invalid YAML", "single document"]),
]
