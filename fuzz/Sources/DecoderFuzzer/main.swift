import LibFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libFuzzer input is one NDJSON line (without its line ending). Any violated invariant
/// stops the process with a message, so libFuzzer saves the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
func decoderFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let line = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let violations = DecodeInvariants.violations(of: line)
    if let first = violations.first {
        fatalError("decoder invariant violated (\(violations.count) in all): \(first)")
    }
    return 0
}

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, decoderFuzzerTestOneInput))
