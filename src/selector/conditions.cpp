#include "llm_router/selector/conditions.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace llm_router::selector {
namespace {

using Kind = config::Condition::Kind;

bool contains(const std::vector<std::string>& values, std::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool in_range(const config::Condition& c, double value) {
  return (!c.min || value >= *c.min) && (!c.max || value <= *c.max);
}

// Metadata values compare as text: "3" in YAML matches 3 and "3" in the request.
std::string metadata_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number() || value.is_null()) return value.dump();
  return {};
}

// The header's value that one of the condition's values names.
std::optional<std::string_view> listed_header_value(const config::Condition& c,
                                                    const RequestFacts& facts) {
  return facts.header_value_where(
      c.key, [&](std::string_view value) { return contains(c.values, value); });
}

bool header_matches(const config::Condition& c, const RequestFacts& facts) {
  if (c.present) return facts.header(c.key).has_value() == c.flag;
  return listed_header_value(c, facts).has_value();
}

bool metadata_matches(const config::Condition& c, const RequestFacts& facts) {
  if (!facts.metadata.is_object()) return false;
  const auto it = facts.metadata.find(c.key);
  if (it == facts.metadata.end() || it->is_object() || it->is_array()) return false;
  return contains(c.values, metadata_text(*it));
}

bool pii_matches(const config::Condition& c, const RequestFacts& facts) {
  if (c.values.empty()) return facts.pii.empty() != c.flag;
  // Text left unscanned (past pii_chars) may hold any kind: a listing rule fails closed too.
  return std::any_of(facts.pii.begin(), facts.pii.end(), [&](const std::string& kind) {
    return kind == "unscanned" || contains(c.values, kind);
  });
}

bool category_matches(const config::Condition& c, const RequestFacts& facts) {
  return contains(c.values, facts.category) && (!c.min || facts.category_confidence >= *c.min);
}

}  // namespace

bool matches(const config::Condition& c, const RequestFacts& facts) {
  switch (c.kind) {
    case Kind::always:
      return true;
    case Kind::model:
      return contains(c.values, facts.model) ||
             (!facts.requested_model.empty() && contains(c.values, facts.requested_model));
    case Kind::header:
      return header_matches(c, facts);
    case Kind::user:
      return contains(c.values, facts.user);
    case Kind::metadata:
      return metadata_matches(c, facts);
    case Kind::keywords:
      return facts.keyword_hit(c.signal);
    case Kind::semantic:
      return facts.semantic_score(c.signal) >= c.threshold;
    case Kind::category:
      return category_matches(c, facts);
    case Kind::complexity:
      return in_range(c, facts.complexity);
    case Kind::tokens:
      return in_range(c, static_cast<double>(facts.estimated_tokens));
    case Kind::sentiment:
      return in_range(c, facts.sentiment);
    case Kind::pii:
      return pii_matches(c, facts);
    case Kind::stream:
      return facts.stream == c.flag;
    case Kind::tools:
      return facts.has_tools == c.flag;
    case Kind::images:
      return facts.has_images == c.flag;
    case Kind::audio:
      return facts.has_audio == c.flag;
    case Kind::json_mode:
      return facts.json_mode == c.flag;
    case Kind::all:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const config::Condition& child) { return matches(child, facts); });
    case Kind::any:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const config::Condition& child) { return matches(child, facts); });
    case Kind::negate:
      return !c.children.empty() && !matches(c.children.front(), facts);
  }
  return false;
}

namespace {

// Whole numbers (token counts) as they are, scores to six digits as `calibrate` prints them.
std::string number(double value) {
  char text[32];
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.6g", value);
  }
  return text;
}

// "complexity 0.31 >= 0.25", "sentiment -0.4 in [-1, -0.25]".
std::string range_text(std::string_view name, const config::Condition& c, double value) {
  std::string text = std::string(name) + " " + number(value);
  if (c.min && c.max) return text + " in [" + number(*c.min) + ", " + number(*c.max) + "]";
  if (c.min) return text + " >= " + number(*c.min);
  if (c.max) return text + " <= " + number(*c.max);
  return text;
}

// "stream false (rule: true)": the request's value, then what the rule tests, so the text
// reads right under a `not` too.
std::string flag_text(std::string_view name, bool value, bool wanted) {
  return std::string(name) + (value ? " true" : " false") +
         " (rule: " + (wanted ? "true" : "false") + ")";
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : ", ") + value;
  return text;
}

// " ('refund')": the word that matched a keyword set, when a word (not a pattern) did.
std::string matched_word(const RequestFacts& facts, std::string_view set) {
  const auto it = std::find(facts.keyword_hits.begin(), facts.keyword_hits.end(), set);
  const auto i = static_cast<std::size_t>(it - facts.keyword_hits.begin());
  if (it == facts.keyword_hits.end() || i >= facts.keyword_words.size()) return "";
  const std::string& word = facts.keyword_words[i];
  return word.empty() ? "" : " ('" + word + "')";
}

std::string pii_text(const config::Condition& c, const RequestFacts& facts) {
  const std::string found = facts.pii.empty() ? "none" : joined(facts.pii);
  return "pii " + found + (c.values.empty() ? "" : " (rule: " + joined(c.values) + ")");
}

}  // namespace

std::string why_matched(const config::Condition& c, const RequestFacts& facts) {
  switch (c.kind) {
    case Kind::always:
      return "always";
    case Kind::model:
      return "model " + facts.model;
    case Kind::header: {
      if (!facts.header(c.key)) return "header " + c.key + " absent";
      if (c.present) return "header " + c.key + " present";
      const auto value = listed_header_value(c, facts);
      return "header " + c.key + " " + std::string(value ? *value : *facts.header(c.key)) +
             " in [" + joined(c.values) + "]";
    }
    case Kind::user:
      return "user " + facts.user;
    case Kind::metadata: {
      std::string value = "absent";
      if (facts.metadata.is_object()) {
        if (const auto it = facts.metadata.find(c.key); it != facts.metadata.end()) {
          value = metadata_text(*it);
        }
      }
      return "metadata " + c.key + " " + value + " in [" + joined(c.values) + "]";
    }
    case Kind::keywords:
      return "matched " + c.signal + matched_word(facts, c.signal);
    case Kind::semantic:
      return "semantic " + c.signal + " " + number(facts.semantic_score(c.signal)) +
             " >= " + number(c.threshold);
    case Kind::category:
      return "category " + facts.category + " (" + number(facts.category_confidence) + ") in [" +
             joined(c.values) + "]";
    case Kind::complexity:
      return range_text("complexity", c, facts.complexity);
    case Kind::tokens:
      return range_text("tokens", c, static_cast<double>(facts.estimated_tokens));
    case Kind::sentiment:
      return range_text("sentiment", c, facts.sentiment);
    case Kind::pii:
      return pii_text(c, facts);
    case Kind::stream:
      return flag_text("stream", facts.stream, c.flag);
    case Kind::tools:
      return flag_text("tools", facts.has_tools, c.flag);
    case Kind::images:
      return flag_text("images", facts.has_images, c.flag);
    case Kind::audio:
      return flag_text("audio", facts.has_audio, c.flag);
    case Kind::json_mode:
      return flag_text("json mode", facts.json_mode, c.flag);
    case Kind::all: {
      std::string text;
      for (const auto& child : c.children) {
        text += (text.empty() ? "" : " and ") + why_matched(child, facts);
      }
      return text;
    }
    case Kind::any:
      for (const auto& child : c.children) {
        if (matches(child, facts)) return why_matched(child, facts);
      }
      return {};
    case Kind::negate:
      return c.children.empty() ? std::string()
                                : "not (" + why_matched(c.children.front(), facts) + ")";
  }
  return {};
}

namespace {

// "complexity 0.12 < 0.25": the bound the value missed.
std::string missed_range_text(std::string_view name, const config::Condition& c, double value) {
  const std::string text = std::string(name) + " " + number(value);
  if (c.min && value < *c.min) return text + " < " + number(*c.min);
  if (c.max && value > *c.max) return text + " > " + number(*c.max);
  return text;
}

std::string header_not_matched(const config::Condition& c, const RequestFacts& facts) {
  const auto value = facts.header(c.key);
  if (!value) return "header " + c.key + " absent";
  if (c.present) return "header " + c.key + " present";
  return "header " + c.key + " " + std::string(*value) + " not in [" + joined(c.values) + "]";
}

std::string category_not_matched(const config::Condition& c, const RequestFacts& facts) {
  const std::string text =
      "category " + facts.category + " (" + number(facts.category_confidence) + ")";
  if (contains(c.values, facts.category) && c.min) return text + " < " + number(*c.min);
  return text + " not in [" + joined(c.values) + "]";
}

}  // namespace

std::string why_not_matched(const config::Condition& c, const RequestFacts& facts) {
  switch (c.kind) {
    case Kind::model:
      return "model " + (facts.requested_model.empty() ? facts.model : facts.requested_model) +
             " not in [" + joined(c.values) + "]";
    case Kind::header:
      return header_not_matched(c, facts);
    case Kind::user:
      return "user " + (facts.user.empty() ? std::string("absent") : facts.user) + " not in [" +
             joined(c.values) + "]";
    case Kind::metadata:
      return "not (" + why_matched(c, facts) + ")";
    case Kind::keywords:
      return "no match of " + c.signal;
    case Kind::semantic:
      return "semantic " + c.signal + " " + number(facts.semantic_score(c.signal)) + " < " +
             number(c.threshold);
    case Kind::category:
      return category_not_matched(c, facts);
    case Kind::complexity:
      return missed_range_text("complexity", c, facts.complexity);
    case Kind::tokens:
      return missed_range_text("tokens", c, static_cast<double>(facts.estimated_tokens));
    case Kind::sentiment:
      return missed_range_text("sentiment", c, facts.sentiment);
    case Kind::all:
      for (const auto& child : c.children) {
        if (!matches(child, facts)) return why_not_matched(child, facts);
      }
      return {};
    case Kind::any: {
      std::string text;
      for (const auto& child : c.children) {
        text += (text.empty() ? "" : " and ") + why_not_matched(child, facts);
      }
      return text;
    }
    case Kind::negate:
      return c.children.empty() ? std::string() : why_matched(c.children.front(), facts);
    default:  // pii and the flags: their text says both the request's value and the rule's
      return why_matched(c, facts);
  }
}

}  // namespace llm_router::selector
