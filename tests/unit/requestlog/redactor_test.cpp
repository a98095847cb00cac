#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm_router/requestlog/redactor.hpp"

namespace llm_router::requestlog {
namespace {

struct RedactCase {
  std::string name;
  std::string input;
  std::string expected;
};

TEST(Redactor, ReplacesPersonalDataAndSecrets) {
  const std::vector<RedactCase> cases = {
      {"email", "mail john.doe+x@mail.example.co.uk now", "mail [REDACTED:email] now"},
      {"email at end of sentence", "Write to a@b.io.", "Write to [REDACTED:email]."},
      {"international phone", "call +44 20 7946 0958 today", "call [REDACTED:phone] today"},
      {"phone with area code", "call (415) 555-2671.", "call [REDACTED:phone]."},
      {"phone with country code and parens", "+1 (415) 555-2671", "[REDACTED:phone]"},
      {"phone after a label", "tel:+44 20 7946 0958, fax:415-555-2671",
       "tel:[REDACTED:phone], fax:[REDACTED:phone]"},
      {"card in a list", "cards=4242424242424242,5500-0000-0000-0004",
       "cards=[REDACTED:credit_card],[REDACTED:credit_card]"},
      {"dashed phone", "415-555-2671", "[REDACTED:phone]"},
      {"dotted phone", "at 415.555.2671", "at [REDACTED:phone]"},
      {"card with spaces", "card 4111 1111 1111 1111 exp 12/29",
       "card [REDACTED:credit_card] exp 12/29"},
      {"card with dashes", "5500-0000-0000-0004", "[REDACTED:credit_card]"},
      {"card without separators", "pay with 4242424242424242", "pay with [REDACTED:credit_card]"},
      {"openai key", "key: sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "key: [REDACTED:api_key]"},
      {"anthropic key", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "[REDACTED:api_key]"},
      {"aws access key id", "AKIAIOSFODNN7EXAMPLE is mine", "[REDACTED:api_key] is mine"},
      {"github token", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "[REDACTED:api_key]"},
      {"github fine-grained token", "github_pat_11ABCDEFG0123456789_abcdefghijkl",
       "[REDACTED:api_key]"},
      {"slack bot token", "xoxb-123456789012-abcdefABCDEF", "[REDACTED:api_key]"},
      {"slack user token", "(xoxp-1234-5678-abcdef)", "([REDACTED:api_key])"},
      {"google api key", "AIzaSyA-1234567890abcdefghijklmnopqrstu", "[REDACTED:api_key]"},
      {"bearer token", "Authorization: Bearer abc123DEF456ghi789",
       "Authorization: Bearer [REDACTED:bearer_token]"},
      // A JSON Web Token is a secret wherever it stands, so the PII scan names it first.
      {"bearer jwt", "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fw.",
       "bearer [REDACTED:api_key]."},
      {"high-entropy token", "token=Zx8Kq2Lm9Vb4Nc7Xp1Rt6Yw3Hs5Jd0Fg&x=1",
       "token=[REDACTED:api_key]&x=1"},
      {"base64 secret with padding",
       "secret: aGVsbG8gd29ybGQgdGhpcyBpcyBhIHNlY3JldA0K==", "secret: [REDACTED:api_key]"},
      {"several kinds", "a@b.com, 415-555-2671, sk-abcdefghijklmnopqrstuvwx",
       "[REDACTED:email], [REDACTED:phone], [REDACTED:api_key]"},
      {"iban", "pay to DE89 3704 0044 0532 0130 00.", "pay to [REDACTED:iban]."},
      {"short test key", "key sk-test-SECRET123, then", "key [REDACTED:api_key], then"},
      {"short key", "sk-abc123def456ghi789", "[REDACTED:api_key]"},
      {"letters-only bearer token", "Bearer abcdefSECRET token",
       "Bearer [REDACTED:bearer_token] token"},
      {"us ssn", "SSN 123-45-6789", "SSN [REDACTED:us_ssn]"},
      {"pem private key",
       "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nok",
       "key:\n[REDACTED:api_key]\nok"},
      // Cut short before its END line: the base64 lines go with it, not the text after.
      {"pem private key cut short",
       "key:\n-----BEGIN PRIVATE "
       "KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nBKcwggSjAgEAAoIBAQC7\n\n"
       "is this right?",
       "key:\n[REDACTED:api_key]\n\nis this right?"},
      {"stripe key", "STRIPE=sk_live_51HqLyjWDarjtT1zdp7dcXYZ012345", "STRIPE=[REDACTED:api_key]"},
      {"multi-byte text around", "caf\xc3\xa9 a@b.com \xe2\x82\xac",
       "caf\xc3\xa9 [REDACTED:email] \xe2\x82\xac"},
  };
  const Redactor redactor;
  for (const auto& c : cases) {
    EXPECT_EQ(redactor.redact(c.input), c.expected) << c.name;
  }
}

TEST(Redactor, LeavesOrdinaryTextAlone) {
  const std::vector<std::string> untouched = {
      "",
      "In 2024 we sold 1,299 units.",
      "The price is $19.99 or 1299.50 EUR, tax 0.2.",
      "Version 1.2.3 was released on 2024-05-01 at 10:30:00.",
      "internationalization",
      "order 123456 shipped; call 555 1234",
      "timestamp 1700000000001",
      "card-like but Luhn fails: 4111 1111 1111 1112",
      "uuid 123e4567-e89b-12d3-a456-426614174000",
      "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
      "Bearer instruments are risky.",
      "user@localhost and @mention",
      "sk-short and task-oriented sk-learn",
      "ip 192.168.1.1:8080",
      "https://example.com/path/to/SomeResource2024/index.html",
      "max_prompt_bytes snake_case_identifier_with_many_words_in_it",
      "The year 1999 and 2000 and 3000.",
      "getUserAccountBalanceForCustomer2024Report(accountId, fromDate)",
  };
  const Redactor redactor;
  for (const auto& text : untouched) {
    EXPECT_EQ(redactor.redact(text), text);
  }
}

TEST(Redactor, HookChainsACustomRedactor) {
  const RedactHook builtin = Redactor::hook();
  EXPECT_EQ(builtin("to a@b.io"), "to [REDACTED:email]");
  const RedactHook chained = Redactor::hook([](std::string_view text) {
    std::string out(text);
    for (std::size_t at = out.find("Project X"); at != std::string::npos;
         at = out.find("Project X", at)) {
      out.replace(at, 9, "[REDACTED:codename]");
    }
    return out;
  });
  EXPECT_EQ(chained("Project X by a@b.io"), "[REDACTED:codename] by [REDACTED:email]");
}

TEST(Redactor, LongInputIsLinear) {
  // A megabyte of digits, separators and at-signs (worst cases for the scanners) completes and
  // keeps its length order; no timing is asserted.
  std::string text;
  for (int i = 0; i < 40'000; ++i) text += "1 2-3 @ a.b ";
  const std::string out = Redactor{}.redact(text);
  EXPECT_GE(out.size(), text.size() / 2);
}

}  // namespace
}  // namespace llm_router::requestlog
