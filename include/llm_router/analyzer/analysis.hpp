#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace llm_router::analyzer {

struct PiiCount {
  std::string kind;  // email, phone, credit_card, iban, us_ssn, api_key, ip_address
  int count = 0;

  bool operator==(const PiiCount&) const = default;
};

// Everything known about a request before routing, computed once per request. Holds signals
// only: kinds and counts, never the prompt text or what a detector matched.
struct Analysis {
  std::string category = "other";  // "other" when no label reaches other_threshold or no model
  std::map<std::string, double> category_scores;  // label -> probability
  // The last user message alone left the category model unsure: the previous user turn
  // weighed in (TextSelection::follow_up_context).
  bool category_from_context = false;
  double complexity = 0.5;     // the complexity model's positive-label probability; 0.5 if none
  double sentiment = 0;        // -1..1 (trained calibration of VADER; VADER alone without weights)
  double sentiment_vader = 0;  // VADER's compound, kept for comparison in decision logs

  std::vector<PiiCount> pii;  // kinds found, in a fixed order
  bool has_code = false;
  std::vector<std::string> code_languages;
  std::string script = "none";  // dominant Unicode script of the analyzed text
  std::string language = "unknown";

  double estimated_tokens = 0;  // whole request (all messages, tools), for context-window checks
  int turns = 0;                // user turns
  int analyzed_chars = 0;       // bytes of text the signals were computed on (after the cap)
  bool truncated = false;       // the char cap cut the analyzed text
  bool has_images = false;
  bool has_audio = false;
  bool has_tools = false;
  bool json_mode = false;  // response_format json_object / json_schema
  bool stream = false;

  std::vector<std::string> keyword_hits;  // names of keyword sets that matched
  // Beside each: the first word or phrase of the text that matched it ("" when a pattern did).
  std::vector<std::string> keyword_words;
  std::map<std::string, double> semantic_scores;  // semantic set -> similarity 0..1
  std::vector<std::string> semantic_hits;         // sets whose threshold was reached
  // Where the semantic scores came from: "local" (hashed n-grams), "embeddings" (the
  // configured embeddings backend), or "" when no semantic set is configured.
  std::string semantic_source;

  std::string user;         // the request's "user" field
  nlohmann::json metadata;  // the request's "metadata" object (null when absent)
  std::int64_t elapsed_ns = 0;

  bool has_pii(std::string_view kind) const;
  nlohmann::json to_json() const;
};

}  // namespace llm_router::analyzer
