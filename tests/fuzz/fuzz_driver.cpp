// A bounded mutation fuzzer for the targets' LLVMFuzzerTestOneInput: every seed, then
// `iterations` inputs mutated from seeds with a seeded PRNG (reproducible: the failing
// iteration and seed are printed before each input runs when FUZZ_VERBOSE is set).
// usage: fuzz_<target> [iterations] [seed]    (defaults: FUZZ_ITERATIONS or 20000, seed 1)
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "fuzz_target.hpp"

namespace {

std::size_t pick(std::mt19937_64& rng, std::size_t bound) {
  return bound == 0 ? 0 : rng() % bound;
}

void mutate_once(std::string& s, std::mt19937_64& rng, const std::vector<std::string>& dict,
                 const std::vector<std::string>& seeds) {
  switch (rng() % 8) {
    case 0:
      if (!s.empty()) s[pick(rng, s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:
      s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(rng, s.size() + 1)),
               static_cast<char>(rng() & 0xff));
      break;
    case 2:
      if (!s.empty()) {
        const std::size_t at = pick(rng, s.size());
        s.erase(at, 1 + pick(rng, std::min<std::size_t>(16, s.size() - at)));
      }
      break;
    case 3:
      if (!dict.empty()) s.insert(pick(rng, s.size() + 1), dict[pick(rng, dict.size())]);
      break;
    case 4:
      if (!s.empty()) {
        const std::size_t at = pick(rng, s.size());
        const std::string piece = s.substr(at, 1 + pick(rng, 64));
        s.insert(pick(rng, s.size() + 1), piece);
      }
      break;
    case 5:
      s.resize(pick(rng, s.size() + 1));
      break;
    case 6: {  // crossover with another seed
      const std::string& other = seeds[pick(rng, seeds.size())];
      s = s.substr(0, pick(rng, s.size() + 1)) + other.substr(pick(rng, other.size() + 1));
      break;
    }
    default:  // a multi-byte UTF-8 or an invalid sequence
      static const char* const kBytes[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                           "\xff",     "\xc0\x80",     "\xed\xa0\x80",
                                           "\\u0000",  "\\ud83d"};
      s.insert(pick(rng, s.size() + 1), kBytes[pick(rng, 8)]);
  }
}

int run(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("FUZZ_ITERATIONS");
  const long iterations = argc > 1 ? std::atol(argv[1]) : env ? std::atol(env) : 20000;
  const unsigned long seed = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1;
  const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  const auto seeds = fuzz_seeds();
  const auto dict = fuzz_dictionary();
  for (const auto& s : seeds) run(s);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < iterations; ++i) {
    std::string input = seeds[pick(rng, seeds.size())];
    const int mutations = 1 + static_cast<int>(rng() % 6);
    for (int m = 0; m < mutations; ++m) mutate_once(input, rng, dict, seeds);
    if (verbose)
      std::fprintf(stderr, "iteration %ld (seed %lu): %zu bytes\n", i, seed, input.size());
    run(input);
  }
  std::printf("%zu seeds + %ld mutated inputs, no failure\n", seeds.size(), iterations);
  return 0;
}
