// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the parsers that read untrusted text: the NDJSON line decoder, the
// SDK request-body decoder and the YAML configuration loader. The product's modules are compiled from the same
// sources through relative symlinks (Sources/EventDecoding -> ../../Sources/EventDecoding …),
// so this package fuzzes exactly the code that ships. Build it with `fuzz/run`, which adds
// `-sanitize=fuzzer,address`; without them the executables do not link (LLVMFuzzerRunDriver
// comes from libFuzzer).
let package = Package(
    name: "cjmd-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
    ],
    targets: [
        .target(name: "JourneyCore", dependencies: [.product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "DaemonSettings", dependencies: ["JourneyCore"]),
        .target(
            name: "EventDecoding",
            dependencies: ["JourneyCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "JourneyConfig", dependencies: ["JourneyCore", "DaemonSettings", "Yams"]),
        // Declares libFuzzer's LLVMFuzzerRunDriver, which each fuzzer's main calls.
        .target(name: "LibFuzzerDriver"),
        // LLVMFuzzerTestOneInput over one NDJSON line; invariants in DecodeInvariants.swift,
        // shared with Tests/EventDecodingTests/FuzzCorpusTests.swift through a symlink.
        .executableTarget(
            name: "DecoderFuzzer",
            dependencies: ["EventDecoding", "JourneyCore", "LibFuzzerDriver"]
        ),
        // LLVMFuzzerTestOneInput over one SDK request body (a route byte, then the body);
        // invariants in SDKPayloadInvariants.swift, shared with the EventDecoding tests.
        .executableTarget(
            name: "SDKFuzzer",
            dependencies: ["EventDecoding", "JourneyCore", "LibFuzzerDriver"]
        ),
        // LLVMFuzzerTestOneInput over one configuration file; invariants in
        // ConfigInvariants.swift, shared with Tests/JourneyConfigTests/FuzzCorpusTests.swift.
        .executableTarget(
            name: "ConfigFuzzer",
            dependencies: ["JourneyConfig", "JourneyCore", "DaemonSettings", "LibFuzzerDriver"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
