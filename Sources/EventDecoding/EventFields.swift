#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every place on the wire an event field may come from (docs/events.md), aliases and nested paths
/// included.
enum WireField: Int, CaseIterable {
    case customerID, userID, userIdCamel, anonymousID, anonymousIdCamel
    case event
    case ts, timestamp
    case eventID, messageIdCamel, messageID
    case touchpoint, channel, contextChannel
    case journey
    case sentiment, propertiesSentiment
    case revenue, propertiesRevenue, propertiesAmount
    case properties
    case context, traits

    /// The name as written in the line (nested fields as `parent.child`), used in details.
    var wireName: String {
        switch self {
        case .customerID: "customer_id"
        case .userID: "user_id"
        case .userIdCamel: "userId"
        case .anonymousID: "anonymous_id"
        case .anonymousIdCamel: "anonymousId"
        case .event: "event"
        case .ts: "ts"
        case .timestamp: "timestamp"
        case .eventID: "event_id"
        case .messageIdCamel: "messageId"
        case .messageID: "message_id"
        case .touchpoint: "touchpoint"
        case .channel: "channel"
        case .contextChannel: "context.channel"
        case .journey: "journey"
        case .sentiment: "sentiment"
        case .propertiesSentiment: "properties.sentiment"
        case .revenue: "revenue"
        case .propertiesRevenue: "properties.revenue"
        case .propertiesAmount: "properties.amount"
        case .properties: "properties"
        case .context: "context"
        case .traits: "traits"
        }
    }
}

/// A field of an event, with the wire names it may come from.
enum EventField {
    case customerID, event, ts, eventID, touchpoint, journey, sentiment, revenue, properties, context, traits

    /// Wire names in precedence order: the first present, non-null one wins.
    var aliases: [WireField] {
        switch self {
        case .customerID: [.customerID, .userID, .userIdCamel, .anonymousID, .anonymousIdCamel]
        case .event: [.event]
        case .ts: [.ts, .timestamp]
        case .eventID: [.eventID, .messageIdCamel, .messageID]
        case .touchpoint: [.touchpoint, .channel, .contextChannel]
        case .journey: [.journey]
        case .sentiment: [.sentiment, .propertiesSentiment]
        case .revenue: [.revenue, .propertiesRevenue, .propertiesAmount]
        case .properties: [.properties]
        case .context: [.context]
        case .traits: [.traits]
        }
    }
}

/// A top-level member name the decoder cares about.
enum TopLevelKey {
    case field(WireField)
    /// `context`: kept whole, and its `channel` member is a touchpoint alias.
    case context
}

/// The values found for each ``WireField`` while scanning a line. A later duplicate key
/// overwrites an earlier one, as in PostgreSQL `jsonb`.
struct FieldSlots {
    // One stored property per field, so reading a slot copies one token, not all of them.
    private var customerID: JSONToken?
    private var userID: JSONToken?
    private var userIdCamel: JSONToken?
    private var anonymousID: JSONToken?
    private var anonymousIdCamel: JSONToken?
    private var event: JSONToken?
    private var ts: JSONToken?
    private var timestamp: JSONToken?
    private var eventID: JSONToken?
    private var messageIdCamel: JSONToken?
    private var messageID: JSONToken?
    private var touchpoint: JSONToken?
    private var channel: JSONToken?
    private var contextChannel: JSONToken?
    private var journey: JSONToken?
    private var sentiment: JSONToken?
    private var propertiesSentiment: JSONToken?
    private var revenue: JSONToken?
    private var propertiesRevenue: JSONToken?
    private var propertiesAmount: JSONToken?
    private var properties: JSONToken?
    private var context: JSONToken?
    private var traits: JSONToken?

    subscript(field: WireField) -> JSONToken? {
        get {
            switch field {
            case .customerID: customerID
            case .userID: userID
            case .userIdCamel: userIdCamel
            case .anonymousID: anonymousID
            case .anonymousIdCamel: anonymousIdCamel
            case .event: event
            case .ts: ts
            case .timestamp: timestamp
            case .eventID: eventID
            case .messageIdCamel: messageIdCamel
            case .messageID: messageID
            case .touchpoint: touchpoint
            case .channel: channel
            case .contextChannel: contextChannel
            case .journey: journey
            case .sentiment: sentiment
            case .propertiesSentiment: propertiesSentiment
            case .revenue: revenue
            case .propertiesRevenue: propertiesRevenue
            case .propertiesAmount: propertiesAmount
            case .properties: properties
            case .context: context
            case .traits: traits
            }
        }
        set {
            switch field {
            case .customerID: customerID = newValue
            case .userID: userID = newValue
            case .userIdCamel: userIdCamel = newValue
            case .anonymousID: anonymousID = newValue
            case .anonymousIdCamel: anonymousIdCamel = newValue
            case .event: event = newValue
            case .ts: ts = newValue
            case .timestamp: timestamp = newValue
            case .eventID: eventID = newValue
            case .messageIdCamel: messageIdCamel = newValue
            case .messageID: messageID = newValue
            case .touchpoint: touchpoint = newValue
            case .channel: channel = newValue
            case .contextChannel: contextChannel = newValue
            case .journey: journey = newValue
            case .sentiment: sentiment = newValue
            case .propertiesSentiment: propertiesSentiment = newValue
            case .revenue: revenue = newValue
            case .propertiesRevenue: propertiesRevenue = newValue
            case .propertiesAmount: propertiesAmount = newValue
            case .properties: properties = newValue
            case .context: context = newValue
            case .traits: traits = newValue
            }
        }
    }

    /// The first alias of `field` with a non-null value, in precedence order. Spelled out per
    /// field (no alias arrays) because it runs for every field of every line.
    func firstPresent(_ field: EventField) -> (field: WireField, token: JSONToken)? {
        switch field {
        case .customerID:
            Self.present(.customerID, customerID) ?? Self.present(.userID, userID) ?? Self.present(
                .userIdCamel, userIdCamel)
                ?? Self.present(.anonymousID, anonymousID) ?? Self.present(.anonymousIdCamel, anonymousIdCamel)
        case .event: Self.present(.event, event)
        case .ts: Self.present(.ts, ts) ?? Self.present(.timestamp, timestamp)
        case .eventID:
            Self.present(.eventID, eventID) ?? Self.present(.messageIdCamel, messageIdCamel)
                ?? Self.present(.messageID, messageID)
        case .touchpoint:
            Self.present(.touchpoint, touchpoint) ?? Self.present(.channel, channel)
                ?? Self.present(.contextChannel, contextChannel)
        case .journey: Self.present(.journey, journey)
        case .sentiment: Self.present(.sentiment, sentiment) ?? Self.present(.propertiesSentiment, propertiesSentiment)
        case .revenue:
            Self.present(.revenue, revenue) ?? Self.present(.propertiesRevenue, propertiesRevenue)
                ?? Self.present(.propertiesAmount, propertiesAmount)
        case .properties: Self.present(.properties, properties)
        case .context: Self.present(.context, context)
        case .traits: Self.present(.traits, traits)
        }
    }

    @inline(__always)
    private static func present(_ field: WireField, _ token: JSONToken?) -> (field: WireField, token: JSONToken)? {
        guard let token, token.kind != .null else { return nil }
        return (field, token)
    }
}

/// Member-name matching without building Strings: names are compared as raw bytes.
enum KeyMatcher {
    @inline(__always)
    static func equals(_ key: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard key.count == literal.utf8CodeUnitCount, let start = key.baseAddress else { return false }
        return memcmp(start, literal.utf8Start, key.count) == 0
    }

    static func topLevel(_ key: UnsafeRawBufferPointer) -> TopLevelKey? {
        switch key.count {
        case 2: return equals(key, "ts") ? .field(.ts) : nil
        case 5: return equals(key, "event") ? .field(.event) : nil
        case 6:
            if equals(key, "userId") { return .field(.userIdCamel) }
            if equals(key, "traits") { return .field(.traits) }
            return nil
        case 7:
            if equals(key, "user_id") { return .field(.userID) }
            if equals(key, "channel") { return .field(.channel) }
            if equals(key, "context") { return .context }
            if equals(key, "journey") { return .field(.journey) }
            if equals(key, "revenue") { return .field(.revenue) }
            return nil
        case 8: return equals(key, "event_id") ? .field(.eventID) : nil
        case 9:
            if equals(key, "timestamp") { return .field(.timestamp) }
            if equals(key, "messageId") { return .field(.messageIdCamel) }
            if equals(key, "sentiment") { return .field(.sentiment) }
            return nil
        case 10:
            if equals(key, "properties") { return .field(.properties) }
            if equals(key, "touchpoint") { return .field(.touchpoint) }
            if equals(key, "message_id") { return .field(.messageID) }
            return nil
        case 11:
            if equals(key, "customer_id") { return .field(.customerID) }
            if equals(key, "anonymousId") { return .field(.anonymousIdCamel) }
            return nil
        case 12: return equals(key, "anonymous_id") ? .field(.anonymousID) : nil
        default: return nil
        }
    }

    static func inProperties(_ key: UnsafeRawBufferPointer) -> WireField? {
        if equals(key, "sentiment") { return .propertiesSentiment }
        if equals(key, "revenue") { return .propertiesRevenue }
        if equals(key, "amount") { return .propertiesAmount }
        return nil
    }

    static func inContext(_ key: UnsafeRawBufferPointer) -> WireField? {
        equals(key, "channel") ? .contextChannel : nil
    }
}
