/// The stage each journey maps one event to, or none: matched once per event
/// (``JourneyCatalog/stageMap(for:)``) and carried with it, so the store writes it to
/// `cjm.events.stages` and the engine applies the event by it without matching again.
///
/// Up to 8 journeys of up to 255 stages fit in one word (8 bits a journey: 0 for none,
/// stage + 1 otherwise), so carrying a map allocates nothing; larger configurations keep an
/// array.
public struct StageMap: Hashable, Sendable {
    private var packed: UInt64 = 0
    private var spilled: [Int?]?

    static let packedJourneys = 8
    static let packedStages = 255

    /// A map of `stages`, one entry per journey.
    public init(_ stages: [Int?]) {
        if stages.count <= Self.packedJourneys, stages.allSatisfy({ ($0 ?? 0) < Self.packedStages }) {
            for (journey, stage) in stages.enumerated() {
                if let stage { packed |= UInt64(stage + 1) << (8 * journey) }
            }
        } else {
            spilled = stages
        }
    }

    /// The map of `journeys` journeys whose stages `stage` gives, without building an array
    /// when the map fits in one word (the per-event path).
    public init(journeys: Int, stage: (Int) -> Int?) {
        guard journeys <= Self.packedJourneys else {
            self = StageMap((0..<journeys).map(stage))
            return
        }
        for journey in 0..<journeys {
            guard let s = stage(journey) else { continue }
            guard s < Self.packedStages else {
                self = StageMap((0..<journeys).map(stage))
                return
            }
            packed |= UInt64(s + 1) << (8 * journey)
        }
    }

    /// The stage of journey `journey` (nil: the event matches none of its stages).
    @inlinable public subscript(journey: Int) -> Int? {
        stage(journey)
    }

    @usableFromInline func stage(_ journey: Int) -> Int? {
        if let spilled { return journey < spilled.count ? spilled[journey] : nil }
        guard journey < Self.packedJourneys else { return nil }
        let value = Int((packed >> (8 * journey)) & 0xFF)
        return value == 0 ? nil : value - 1
    }

    /// The map as one entry per journey, for `journeys` journeys.
    public func stages(journeys: Int) -> [Int?] {
        (0..<journeys).map { stage($0) }
    }

    /// Whether the event matches a stage of any journey.
    public var isEmpty: Bool { spilled.map { $0.allSatisfy { $0 == nil } } ?? (packed == 0) }
}
