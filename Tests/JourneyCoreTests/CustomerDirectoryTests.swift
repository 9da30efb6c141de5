import JourneyReference
import Testing

@testable import JourneyCore

@Suite("Customer directory")
struct CustomerDirectoryTests {
    /// Random ids of random lengths and scripts, with repeats, against a dictionary: every id
    /// keeps the number it got first, numbers are dense and in order, and each number gives
    /// its id back byte for byte — across many table growths.
    @Test(arguments: 1...5)
    func numbersIdsLikeADictionary(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var directory = CustomerDirectory()
        var model: [String: Int32] = [:]
        var byNumber: [String] = []
        let alphabet: [Character] = ["a", "b", "Z", "0", "-", "é", "ж", "字", "🙂", " ", "\t"]
        for _ in 0..<60_000 {
            let id: String
            if !byNumber.isEmpty, random.next() % 3 == 0 {
                id = byNumber[Int(random.next() % UInt64(byNumber.count))]
            } else {
                let length = Int(random.next() % 40)
                id = String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            }
            let expected = model[id] ?? Int32(byNumber.count)
            if model[id] == nil {
                model[id] = expected
                byNumber.append(id)
            }
            #expect(directory.number(of: id) == expected)
        }
        #expect(directory.count == byNumber.count)
        for (number, id) in byNumber.enumerated() {
            #expect(directory.id(Int32(number)) == id)
            #expect(directory.number(of: id) == Int32(number))
        }
        #expect(directory.count == byNumber.count, "looking up stored ids stores nothing")
        #expect(directory.number(of: "never seen \(seed)") == Int32(byNumber.count))
    }

    /// Ids that share prefixes or differ in one byte, the empty id, and one far longer than
    /// any other stay apart.
    @Test func nearIdsStayApart() {
        var directory = CustomerDirectory()
        let long = String(repeating: "x", count: 100_000)
        let ids = ["", "a", "aa", "ab", "ba", "a\u{0}", "\u{0}a", long, long + "y", "e\u{301}", "é"]
        for (n, id) in ids.enumerated() { #expect(directory.number(of: id) == Int32(n)) }
        for (n, id) in ids.enumerated() {
            #expect(directory.number(of: id) == Int32(n))
            #expect(directory.id(Int32(n)).utf8.elementsEqual(id.utf8))
        }
        #expect(directory.count == ids.count)
    }

    /// The byte comparison behind a lookup: the slots' hash bits let only ids whose hashes
    /// share 32 bits reach it, so lookups alone hardly ever show it a different id. Every
    /// length around its eight-byte steps, with one byte changed at every position, is told
    /// apart; the same bytes (at another address) are equal.
    @Test func byteComparisonFindsEveryDifference() {
        for length in 0...41 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let copy = bytes
            bytes.withUnsafeBytes { a in
                copy.withUnsafeBytes { b in #expect(CustomerDirectory.equalBytes(a, b), "length \(length)") }
            }
            for position in 0..<length {
                for flip: UInt8 in [0x01, 0x80] {
                    var changed = bytes
                    changed[position] ^= flip
                    bytes.withUnsafeBytes { a in
                        changed.withUnsafeBytes { b in
                            #expect(!CustomerDirectory.equalBytes(a, b), "length \(length), byte \(position)")
                        }
                    }
                }
            }
        }
    }

    /// An id cut from a longer line finds the number of the same id stored before.
    @Test func idsFromSlicesFindTheirNumber() {
        var directory = CustomerDirectory()
        let line = "prefix customer-42 suffix"
        let number = directory.number(of: "customer-42")
        let slice = line.split(separator: " ")[1]
        #expect(directory.number(of: String(slice)) == number)
        #expect(directory.count == 1)
    }
}
