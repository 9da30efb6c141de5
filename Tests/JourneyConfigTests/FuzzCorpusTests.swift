import Foundation
import Testing

/// Replays the configuration fuzzer's committed corpus (`fuzz/corpus/config`, see
/// fuzz/README.md) in the normal suite, without libFuzzer: every input must keep the
/// invariants the fuzzer checks (``ConfigInvariants``).
@Suite("Fuzz corpus: the configuration loader keeps its invariants on every committed input")
struct FuzzCorpusTests {
    static let corpus = FuzzCorpus(named: "config", testFile: #filePath)

    @Test("the corpus is there and not empty")
    func corpusIsPresent() throws {
        let files = try Self.corpus.files()
        #expect(
            files.count >= 20,
            "expected the committed corpus in \(Self.corpus.directory.path), found \(files.count) files")
    }

    @Test("every corpus input keeps the loader's invariants")
    func everyInputKeepsTheInvariants() throws {
        for file in try Self.corpus.files() {
            let violations = ConfigInvariants.violations(of: try Self.corpus.bytes(of: file))
            #expect(violations.isEmpty, "\(file.lastPathComponent): \(violations.joined(separator: "\n"))")
        }
    }
}

/// One of the fuzzers' committed corpora, found from a test file's path: the repository root
/// is two directories above `Tests/<Target>/`.
struct FuzzCorpus {
    let directory: URL

    init(named name: String, testFile: String) {
        let root = URL(fileURLWithPath: testFile).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        directory = root.appendingPathComponent("fuzz/corpus/\(name)", isDirectory: true)
    }

    /// The corpus files, in name order so failures list the same way every run.
    func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func bytes(of file: URL) throws -> [UInt8] {
        Array(try Data(contentsOf: file))
    }
}
