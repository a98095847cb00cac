#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::analyzer {
namespace {

std::vector<std::string> ids_in(const std::string& text) {
  std::vector<std::string> out;
  for (const TextSpan& span : find_record_ids(text)) {
    out.push_back(text.substr(span.begin, span.end - span.begin));
  }
  return out;
}

TEST(RecordIds, OrderPartModelAndVersionNumbersAreFound) {
  EXPECT_EQ(ids_in("Where is invoice INV-2024-00817?"),
            (std::vector<std::string>{"INV-2024-00817"}));
  EXPECT_EQ(ids_in("Is part 7740-A-2291-X the 12V version?"),
            (std::vector<std::string>{"7740-A-2291-X"}));
  EXPECT_EQ(ids_in("What version is v2.14.3 of the app."), (std::vector<std::string>{"v2.14.3"}));
  EXPECT_EQ(ids_in("SKU 88-4471-BLK-XL and RX-7800-2024, please"),
            (std::vector<std::string>{"88-4471-BLK-XL", "RX-7800-2024"}));
}

TEST(RecordIds, NumbersFormulasAndWordsAreNot) {
  for (const char* text : {"It costs $1,299.99 and weighs 2024 kg", "glucose is C6H12O6",
                           "on 2024-01-15 at 10:30", "utf-8 and gpt-4 and x86", "H2O and CO2",
                           "a plain sentence with no digits at all, long enough to skip"}) {
    EXPECT_TRUE(ids_in(text).empty()) << text;
  }
}

}  // namespace
}  // namespace llm_router::analyzer
