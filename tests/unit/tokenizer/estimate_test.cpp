#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "encoders.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"

// The estimate against both exact encodings, on kinds of text it was not fit on: each kind
// within a factor of the counts' geometric mean (the encodings themselves differ by up to 3x
// on some scripts).
namespace llm_router::tokenizer {
namespace {

class Estimate : public WithEncoders {
 protected:
  // estimate / sqrt(cl100k * o200k)
  static double ratio(const std::string& text) {
    const double exact = std::sqrt(static_cast<double>(cl100k_->count(text)) *
                                   static_cast<double>(o200k_->count(text)));
    return estimate_tokens(text) / exact;
  }
};

std::string repeated(const std::string& text, int times) {
  std::string out;
  for (int k = 0; k < times; ++k) out += text;
  return out;
}

TEST_F(Estimate, EmptyTextIsNoTokens) {
  EXPECT_EQ(estimate_tokens(""), 0);
}

TEST_F(Estimate, ProseAndCode) {
  EXPECT_NEAR(ratio("Our quarterly report shows revenue grew by eleven percent, driven mostly by "
                    "subscriptions in Europe, while hardware sales declined for a second year. "
                    "Please summarize the three main risks the board should discuss next week."),
              1, 0.3);
  EXPECT_NEAR(ratio("def merge_intervals(intervals):\n"
                    "    intervals.sort(key=lambda item: item[0])\n"
                    "    merged = []\n"
                    "    for start, end in intervals:\n"
                    "        if merged and start <= merged[-1][1]:\n"
                    "            merged[-1][1] = max(merged[-1][1], end)\n"
                    "        else:\n"
                    "            merged.append([start, end])\n"
                    "    return merged\n"),
              1, 0.35);
  EXPECT_NEAR(ratio("const fetchUserProfile = async (userId) => {\n  const response = await "
                    "fetch(`/api/users/${userId}/profile`);\n  if (!response.ok) throw new "
                    "Error(response.statusText);\n  return response.json();\n};\n"),
              1, 0.35);
}

TEST_F(Estimate, DataIsNotCountedAsProse) {
  std::mt19937 rng(7);
  const char* base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string base64, hex, numbers;
  for (int k = 0; k < 2000; ++k) base64 += base64_alphabet[rng() % 64];
  for (int k = 0; k < 1280; ++k) hex += "0123456789abcdef"[rng() % 16];
  for (int k = 0; k < 300; ++k) numbers += std::to_string(rng() % 1000000) + (k % 6 ? ", " : "\n");
  EXPECT_NEAR(ratio(base64), 1, 0.35);
  std::string letters_only;  // a blob without spaces, digits or capitals
  for (int k = 0; k < 4000; ++k) letters_only += static_cast<char>('a' + rng() % 26);
  EXPECT_NEAR(ratio(letters_only), 1, 0.5);
  EXPECT_NEAR(ratio(hex), 1, 0.35);
  EXPECT_NEAR(ratio(numbers), 1, 0.4);
  EXPECT_NEAR(ratio(repeated(R"({"id": 48213, "name": "Maria Lopez", "active": true, )"
                             R"("roles": ["editor", "viewer"], "score": 0.8731}, )",
                             20)),
              1, 0.35);
}

TEST_F(Estimate, OtherScriptsAndEmoji) {
  EXPECT_NEAR(ratio("Объясните, пожалуйста, почему мой отчёт не сохраняется после обновления "
                    "программы и как вернуть вчерашнюю версию файла."),
              1, 0.45);
  EXPECT_NEAR(ratio("Pourriez-vous m'expliquer pourquoi ma facture a augmenté ce mois-ci alors "
                    "que je n'ai rien changé à mon abonnement ?"),
              1, 0.35);
  EXPECT_NEAR(ratio("我的订单已经一周没有更新物流信息了，请帮我查询一下包裹现在在哪里。"), 1, 0.4);
  EXPECT_NEAR(ratio("कृपया मुझे बताइए कि मेरा पासवर्ड कैसे बदलें और खाते को सुरक्षित कैसे रखें।"), 1, 0.5);
  EXPECT_NEAR(ratio("great job team 🎉🎉 we shipped it 🚀 thanks everyone 🙏❤️"), 1,
              0.4);
}

// What a text adds after a line does not depend on where the 8-byte blocks' edges fall: lines
// of 1 to 9 dots in front move them.
TEST_F(Estimate, DoesNotDependOnWhereBlocksStart) {
  for (const std::string text : {"abcdefg X", "abc 123 4", "abcdefg \u00e9t\u00e9", "getUser 7x",
                                 "a  b   c    d", "say: Hello World, 42 times!\nthen STOP.",
                                 "{\n    \"k\": [1, 22],\n  }\n\n", "==== \x01\x02 ----"}) {
    const auto added_after = [&](int dots) {
      const std::string line = std::string(static_cast<std::size_t>(dots), '.') + "\n";
      return estimate_tokens(line + text) - estimate_tokens(line);
    };
    for (int dots = 2; dots < 10; ++dots) {
      EXPECT_NEAR(added_after(dots), added_after(1), 1e-9) << dots << " dots before: " << text;
    }
  }
}

// Indentation, aligned columns and line breaks are tokens too (a run of spaces is one).
TEST_F(Estimate, WhitespaceLaidOutText) {
  EXPECT_NEAR(
      ratio("{\n    \"order\": {\n        \"id\": 81723,\n        \"status\": \"shipped\",\n"
            "        \"lines\": [\n            {\n                \"sku\": \"KB-104\",\n"
            "                \"quantity\": 2,\n                \"unit_price\": 49.5\n"
            "            }\n        ]\n    }\n}\n"),
      1, 0.25);
  EXPECT_NEAR(ratio("total 48\n"
                    "drwxr-xr-x  2 root root  4096 Nov 28 09:14 bin\n"
                    "-rw-r--r--  1 root root   220 Jan  6  2024 .bash_logout\n"
                    "-rwxr-xr-x  1 app  app  18312 Dec  1 17:02 deploy.sh\n"
                    "lrwxrwxrwx  1 root root     7 Mar 14  2025 lib -> usr/lib\n"),
              1, 0.25);
  EXPECT_NEAR(ratio("@@ -12,7 +12,8 @@ def load(path):\n"
                    "     with open(path) as handle:\n"
                    "-        data = json.load(handle)\n"
                    "+        data = json.load(handle, strict=False)\n"
                    "+        validate(data)\n"
                    "     return data\n"),
              1, 0.25);
}

// Text that is cheap or dear for its size: lines of one repeated symbol, control characters,
// combining marks, and characters of four bytes beyond emoji.
TEST_F(Estimate, RepeatsControlsAndRareCharacters) {
  std::string separators;
  for (int step = 0; step < 20; ++step) {
    separators += std::string(100, '=') + "\nstep " + std::to_string(step) + " done\n" +
                  std::string(100, '-') + "\n";
  }
  EXPECT_NEAR(ratio(separators), 1, 0.5);
  std::string controls = "header:";
  for (int k = 0; k < 300; ++k) controls += static_cast<char>(1 + k % 8);
  EXPECT_NEAR(ratio(controls), 1, 0.3);
  EXPECT_NEAR(ratio("Pages:" + std::string(300, '\f') + std::string(300, '\v')), 1, 0.3);
  // CJK ideographs beyond the basic plane (Extension B), as names and Cantonese write.
  EXPECT_NEAR(ratio(repeated("\U00020000\U0002A6D6\U00020B9F\U00021A34", 50)), 1, 0.35);
  EXPECT_NEAR(ratio(repeated("a\u0301\u0302\u0303 ", 100)), 1, 0.5);
  // Mathematical bold letters, U+1D400 on.
  EXPECT_NEAR(ratio(repeated("\U0001D407\U0001D41E\U0001D425\U0001D425\U0001D428 ", 100)), 1, 0.4);
}

TEST_F(Estimate, GrowsLinearlyWithRepetition) {
  const std::string sentence = "The cache is warmed before the first request arrives. ";
  EXPECT_NEAR(estimate_tokens(repeated(sentence, 100)), 100 * estimate_tokens(sentence), 1e-6);
}

}  // namespace
}  // namespace llm_router::tokenizer
