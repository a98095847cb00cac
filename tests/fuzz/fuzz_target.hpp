#pragma once

// One fuzz target: the libFuzzer entry point plus its seed inputs. Built two ways:
//  - with fuzz_driver.cpp (any compiler): a bounded, seeded mutation run, part of ctest and
//    of the sanitizer build;
//  - with clang's libFuzzer for open-ended runs: see docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <source_location>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

// Valid and near-valid inputs the mutations start from.
std::vector<std::string> fuzz_seeds();
// Tokens worth splicing into inputs (JSON punctuation, field names, SSE framing...).
std::vector<std::string> fuzz_dictionary();

// A property every input must keep: when it does not, the run stops here (the fuzzer then
// reports the input), naming the check.
inline void require(bool condition, std::source_location where = std::source_location::current()) {
  if (condition) return;
  std::fprintf(stderr, "%s:%u: fuzz check failed\n", where.file_name(),
               static_cast<unsigned>(where.line()));
  std::abort();
}
