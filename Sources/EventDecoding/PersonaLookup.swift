import JourneyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the `personas.from` paths found in one event (docs/events.md, Personas).
enum PersonaLookupResult {
    /// No path leads to a value (or only to `null`).
    case absent
    /// The first path with a persona: a string of 1 to 64 characters.
    case persona(String)
    /// A path led to something else (another type, an empty or longer string) and no later
    /// path had a persona: the event is kept, without a persona, and the value counted.
    case ignored
}

extension JSONScanner {
    /// Follows `paths` (each a list of member names) into the object the line is, after a
    /// successful scan of the whole line. Paths whose first name is `properties`, `context` or
    /// `traits` start from the members the event scan located already; any other first name
    /// costs one more pass over the top-level members.
    func lookUpPersona(paths: [[String]], slots: FieldSlots) -> PersonaLookupResult {
        var sawOther = false
        for path in paths {
            guard let head = path.first, var token = topLevelMember(named: head, slots: slots) else { continue }
            var reached = true
            for name in path.dropFirst() {
                guard token.kind == .object, let next = member(named: name, in: token) else {
                    reached = false
                    break
                }
                token = next
            }
            guard reached, token.kind != .null else { continue }
            if let persona = personaValue(token) { return .persona(persona) }
            sawOther = true
        }
        return sawOther ? .ignored : .absent
    }

    private func topLevelMember(named name: String, slots: FieldSlots) -> JSONToken? {
        switch name {
        case "properties": return slots[.properties]
        case "context": return slots[.context]
        case "traits": return slots[.traits]
        default: return member(named: name, in: JSONToken(kind: .object, start: 0, end: count))
        }
    }

    /// The value of member `name` of `object` (the last one of that name, as `jsonb` keeps).
    /// `object` may also be the whole line (leading whitespace allowed).
    private func member(named name: String, in object: JSONToken) -> JSONToken? {
        var scanner = self
        scanner.position = object.start
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "{") else { return nil }
        var found: JSONToken? = nil
        var wanted = name
        wanted.withUTF8 { wantedBytes in
            let wantedRaw = UnsafeRawBufferPointer(wantedBytes)
            // The line was scanned whole already, so this cannot fail; a failure finds nothing.
            _ = try? scanner.scanObject(depth: 1, memberValues: .handOver) {
                (inner: inout JSONScanner, key: JSONToken) throws(JSONSyntaxError) in
                let value = try inner.scanValue(depth: 2)
                let matches = inner.withStringBytes(key) { keyBytes in
                    keyBytes.count == wantedRaw.count
                        && (keyBytes.isEmpty
                            || memcmp(keyBytes.baseAddress!, wantedRaw.baseAddress!, keyBytes.count) == 0)
                }
                if matches { found = value }
            }
        }
        return found
    }

    /// A string of 1 to ``PersonaSettings/maxLength`` characters without NUL, other than
    /// ``PersonaSettings/all`` (`*`, which the views' rows of every persona use); nil otherwise.
    private func personaValue(_ token: JSONToken) -> String? {
        guard token.kind == .string, token.count > 0 else { return nil }
        let bytes = token.hasEscapes ? unescapedBytes(token) : Array(rawBytes(token))
        guard !bytes.contains(0) else { return nil }
        let value = String(decoding: bytes, as: UTF8.self)
        return PersonaSettings.isValid(value) && value != PersonaSettings.all ? value : nil
    }
}
