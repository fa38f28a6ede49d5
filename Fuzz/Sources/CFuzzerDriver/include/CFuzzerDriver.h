#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (in the libFuzzer that `-sanitize=fuzzer` links). SwiftPM links every
/// executable with `main` aliased to `<Module>_main`, so libFuzzer's own `main` is never used:
/// each fuzz target's main.swift calls this with its test function instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test)(const uint8_t *data, size_t size));
