// swift-tools-version:6.0
// The load generator of the cjmd benchmark (bench/run). Its own package, so that building it
// never touches the daemon's build directory; Foundation and Glibc only.
import PackageDescription

let package = Package(
    name: "cjmd-loadgen",
    targets: [
        .executableTarget(
            name: "cjmd-loadgen",
            path: "Sources/CJMDLoadgen"
        )
    ],
    swiftLanguageModes: [.v6]
)
