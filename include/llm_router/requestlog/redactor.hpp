#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace llm_router::requestlog {

// Turns text that may hold personal data or secrets into text that may be written to a log.
using RedactHook = std::function<std::string(std::string_view)>;

// The built-in redactor: replaces emails, phone numbers, credit-card numbers (Luhn-checked),
// API keys (sk-..., AKIA/ASIA..., ghp_/gho_/ghu_/ghs_/ghr_..., github_pat_..., xox[abprs]-...,
// AIza...), bearer tokens and long high-entropy tokens with "[REDACTED:<kind>]". One pass per
// family of shapes, no regex, no exceptions; stateless, so one instance is shared by threads.
class Redactor {
 public:
  std::string redact(std::string_view text) const;
  std::string operator()(std::string_view text) const { return redact(text); }

  // This redactor as a hook, followed by `then` when it is set.
  static RedactHook hook(RedactHook then = {});
};

// Kinds written in the markers: "email", "phone", "credit_card", "api_key", "bearer_token",
// "secret" (a long high-entropy token without a known prefix).

}  // namespace llm_router::requestlog
