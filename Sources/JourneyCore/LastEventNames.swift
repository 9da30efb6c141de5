/// The name and touchpoint of every customer's latest applied event, at 4 bytes per customer.
///
/// Instance rows and critical moments name the event and touchpoint after which a customer
/// went quiet, so the engine keeps them per customer; as two strings they were 32 bytes of
/// every customer's state, an eighth of what an open instance costs (figure 3 of
/// `bench/run`). An installation has a few hundred distinct (event, touchpoint) pairs, so a
/// customer holds the number of its pair in a table of them instead.
///
/// The table is bounded: input with ever new names would otherwise grow it for the life of
/// the process. Past ``capacity`` pairs, a customer whose pair is not in the table keeps it
/// beside the table under the customer's number, until its next event's pair is in the table.
struct LastEventNames {
    /// An event's name and touchpoint.
    struct Pair: Hashable {
        var event: String
        var touchpoint: String
    }

    /// The number a customer holds whose pair is kept beside the table.
    static let outsideCode: Int32 = -1
    /// The number of the empty pair (a customer seen by no event yet).
    static let noneCode: Int32 = 0

    /// Pairs the table holds at most.
    let capacity: Int
    private var pairs: [Pair] = [Pair(event: "", touchpoint: "")]
    private var codes: [Pair: Int32] = [Pair(event: "", touchpoint: ""): 0]
    /// Pairs of customers that hold ``outsideCode``, by customer number.
    private var outside: [Int32: Pair] = [:]

    /// A table of at most `capacity` pairs (at least the empty one).
    init(capacity: Int = 1 << 16) { self.capacity = max(capacity, 1) }

    /// Pairs kept beside the table (a gauge of hostile or unusual input, and for tests).
    var outsideCount: Int { outside.count }

    /// The number `customer` holds from now on, whose latest event is `event` at `touchpoint`;
    /// `previous` is the number it held until now.
    mutating func code(event: String, touchpoint: String, customer: Int32, previous: Int32) -> Int32 {
        let pair = Pair(event: event, touchpoint: touchpoint)
        if let code = codes[pair] {
            if previous == Self.outsideCode { outside[customer] = nil }
            return code
        }
        if pairs.count < capacity {
            let code = Int32(pairs.count)
            pairs.append(pair)
            codes[pair] = code
            if previous == Self.outsideCode { outside[customer] = nil }
            return code
        }
        outside[customer] = pair
        return Self.outsideCode
    }

    /// The pair of `customer`, which holds `code`.
    func pair(_ code: Int32, customer: Int32) -> Pair {
        code >= 0 ? pairs[Int(code)] : outside[customer] ?? pairs[0]
    }
}
