#pragma once

// One fuzz target: the libFuzzer entry point plus its seed inputs. Built two ways:
//  - with fuzz_driver.cpp (any compiler): a bounded, seeded mutation run, part of ctest and
//    of the sanitizer build;
//  - with clang's libFuzzer for open-ended runs: see docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

// Valid and near-valid inputs the mutations start from.
std::vector<std::string> fuzz_seeds();
// Tokens worth splicing into inputs (JSON punctuation, field names, SSE framing...).
std::vector<std::string> fuzz_dictionary();
