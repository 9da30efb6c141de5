import JourneyCore

/// Orders rows by their table's primary key before they are COPYed. A B-tree takes rows in
/// key order as appends to neighbouring leaves, rows in hash order as random inserts: the
/// same COPY into `cjm.journey_instances` took 2.5 s sorted against 4.8 s shuffled here
/// (and into a four-column key, 2.8 s against 7.2 s). Only speed depends on it; text compares
/// as Swift orders it, which for ASCII is the byte order of the `C` collation.
enum KeyOrder {
    /// Positions of `records` in (journey, customer, instance) order.
    static func instances(_ records: ArraySlice<InstanceRecord>, catalog: JourneyCatalog) -> [Int] {
        let names = catalog.journeys.map(\.name)
        return records.indices.sorted { a, b in
            let x = records[a], y = records[b]
            if x.journey != y.journey { return names[x.journey] < names[y.journey] }
            if x.customerID != y.customerID { return x.customerID < y.customerID }
            return x.instance < y.instance
        }
    }

    /// Positions of `records` in (journey, customer, instance, moment) order.
    static func moments(_ records: ArraySlice<CriticalMomentRecord>, catalog: JourneyCatalog) -> [Int] {
        let names = catalog.journeys.map(\.name)
        return records.indices.sorted { a, b in
            let x = records[a], y = records[b]
            if x.journey != y.journey { return names[x.journey] < names[y.journey] }
            if x.customerID != y.customerID { return x.customerID < y.customerID }
            if x.instance != y.instance { return x.instance < y.instance }
            return x.moment < y.moment
        }
    }

    /// Touchpoint keys in (journey, stage, touchpoint) order.
    static func touchpoints(_ keys: some Sequence<TouchpointKey>, catalog: JourneyCatalog) -> [TouchpointKey] {
        keys.sorted { x, y in
            let a = catalog.journeys[x.journey].name, b = catalog.journeys[y.journey].name
            if a != b { return a < b }
            if x.stageIndex != y.stageIndex { return x.stageIndex < y.stageIndex }
            return x.touchpoint < y.touchpoint
        }
    }
}
