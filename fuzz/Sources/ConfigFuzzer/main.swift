import LibFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libFuzzer input is the content of one configuration file. Any violated invariant
/// stops the process with a message, so libFuzzer saves the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
func configFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let violations = ConfigInvariants.violations(of: bytes)
    if let first = violations.first {
        fatalError("configuration invariant violated (\(violations.count) in all): \(first)")
    }
    return 0
}

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, configFuzzerTestOneInput))
