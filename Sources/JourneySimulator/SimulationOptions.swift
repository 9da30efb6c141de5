import JourneyCore

/// How `cjmd simulate` shapes its customers. Every field has a realistic default; the same
/// options and seed always give the same lines.
public struct SimulationOptions: Sendable {
    /// Seed of the generator.
    public var seed: UInt64 = 1
    /// Customers to simulate (each enters one journey, some re-enter after an exit).
    public var customers: Int = 10_000
    /// First customer arrival.
    public var start: EventTime = RFC3339.parse("2026-01-05T00:00:00Z")!
    /// Customers arrive evenly (Poisson) over this span.
    public var duration: TimeSpan = .days(7)
    /// Probability of advancing from stage k to k+1; the last value repeats. Nil: a typical
    /// declining funnel (0.65, 0.5, 0.4, …).
    public var progression: [Double]? = nil
    /// Mean number of extra activity events per stage (beyond the one that reached it).
    public var extraActivity: Double = 1.2
    /// Arrival jitter: each line arrives up to this much after its `ts`. Keep it below the
    /// configured `allowed_lateness` for output that replays with no late events.
    public var disorder: TimeSpan = .zero
    /// Fraction of events sent a second time (same id) shortly after.
    public var duplicates: Double = 0
    /// Fraction of lines replaced by malformed input (each rejection reason in turn).
    public var malformed: Double = 0
    /// Fraction of events sent without `event_id` (cjmd derives the id from the content).
    public var withoutEventID: Double = 0.1
    /// Event ids as version-4 UUIDs in canonical form, as the analytics SDKs send them,
    /// instead of `e<seed>-<n>` (the same lines otherwise; still the same for the same seed).
    public var uuidEventIDs: Bool = false
    /// A drop-off spike: during [start, start + duration) customers at `stage` of `journey`
    /// advance with probability `progression` instead of the normal one.
    public var spike: Spike? = nil
    /// Who the customers are: each customer draws one of these by its share, behaves as it
    /// says, and names it in `traits.persona` on the first event of each instance. Empty: no
    /// personas (and the same lines as before they existed).
    public var personas: [PersonaProfile] = []

    /// A kind of customer and how it behaves.
    public struct PersonaProfile: Sendable, Equatable {
        public var name: String
        /// The share of customers of this kind (shares are normalised over the list).
        public var share: Double
        /// Multiplies the probability of going on to the next stage (capped at 0.95).
        public var progressionFactor: Double
        /// The share of its instances that go badly: lower sentiment, more pain points, less progress.
        public var unhappyRate: Double
        /// After converting, the customer becomes this persona (nil: stays).
        public var becomesAfterConverting: String?
        /// The chance that a customer of this kind who converted comes back for another
        /// instance of the journey, within the journey's repeat window (the repeat loop).
        public var returnsAfterConverting: Double

        public init(
            name: String, share: Double, progressionFactor: Double, unhappyRate: Double,
            becomesAfterConverting: String? = nil, returnsAfterConverting: Double = 0.25
        ) {
            self.returnsAfterConverting = returnsAfterConverting
            self.name = name
            self.share = share
            self.progressionFactor = progressionFactor
            self.unhappyRate = unhappyRate
            self.becomesAfterConverting = becomesAfterConverting
        }
    }

    /// Three kinds of customer that behave visibly differently: loyal ones who go far and come
    /// back most, bargain hunters in the middle, first-timers who give up more and become loyal
    /// once they buy.
    public static let standardPersonas = [
        PersonaProfile(
            name: "loyalist", share: 0.25, progressionFactor: 1.35, unhappyRate: 0.12, returnsAfterConverting: 0.75),
        PersonaProfile(
            name: "bargain_hunter", share: 0.45, progressionFactor: 0.95, unhappyRate: 0.3,
            returnsAfterConverting: 0.35),
        PersonaProfile(
            name: "first_timer", share: 0.3, progressionFactor: 0.7, unhappyRate: 0.45,
            becomesAfterConverting: "loyalist", returnsAfterConverting: 0.5),
    ]

    /// A temporary collapse of one stage's progression, for alert tests and demos.
    public struct Spike: Sendable {
        public var journey: String
        public var stage: String
        public var start: EventTime
        public var duration: TimeSpan
        public var progression: Double
        public init(journey: String, stage: String, start: EventTime, duration: TimeSpan, progression: Double = 0.05) {
            self.journey = journey
            self.stage = stage
            self.start = start
            self.duration = duration
            self.progression = progression
        }
    }

    public init() {}
}
