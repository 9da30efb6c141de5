import LibFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libFuzzer input is a route selector byte followed by an SDK request body. Any
/// violated invariant stops the process with a message, so libFuzzer saves the input.
@_cdecl("LLVMFuzzerTestOneInput")
func sdkFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let violations = SDKPayloadInvariants.violations(of: input)
    if let first = violations.first {
        fatalError("SDK body invariant violated (\(violations.count) in all): \(first)")
    }
    return 0
}

var arguments = CommandLine.argc
var argumentValues: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &argumentValues, sdkFuzzerTestOneInput))
