#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace llm_router::requestlog {

// Turns text that may hold personal data or secrets into text that may be written to a log.
using RedactHook = std::function<std::string(std::string_view)>;

// The built-in redactor: replaces what the analyzer's PII scanners find (emails, phone numbers,
// Luhn-checked credit-card numbers, IBANs, US SSNs, API keys of known shapes, long high-entropy
// tokens, PEM private keys; see analyzer::find_pii) and bearer tokens with "[REDACTED:<kind>]".
// One pass per family of shapes, no regex, no exceptions; stateless, so one instance is shared
// by threads.
class Redactor {
 public:
  std::string redact(std::string_view text) const;
  std::string operator()(std::string_view text) const { return redact(text); }

  // This redactor as a hook, followed by `then` when it is set.
  static RedactHook hook(RedactHook then = {});
};

// Kinds written in the markers: "email", "phone", "credit_card", "iban", "us_ssn", "api_key"
// (high-entropy tokens too), "bearer_token". IPv4 addresses are left as they are.

}  // namespace llm_router::requestlog
