import Foundation
import JourneyConfig
import Testing

@Suite("Reading configuration files")
struct LoadingTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("cjmd-config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func missingFileIsItsOwnError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("absent.yaml").path
        #expect(throws: ConfigurationError.fileNotFound(path: path)) {
            try ConfigurationLoader.load(path: path)
        }
        #expect(ConfigurationError.fileNotFound(path: path).exitCode == 66)
        #expect(ConfigurationError.invalid([]).exitCode == 78)
    }

    @Test func directoryIsUnreadable() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try ConfigurationLoader.load(path: directory.path)
            Issue.record("a directory loaded as a configuration")
        } catch {
            guard case .unreadable(let path, _) = error else {
                Issue.record("expected .unreadable, got \(error)")
                return
            }
            #expect(path == directory.path)
        }
    }

    @Test func invalidContentNamesTheFilePath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("cjmd.yaml")
        let yaml = minimalJourneys + "\nalerts:\n  z: zero\n"
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigurationLoader.load(path: file.path)
            Issue.record("invalid content loaded")
        } catch {
            #expect(error.problems.map(\.file) == [file.path])
            #expect(error.problems.map(\.line) == [line(of: "z: zero", in: yaml)])
            #expect(error.exitCode == 78)
        }
    }

    @Test func invalidUTF8IsReportedWhereItIs() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("latin1.yaml")
        var bytes = Array("journeys:\n  - name: caf".utf8)
        bytes.append(0xE9)  // "é" in Latin-1
        bytes += Array("\n".utf8)
        try Data(bytes).write(to: file)
        do {
            _ = try ConfigurationLoader.load(path: file.path)
            Issue.record("invalid UTF-8 loaded")
        } catch {
            #expect(error.problems.map(\.line) == [2])
            #expect(error.problems.map(\.column) == [column(of: "caf", in: "  - name: caf") + 3])
            #expect(error.problems.first?.message.contains("UTF-8") == true)
        }
    }

    @Test func validFileLoads() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ok.yaml")
        try minimalJourneys.write(to: file, atomically: true, encoding: .utf8)
        #expect(try ConfigurationLoader.load(path: file.path).journeys.map(\.name) == ["signup"])
    }
}
