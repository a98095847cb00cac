// Low-confidence escalation and filtered answers: reading an answer for signs that another
// model should try.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "llm_router/api/json_fields.hpp"
#include "router_handler.hpp"

namespace llm_router::proxy {
namespace {

using nlohmann::json;

// The answer's opening, lowercased, with typographic apostrophes made plain ("can’t").
std::string opening_of(std::string_view text) {
  std::string out;
  const std::string_view head = text.substr(0, 300);
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head.substr(i, 3) == "\xe2\x80\x99") {
      out += '\'';
      i += 2;
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(head[i])));
    }
  }
  return out;
}

bool found_before(std::string_view text, std::string_view what, std::size_t limit) {
  const std::size_t at = text.find(what);
  return at != std::string_view::npos && at < limit;
}

// "I'm sorry, but I can't help with that", "I apologize, but I cannot fulfill this request",
// "Unfortunately I am not able to assist", "As an AI ...", and the usual openings in French,
// Spanish, German, Portuguese and Italian: a model declining, in its first sentence.
bool looks_like_refusal(std::string_view content) {
  static constexpr std::string_view kOpenings[] = {"as an ai",
                                                   "i must decline",
                                                   "i'm sorry, but i can",
                                                   "i am sorry, but i can",
                                                   "je ne peux pas",
                                                   "no puedo ayudar",
                                                   "no puedo proporcionar",
                                                   "lo siento, pero no puedo",
                                                   "ich kann dir dabei nicht",
                                                   "ich kann ihnen dabei nicht",
                                                   "ich kann dabei nicht",
                                                   "não posso ajudar",
                                                   "desculpe, mas não posso",
                                                   "non posso aiutar",
                                                   "mi dispiace, ma non posso"};
  static constexpr std::string_view kCannot[] = {
      "i can't",          "i cannot",        "i can not",
      "i'm unable",       "i am unable",     "i'm not able",
      "i am not able",    "i won't be able", "i will not be able",
      "i'm afraid i can", "i'm not going to"};
  static constexpr std::string_view kDeclinedVerbs[] = {
      "help",    "assist", "fulfill",  "fulfil",   "provide", "comply",  "do that",
      "do this", "create", "write",    "generate", "answer",  "support", "complete",
      "share",   "engage", "continue", "produce",  "give"};
  const std::string head = opening_of(content);
  for (auto opening : kOpenings) {
    if (found_before(head, opening, 100)) return true;
  }
  for (auto cannot : kCannot) {
    const std::size_t at = head.find(cannot);
    // A sentence of its own ("... WiFi cannot connect" is no "I cannot").
    if (at == std::string::npos || at >= 100 ||
        (at > 0 && std::isalpha(static_cast<unsigned char>(head[at - 1])))) {
      continue;
    }
    // The declined verb is one of the next two words: "I can't help", "I am not able to
    // assist", but not "I can't wait to help".
    std::string_view after = std::string_view(head).substr(at + cannot.size());
    for (int word = 0; word < 2; ++word) {
      const std::size_t begin = after.find_first_not_of(" ,");
      if (begin == std::string_view::npos) break;
      after.remove_prefix(begin);
      const std::size_t end = std::min(after.find_first_of(" ,.!;"), after.size());
      const std::string_view next = after.substr(0, end);
      for (auto verb : kDeclinedVerbs) {
        if (next == verb || (verb.find(' ') != std::string_view::npos && after.starts_with(verb))) {
          return true;
        }
      }
      after.remove_prefix(end);
    }
  }
  return false;
}

// Whether the answer's length was capped by the request: by its own max_tokens, or by the
// legacy completions API's default of 16 tokens (a prompt without "messages" is one), where
// "length" is the expected end of an uncapped request, not a weak answer.
bool client_capped_tokens(const json& request) {
  return request.contains("max_tokens") || request.contains("max_completion_tokens") ||
         request.contains("prompt");
}

bool wants_json(const json& request) {
  auto format = request.find("response_format");
  if (format == request.end() || !format->is_object()) return false;
  const std::string_view type = api::string_field(*format, "type");
  return type == "json_object" || type == "json_schema";
}

std::optional<double> mean_logprob(const json& choice) {
  auto logprobs = choice.find("logprobs");
  if (logprobs == choice.end() || !logprobs->is_object()) return std::nullopt;
  auto content = logprobs->find("content");
  if (content == logprobs->end() || !content->is_array() || content->empty()) return std::nullopt;
  double sum = 0;
  int count = 0;
  for (const auto& token : *content) {
    if (token.is_object() && token.contains("logprob") && token["logprob"].is_number()) {
      sum += token["logprob"].get<double>();
      ++count;
    }
  }
  if (count == 0) return std::nullopt;
  return sum / count;
}

}  // namespace

std::optional<std::string> weak_answer_reason(std::string_view body,
                                              const config::CascadeSettings& cascade,
                                              const json& request) {
  const json response = json::parse(body, nullptr, false);
  if (!response.is_object()) return std::nullopt;
  auto choices = response.find("choices");
  if (choices == response.end() || !choices->is_array() || choices->empty()) {
    return cascade.on_empty ? std::optional<std::string>("no choices") : std::nullopt;
  }
  const json& choice = (*choices)[0];
  std::string content;
  // What answers without text: tool calls, a legacy function call, spoken audio.
  bool has_tool_calls = false;
  if (auto message = choice.find("message"); message != choice.end() && message->is_object()) {
    if (auto c = message->find("content"); c != message->end() && c->is_string()) content = *c;
    const auto present = [&](const char* key) {
      const auto it = message->find(key);
      return it != message->end() && !it->is_null();
    };
    has_tool_calls = present("tool_calls") || present("function_call") || present("audio");
  } else if (auto text = choice.find("text"); text != choice.end() && text->is_string()) {
    content = *text;
  }
  const std::string_view finish = api::string_field(choice, "finish_reason");
  if (cascade.on_empty && content.find_first_not_of(" \n\t") == std::string::npos &&
      !has_tool_calls) {
    return "empty answer";
  }
  if (cascade.on_length && finish == "length" && !client_capped_tokens(request)) {
    return "answer cut at the length limit";
  }
  if (cascade.on_refusal && looks_like_refusal(content)) return "refusal";
  if (cascade.on_invalid_json && wants_json(request) && !has_tool_calls && !json::accept(content)) {
    return "invalid JSON for a JSON response_format";
  }
  if (cascade.min_mean_logprob) {
    if (auto mean = mean_logprob(choice); mean && *mean < *cascade.min_mean_logprob) {
      return "mean token logprob below threshold";
    }
  }
  return std::nullopt;
}

bool withheld_by_content_filter(std::string_view body) {
  if (body.find("\"content_filter\"") == std::string_view::npos) return false;
  const json response = json::parse(body, nullptr, false);
  if (!response.is_object()) return false;
  auto choices = response.find("choices");
  if (choices == response.end() || !choices->is_array() || choices->empty()) return false;
  const auto non_empty = [](const json& holder, const char* key) {
    auto value = holder.find(key);
    return value != holder.end() && !value->is_null() && !value->empty() &&
           !(value->is_string() && value->get_ref<const std::string&>().empty());
  };
  return std::all_of(choices->begin(), choices->end(), [&](const json& choice) {
    if (!choice.is_object() || api::string_field(choice, "finish_reason") != "content_filter") {
      return false;
    }
    if (non_empty(choice, "text")) return false;  // a legacy completion's text
    // A chat answer's message, or a stream chunk's delta.
    for (const char* key : {"message", "delta"}) {
      auto said = choice.find(key);
      if (said == choice.end() || !said->is_object()) continue;
      if (non_empty(*said, "content") || non_empty(*said, "tool_calls") ||
          non_empty(*said, "function_call") || non_empty(*said, "audio")) {
        return false;
      }
    }
    return true;
  });
}

}  // namespace llm_router::proxy
