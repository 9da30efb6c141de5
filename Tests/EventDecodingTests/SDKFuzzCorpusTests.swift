import Foundation
import Testing

/// Replays the SDK body fuzzer's committed corpus (`fuzz/corpus/sdk`) in the normal suite:
/// every input keeps the invariants the fuzzer checks (``SDKPayloadInvariants``).
@Suite("Fuzz corpus: the SDK body decoder keeps its invariants on every committed input")
struct SDKFuzzCorpusTests {
    static let corpus = FuzzCorpus(named: "sdk", testFile: #filePath)

    @Test("the corpus is there and not empty")
    func corpusIsPresent() throws {
        #expect(try Self.corpus.files().count >= 9)
    }

    @Test("every corpus input keeps the SDK body decoder's invariants")
    func everyInputKeepsTheInvariants() throws {
        for file in try Self.corpus.files() {
            let violations = SDKPayloadInvariants.violations(of: try Self.corpus.bytes(of: file))
            #expect(violations.isEmpty, "\(file.lastPathComponent): \(violations.joined(separator: "\n"))")
        }
    }
}
