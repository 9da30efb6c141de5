/// The command line of `cjmd-loadgen`.
struct Options: Sendable {
    enum Mode: String, Sendable {
        /// Sustained ingest from concurrent clients, with latency probes.
        case live
        /// Opens a given number of journey instances (one stage-0 event per new customer).
        case open
        /// Long steady load over Unix and TCP connections that survives closed connections
        /// (reconnects and re-sends what was not acknowledged) and writes, per connection,
        /// how many of its lines were acknowledged, for a loss check in SQL.
        case soak
    }

    var mode: Mode
    /// The endpoint of `live` and `open`: the last `--socket` or `--tcp` given.
    var endpoint: Endpoint?
    /// `soak` uses both: `connections` over the Unix socket, `tcpConnections` over TCP.
    var unixEndpoint: Endpoint?
    var tcpEndpoint: Endpoint?
    var connections = 8
    var tcpConnections = 0
    var seconds = 30.0
    /// Events per second over all connections; 0: as fast as the daemon acknowledges.
    var rate = 0
    /// The start of a live run left out of the steady rate (the daemon's reorder buffer
    /// fills for `allowed_lateness` before the journey engine has work).
    var warmupSeconds = 10.0
    var ackEvery = 1000
    var maxOutstanding = 8
    var instances = 0
    var idBytes = 36
    var journey = "purchase"
    var vocabulary = JourneyVocabulary.shipped
    var probeConninfo: String?
    var probeInterval = 0.1
    var psql = "psql"
    var tag: String
    /// `soak`: distinct customers per connection, reused round robin (0: a new customer
    /// every time), so the daemon's per-customer state reaches a steady size.
    var customerPopulation = 0
    /// `soak`: where the per-connection acknowledged counts go (rewritten at every progress
    /// line and at the end).
    var ackedFile: String?
    /// `soak`: seconds between progress lines on standard error.
    var progressSeconds = 10.0
    /// `soak`: how long to keep trying to reconnect after the daemon closed a connection,
    /// and how long to wait for an acknowledgement before giving up.
    var stallSeconds = 600.0

    static let usageText = """
        usage: cjmd-loadgen live (--socket PATH | --tcp HOST:PORT) [--connections 8] [--seconds 30]
                              [--rate EVENTS_PER_S] [--warmup-seconds 10]
                              [--ack-every 1000] [--max-outstanding 8] [--probe-conninfo CONNINFO]
                              [--probe-interval-ms 100] [--journey purchase] [--stage-events A,B|C|D]
                              [--psql psql] [--tag TEXT]
               cjmd-loadgen open (--socket PATH | --tcp HOST:PORT) --instances N [--connections 8]
                              [--ack-every 1000] [--max-outstanding 8] [--id-bytes 36]
                              [--stage-events A,B|C|D] [--tag TEXT]
               cjmd-loadgen soak [--socket PATH [--connections 8]] [--tcp HOST:PORT [--tcp-connections 1]]
                              --rate EVENTS_PER_S [--seconds 30] [--ack-every 1000] [--max-outstanding 8]
                              [--customer-population 0] [--acked-file FILE] [--progress-seconds 10]
                              [--stall-seconds 600] [--stage-events A,B|C|D] [--tag TEXT]
        Results go to standard output as key=value lines.
        """

    init(arguments: [String], defaultTag: String) throws(LoadgenError) {
        guard let first = arguments.first, let mode = Mode(rawValue: first) else {
            throw .usage("the first argument must be live or open")
        }
        self.mode = mode
        self.tag = defaultTag
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw .usage("\(flag) needs a value") }
            switch flag {
            case "--socket":
                endpoint = .unix(path: value)
                unixEndpoint = endpoint
            case "--tcp":
                endpoint = try Endpoint.tcp(parsing: value)
                tcpEndpoint = endpoint
            case "--connections": connections = try Self.positive(flag, value)
            case "--tcp-connections": tcpConnections = try Self.positive(flag, value)
            case "--seconds": seconds = Double(try Self.positive(flag, value))
            case "--rate": rate = try Self.positive(flag, value)
            case "--warmup-seconds": warmupSeconds = Double(try Self.positive(flag, value))
            case "--ack-every": ackEvery = try Self.positive(flag, value)
            case "--max-outstanding": maxOutstanding = try Self.positive(flag, value)
            case "--instances": instances = try Self.positive(flag, value)
            case "--id-bytes": idBytes = try Self.positive(flag, value)
            case "--journey": journey = value
            case "--stage-events": vocabulary = try JourneyVocabulary(parsing: value)
            case "--probe-conninfo": probeConninfo = value
            case "--probe-interval-ms": probeInterval = Double(try Self.positive(flag, value)) / 1000
            case "--psql": psql = value
            case "--tag": tag = value
            case "--customer-population": customerPopulation = try Self.positive(flag, value)
            case "--acked-file": ackedFile = value
            case "--progress-seconds": progressSeconds = Double(try Self.positive(flag, value))
            case "--stall-seconds": stallSeconds = Double(try Self.positive(flag, value))
            default: throw .usage("unknown option \(flag)")
            }
        }
        guard endpoint != nil else { throw .usage("give --socket PATH or --tcp HOST:PORT") }
        if mode == .open && instances == 0 { throw .usage("open needs --instances N") }
        if mode == .soak {
            if rate == 0 { throw .usage("soak needs --rate EVENTS_PER_S (a steady, paced load)") }
            if unixEndpoint == nil { connections = 0 }
            if tcpEndpoint == nil { tcpConnections = 0 }
            if tcpEndpoint != nil && tcpConnections == 0 { tcpConnections = 1 }
            let minimum = SyntheticJourneys.minimumPopulation(stages: vocabulary.stageEvents.count)
            if customerPopulation > 0 && customerPopulation < minimum {
                throw .usage("--customer-population \(customerPopulation): at least \(minimum) with \(vocabulary.stageEvents.count) stages, so that a customer never walks twice at once")
            }
        }
        if warmupSeconds >= seconds { warmupSeconds = seconds / 2 }
    }

    private static func positive(_ flag: String, _ value: String) throws(LoadgenError) -> Int {
        guard let number = Int(value), number > 0 else { throw .usage("\(flag) \(value): expected a positive integer") }
        return number
    }
}
