#ifndef CJMD_FUZZ_LIBFUZZER_DRIVER_H
#define CJMD_FUZZ_LIBFUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): parses libFuzzer's flags
/// from argc/argv and fuzzes `callback`. The fuzz targets call it from their own main,
/// because SwiftPM aliases `main` to `<Module>_main` and so libFuzzer's `main` cannot be used.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
