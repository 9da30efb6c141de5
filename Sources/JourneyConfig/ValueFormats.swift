import Foundation

/// Parsers for the structured strings of the configuration; each returns the value or a
/// message saying what to write instead.
enum ValueFormats {
    /// Where a listener without a host listens.
    static let loopbackHost = "127.0.0.1"

    /// A listening address `host:port`, the host in brackets when it is an IPv6 address
    /// (`[::1]:7410`). The returned host has no brackets. Without a host (`:7410` or `7410`)
    /// it is the IPv4 loopback: listening beyond this machine is always written out.
    static func listenAddress(_ text: String) -> Result<(host: String, port: Int), ValueFormatError> {
        let example = "host:port such as 127.0.0.1:7410, 0.0.0.0:7410 or [::1]:7410"
        var host: Substring
        let portText: Substring
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            host = Substring(loopbackHost)
            portText = Substring(text)
        } else if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(
                    .init(
                        "an IPv6 address needs its closing bracket; expected \(example), got \(ConfigReader.quoted(text))"
                    ))
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                return .failure(.init("expected \(example), got \(ConfigReader.quoted(text))"))
            }
            portText = rest.dropFirst()
            guard host.contains(":"), host.allSatisfy(isIPv6Character) else {
                return .failure(
                    .init(
                        "\(ConfigReader.quoted(String(host))) is not an IPv6 address; "
                            + "brackets are only for IPv6, e.g. [::1]:7410"))
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(.init("expected \(example), got \(ConfigReader.quoted(text))"))
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.init("an IPv6 address must be in brackets, e.g. [\(host)]:\(portText)"))
            }
            if host.isEmpty { host = Substring(loopbackHost) }
            guard host.allSatisfy(isHostNameCharacter) else {
                return .failure(
                    .init("\(ConfigReader.quoted(String(host))) is not a host name or IP address; expected \(example)"))
            }
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText)
        else {
            return .failure(
                .init(
                    "the port must be a number from 1 to 65535; expected \(example), got \(ConfigReader.quoted(text))"))
        }
        guard (1...65535).contains(port) else {
            return .failure(.init("port \(port) is out of range; use a port from 1 to 65535"))
        }
        return .success((String(host), port))
    }

    private static func isIPv6Character(_ character: Character) -> Bool {
        character.isASCII
            && (character.isHexDigit || character == ":" || character == "." || character == "%"
                || character.isLetter || character.isNumber)
    }

    private static func isHostNameCharacter(_ character: Character) -> Bool {
        character.isASCII
            && (character.isLetter || character.isNumber || character == "." || character == "-"
                || character == "_")
    }

    /// A Unix file mode written in octal, `"0660"` or `"660"`, for the permissions bits only.
    /// A size in bytes: a whole number, optionally followed by a unit — `B`, `KiB`, `MiB`,
    /// `GiB` (powers of 1024) or `KB`, `MB`, `GB` (powers of 1000), with or without a space.
    static func byteSize(_ text: String) -> Result<Int, ValueFormatError> {
        let example = "a size such as 8MiB, 512KiB or 1000000"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let multipliers: [String: Int] = [
            "": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "KB": 1000, "MB": 1_000_000,
            "GB": 1_000_000_000,
        ]
        guard !digits.isEmpty, digits.count <= 12, let number = Int(digits) else {
            return .failure(.init("expected \(example), got \(ConfigReader.quoted(text))"))
        }
        guard let multiplier = multipliers[unit] else {
            return .failure(
                .init(
                    "unknown unit \(ConfigReader.quoted(unit)) in \(ConfigReader.quoted(text)); "
                        + "use B, KiB, MiB, GiB, KB, MB or GB"))
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return .failure(.init("\(ConfigReader.quoted(text)) is too large")) }
        return .success(bytes)
    }

    static func fileMode(_ text: String) -> Result<UInt32, ValueFormatError> {
        let digits = text.hasPrefix("0") && text.count == 4 ? text.dropFirst() : Substring(text)
        guard digits.count == 3, digits.allSatisfy({ ("0"..."7").contains($0) }),
            let mode = UInt32(digits, radix: 8)
        else {
            return .failure(
                .init(
                    "expected an octal file mode in quotes such as \"0660\" (owner and group "
                        + "read/write) or \"0666\", got \(ConfigReader.quoted(text))"))
        }
        return .success(mode)
    }

    /// An `http://` or `https://` URL with a host.
    static func webURL(_ text: String) -> Result<String, ValueFormatError> {
        let example = "an http(s) URL such as http://127.0.0.1:9093/api/v2/alerts"
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure(.init("expected \(example), got \(ConfigReader.quoted(text))"))
        }
        guard scheme == "http" || scheme == "https" else {
            return .failure(.init("the scheme \(ConfigReader.quoted(scheme)) is not supported; expected \(example)"))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(.init("the URL has no host; expected \(example)"))
        }
        return .success(text)
    }
}

/// The message of a value that does not have the expected format.
struct ValueFormatError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
