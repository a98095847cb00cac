#include "llm_router/analyzer/request.hpp"

#include "llm_router/analyzer/detectors.hpp"
#include "text_util.hpp"

namespace llm_router::analyzer {
namespace {

// Rough per-item costs in tokens: chat framing per message, and a low-detail image.
constexpr double kTokensPerMessage = 4;
constexpr double kTokensPerImage = 85;
constexpr double kTokensPerAudioPart = 100;

const nlohmann::json* member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string_view string_member(const nlohmann::json& object, const char* key) {
  const auto* value = member(object, key);
  return value && value->is_string() ? std::string_view(value->get_ref<const std::string&>())
                                     : std::string_view{};
}

// Calls on_text for each text piece of a message content (string or array of parts).
template <typename OnText>
void for_each_text(const nlohmann::json& content, RequestFacts& facts, double& tokens,
                   OnText&& on_text) {
  if (content.is_string()) {
    on_text(std::string_view(content.get_ref<const std::string&>()));
    return;
  }
  if (!content.is_array()) return;
  for (const auto& part : content) {
    if (part.is_string()) {
      on_text(std::string_view(part.get_ref<const std::string&>()));
      continue;
    }
    const std::string_view type = string_member(part, "type");
    if (type == "text" || type == "input_text") {
      on_text(string_member(part, "text"));
    } else if (type == "image_url" || type == "input_image" || type == "image") {
      facts.has_images = true;
      tokens += kTokensPerImage;
    } else if (type == "input_audio" || type == "audio") {
      facts.has_audio = true;
      tokens += kTokensPerAudioPart;
    }
  }
}

// Appends text to the selection until the cap; a separator goes between pieces.
void append_capped(std::string& out, std::string_view piece, std::size_t cap, bool& truncated) {
  if (piece.empty()) return;
  if (!out.empty() && out.size() < cap) out += '\n';
  if (out.size() >= cap) {
    truncated = true;
    return;
  }
  const std::string_view fitted = utf8_prefix(piece, cap - out.size());
  truncated |= fitted.size() < piece.size();
  out.append(fitted);
}

// Approximate serialized size of a JSON value, without serializing it.
double json_chars(const nlohmann::json& value) {
  if (value.is_string()) return static_cast<double>(value.get_ref<const std::string&>().size()) + 2;
  if (value.is_object()) {
    double total = 2;
    for (const auto& [key, item] : value.items())
      total += static_cast<double>(key.size()) + 4 + json_chars(item);
    return total;
  }
  if (value.is_array()) {
    double total = 2;
    for (const auto& item : value) total += json_chars(item) + 1;
    return total;
  }
  return 4;
}

bool is_system_role(std::string_view role) {
  return role == "system" || role == "developer";
}

void read_chat(const nlohmann::json& body, const TextSelection& selection, RequestFacts& facts) {
  const auto* messages = member(body, "messages");
  if (!messages || !messages->is_array()) return;
  double tokens = 0;
  std::ptrdiff_t last_user = -1;
  const auto count = static_cast<std::ptrdiff_t>(messages->size());
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    const auto& message = (*messages)[static_cast<std::size_t>(i)];
    const std::string_view role = string_member(message, "role");
    if (role == "user") {
      ++facts.turns;
      last_user = i;
    }
    tokens += kTokensPerMessage;
    if (const auto* content = member(message, "content")) {
      for_each_text(*content, facts, tokens,
                    [&](std::string_view text) { tokens += estimate_tokens(text); });
    }
    if (const auto* calls = member(message, "tool_calls"); calls && calls->is_array()) {
      for (const auto& call : *calls) {
        const auto* function = member(call, "function");
        if (function) tokens += estimate_tokens(string_member(*function, "arguments")) + 8;
      }
    }
  }
  facts.estimated_tokens += tokens;
  if (last_user < 0) last_user = count - 1;  // no user message: analyze the last one
  if (last_user < 0) return;

  // The last user message is read first so the cap never starves it; system and history fill
  // what is left, then everything is put back in conversation order.
  double ignored = 0;
  RequestFacts scratch;
  std::string user_text;
  bool truncated = false;
  if (const auto* content = member((*messages)[static_cast<std::size_t>(last_user)], "content")) {
    for_each_text(*content, scratch, ignored, [&](std::string_view text) {
      append_capped(user_text, text, selection.max_chars, truncated);
    });
  }
  std::size_t left = selection.max_chars - std::min(selection.max_chars, user_text.size());
  std::string system_text;
  if (selection.include_system) {
    for (const auto& message : *messages) {
      if (!is_system_role(string_member(message, "role"))) continue;
      if (const auto* content = member(message, "content")) {
        for_each_text(*content, scratch, ignored, [&](std::string_view text) {
          append_capped(system_text, text, left, truncated);
        });
      }
    }
    left -= std::min(left, system_text.size() + (system_text.empty() ? 0 : 1));
  }
  std::vector<std::string> history;
  int wanted = selection.history_messages;
  for (std::ptrdiff_t i = last_user - 1; i >= 0 && wanted > 0; --i) {
    const auto& message = (*messages)[static_cast<std::size_t>(i)];
    if (is_system_role(string_member(message, "role"))) continue;
    --wanted;
    std::string piece;
    if (const auto* content = member(message, "content")) {
      for_each_text(*content, scratch, ignored,
                    [&](std::string_view text) { append_capped(piece, text, left, truncated); });
    }
    left -= std::min(left, piece.size() + (piece.empty() ? 0 : 1));
    if (!piece.empty()) history.push_back(std::move(piece));
  }
  // Every piece is already capped; joining them only adds separators.
  std::string& out = facts.text;
  auto join = [&](std::string_view piece) {
    if (piece.empty()) return;
    if (!out.empty()) out += '\n';
    out.append(piece);
  };
  join(system_text);
  for (auto it = history.rbegin(); it != history.rend(); ++it) join(*it);
  join(user_text);
  facts.truncated = truncated;
}

// Completions "prompt" and embeddings "input": a string, an array of strings, or token ids.
void read_prompt_like(const nlohmann::json& value, const TextSelection& selection,
                      RequestFacts& facts) {
  auto take = [&](std::string_view text) {
    facts.estimated_tokens += estimate_tokens(text);
    append_capped(facts.text, text, selection.max_chars, facts.truncated);
  };
  if (value.is_string()) {
    take(value.get_ref<const std::string&>());
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (item.is_string()) {
        take(item.get_ref<const std::string&>());
      } else if (item.is_number()) {
        facts.estimated_tokens += 1;  // a token id
      } else if (item.is_array()) {
        facts.estimated_tokens += static_cast<double>(item.size());
      }
    }
  }
  facts.turns = facts.text.empty() && facts.estimated_tokens == 0 ? 0 : 1;
}

}  // namespace

std::string_view head_and_tail(std::string_view text, std::size_t max_bytes, std::string& buffer) {
  if (text.size() <= max_bytes) return text;
  if (max_bytes < 2) return utf8_prefix(text, max_bytes);  // no room for a head, '\n' and tail
  const std::string_view head = utf8_prefix(text, max_bytes * 2 / 3);
  // The joining '\n' counts against the limit too.
  std::size_t tail_start = text.size() - (max_bytes - head.size() - 1);
  while (tail_start < text.size() &&
         (static_cast<unsigned char>(text[tail_start]) & 0xC0) == 0x80) {
    ++tail_start;
  }
  buffer.assign(head);
  buffer += '\n';
  buffer.append(text.substr(tail_start));
  return buffer;
}

std::string_view RequestMeta::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return {};
}

RequestFacts extract_request(const nlohmann::json& body, EndpointKind endpoint,
                             const TextSelection& selection) {
  RequestFacts facts;
  if (!body.is_object()) return facts;
  switch (endpoint) {
    case EndpointKind::chat:
      read_chat(body, selection, facts);
      break;
    case EndpointKind::completions:
      if (const auto* prompt = member(body, "prompt")) read_prompt_like(*prompt, selection, facts);
      break;
    case EndpointKind::embeddings:
      if (const auto* input = member(body, "input")) read_prompt_like(*input, selection, facts);
      break;
  }
  for (const char* key : {"tools", "functions"}) {
    if (const auto* tools = member(body, key); tools && tools->is_array() && !tools->empty()) {
      facts.has_tools = true;
      // Tool schemas are sent to the model too; their JSON size is a fair proxy.
      for (const auto& tool : *tools) facts.estimated_tokens += json_chars(tool) / 4.0;
    }
  }
  if (const auto* format = member(body, "response_format")) {
    const std::string_view type = string_member(*format, "type");
    facts.json_mode = type == "json_object" || type == "json_schema";
  }
  if (const auto* stream = member(body, "stream"); stream && stream->is_boolean()) {
    facts.stream = stream->get<bool>();
  }
  facts.user = std::string(string_member(body, "user"));
  if (const auto* metadata = member(body, "metadata"); metadata && metadata->is_object()) {
    facts.metadata = *metadata;
  }
  return facts;
}

}  // namespace llm_router::analyzer
