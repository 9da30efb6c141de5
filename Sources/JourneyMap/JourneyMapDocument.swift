/// Everything one journey map shows (docs/map.md), read from the database's views and
/// drawn by ``JourneyMapRenderer``: the stages left to right and, per stage, the numbers of
/// each lane. Plain values, so that a map can be drawn and tested without a database.
public struct JourneyMapDocument: Sendable, Equatable, Codable {
    /// The journey's name.
    public var journey: String
    /// Whose instances: nil for every customer.
    public var persona: String?
    /// The instances counted: all of them, or those that entered in a period.
    public var period: Period
    /// The engine's watermark (RFC 3339; nil before the first event): numbers are complete
    /// up to it.
    public var watermark: String?
    /// When the map was drawn (RFC 3339).
    public var generatedAt: String
    /// The stages, in journey order.
    public var stages: [Stage]
    /// The stages with a conversion target, most valuable first (`cjm.journey_map`).
    public var opportunities: [Opportunity]
    /// The loop from the last stage back to the first (`cjm.repeat_loop`); nil before any
    /// instance converted.
    public var loop: Loop?

    /// Which instances the numbers count.
    public enum Period: Sendable, Equatable, Codable {
        /// Every instance (`cjm.funnel`).
        case allTime
        /// Instances that entered in [from, to) (`cjm.funnel_between`), as RFC 3339 text.
        case entered(from: String, to: String)
    }

    /// One stage's numbers.
    public struct Stage: Sendable, Equatable, Codable {
        public var name: String
        /// Instances that reached the stage, and distinct customers among them.
        public var reached: Int64
        public var customers: Int64
        /// Share of the stage's instances that reached the next stage (nil: last stage or
        /// nobody here), and of the first stage's that reached this one.
        public var stepConversion: Double?
        public var overallConversion: Double?
        /// The configured target conversion to the next stage, as written (`0.45`).
        public var targetStepConversion: String?
        /// Instances that stopped here, and of those: flagged abandoned, expired, still active.
        public var dropOff: Int64?
        public var abandoned: Int64
        public var expired: Int64
        public var active: Int64
        /// Seconds from reaching this stage to the next, and the target median.
        public var medianTimeToNext: Double?
        public var p90TimeToNext: Double?
        public var targetMedianTimeToNext: Double?
        /// Mean sentiment of the stage's events (−1 … 1; nil: none carried one).
        public var averageSentiment: Double?
        /// Revenue of the stage's events, exact decimal text.
        public var revenue: String
        /// Critical moments at this stage: flagged, and how many of those customers came back.
        public var moments: Int64
        public var recovered: Int64
        /// Moments at this stage with at least one pain point.
        public var painPoints: Int64
        /// The most frequent last steps before customers went silent here.
        public var exits: [Exit]
        /// Customers per touchpoint at this stage, most first.
        public var touchpoints: [Touchpoint]

        public init(
            name: String, reached: Int64 = 0, customers: Int64 = 0, stepConversion: Double? = nil,
            overallConversion: Double? = nil, targetStepConversion: String? = nil, dropOff: Int64? = nil,
            abandoned: Int64 = 0, expired: Int64 = 0, active: Int64 = 0, medianTimeToNext: Double? = nil,
            p90TimeToNext: Double? = nil, targetMedianTimeToNext: Double? = nil, averageSentiment: Double? = nil,
            revenue: String = "0", moments: Int64 = 0, recovered: Int64 = 0, painPoints: Int64 = 0,
            exits: [Exit] = [], touchpoints: [Touchpoint] = []
        ) {
            self.name = name
            self.reached = reached
            self.customers = customers
            self.stepConversion = stepConversion
            self.overallConversion = overallConversion
            self.targetStepConversion = targetStepConversion
            self.dropOff = dropOff
            self.abandoned = abandoned
            self.expired = expired
            self.active = active
            self.medianTimeToNext = medianTimeToNext
            self.p90TimeToNext = p90TimeToNext
            self.targetMedianTimeToNext = targetMedianTimeToNext
            self.averageSentiment = averageSentiment
            self.revenue = revenue
            self.moments = moments
            self.recovered = recovered
            self.painPoints = painPoints
            self.exits = exits
            self.touchpoints = touchpoints
        }
    }

    /// A last step before customers went silent at a stage (`cjm.exit_points`).
    public struct Exit: Sendable, Equatable, Codable {
        public var event: String
        public var touchpoint: String
        public var abandonments: Int64
        /// Of the stage's abandonments.
        public var share: Double

        public init(event: String, touchpoint: String, abandonments: Int64, share: Double) {
            self.event = event
            self.touchpoint = touchpoint
            self.abandonments = abandonments
            self.share = share
        }
    }

    /// A touchpoint's customers and events at a stage (`cjm.touchpoints`).
    public struct Touchpoint: Sendable, Equatable, Codable {
        public var name: String
        public var customers: Int64
        public var events: Int64

        public init(name: String, customers: Int64, events: Int64) {
            self.name = name
            self.customers = customers
            self.events = events
        }
    }

    /// Who came back after converting (`cjm.repeat_loop`, `cjm.repeat_triggers`).
    public struct Loop: Sendable, Equatable, Codable {
        public var converted: Int64
        public var returned: Int64
        public var pending: Int64
        public var didNotReturn: Int64
        /// returned / (converted − pending); nil while nothing is decided.
        public var returnRate: Double?
        /// Seconds from conversion to the next entry, over the returned.
        public var medianTimeToReturn: Double?
        public var p90TimeToReturn: Double?
        /// The journey's repeat window, in seconds.
        public var repeatWindow: Double?
        /// The events that opened returning instances most often.
        public var triggers: [Trigger]

        public init(
            converted: Int64, returned: Int64, pending: Int64, didNotReturn: Int64, returnRate: Double?,
            medianTimeToReturn: Double?, p90TimeToReturn: Double?, repeatWindow: Double?, triggers: [Trigger] = []
        ) {
            self.converted = converted
            self.returned = returned
            self.pending = pending
            self.didNotReturn = didNotReturn
            self.returnRate = returnRate
            self.medianTimeToReturn = medianTimeToReturn
            self.p90TimeToReturn = p90TimeToReturn
            self.repeatWindow = repeatWindow
            self.triggers = triggers
        }
    }

    /// An event that brought customers back: the first of their returning instances.
    public struct Trigger: Sendable, Equatable, Codable {
        public var event: String
        public var touchpoint: String
        public var returns: Int64
        /// Of the journey's returns.
        public var share: Double

        public init(event: String, touchpoint: String, returns: Int64, share: Double) {
            self.event = event
            self.touchpoint = touchpoint
            self.returns = returns
            self.share = share
        }
    }

    /// What meeting a stage's conversion target would bring (`cjm.journey_map`).
    public struct Opportunity: Sendable, Equatable, Codable {
        public var rank: Int
        public var stage: String
        public var missingToTarget: Int64
        /// Exact decimal text; nil while nobody reached the next stage.
        public var revenue: String?

        public init(rank: Int, stage: String, missingToTarget: Int64, revenue: String?) {
            self.rank = rank
            self.stage = stage
            self.missingToTarget = missingToTarget
            self.revenue = revenue
        }
    }

    public init(
        journey: String, persona: String? = nil, period: Period = .allTime, watermark: String?,
        generatedAt: String, stages: [Stage], opportunities: [Opportunity] = [], loop: Loop? = nil
    ) {
        self.loop = loop
        self.journey = journey
        self.persona = persona
        self.period = period
        self.watermark = watermark
        self.generatedAt = generatedAt
        self.stages = stages
        self.opportunities = opportunities
    }
}
