#include "llm_router/analyzer/request.hpp"

#include <nlohmann/json.hpp>

#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/api/image_tokens.hpp"
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/openai_request.hpp"
#include "llm_router/tokenizer/tokenizer.hpp"
#include "text_util.hpp"

namespace llm_router::analyzer {
namespace {

// Rough per-item costs in tokens: chat framing per message, a tool call.
constexpr double kTokensPerMessage = 4;
// A follow-up that says little on its own is short ("and in Rust?"; 90% of the hand-written
// ones in bench/fixtures/followups/ are under 220 bytes); a longer message carries its own
// context. Of the user turn before it, enough to say what the conversation is doing is kept.
constexpr std::size_t kFollowUpChars = 200;
constexpr std::size_t kContextChars = 1000;
constexpr double kTokensPerToolCall = 8;
// What an audio part costs, as the request summary counts it for usage (images: image_tokens).
constexpr double kTokensPerAudioPart = api::RequestSummary::kAudioTokens;

// JSON text as the model reads it: \u escapes (Python's json.dumps writes every non-ASCII
// character so) as the characters they stand for, not six ASCII bytes each.
double estimate_json_text(std::string_view raw) {
  if (raw.find("\\u") == std::string_view::npos) return tokenizer::estimate_tokens(raw);
  const auto value = nlohmann::json::parse(raw, nullptr, false);
  if (value.is_discarded()) return tokenizer::estimate_tokens(raw);
  return tokenizer::estimate_tokens(
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// Appends text to the selection until the cap; a separator goes between pieces. A piece too
// long for what is left keeps its start and its end: the question after a pasted document.
void append_capped(std::string& out, std::string_view piece, std::size_t cap, bool& truncated) {
  if (piece.empty()) return;
  if (!out.empty() && out.size() < cap) out += '\n';
  if (out.size() >= cap) {
    truncated = true;
    return;
  }
  if (piece.size() <= cap - out.size()) {
    out.append(piece);
    return;
  }
  truncated = true;
  std::string buffer;
  out.append(head_and_tail(piece, cap - out.size(), buffer));
}

bool is_system_role(std::string_view role) {
  return role == "system" || role == "developer";
}

// A chat message as the selection sees it: its role and its text pieces (a range of
// RequestWalk::pieces_).
struct Message {
  std::string_view role;
  std::size_t first_piece = 0;
  std::size_t end_piece = 0;
};

// Reads the members of a request body the facts need in one pass of a JsonCursor, without a
// DOM, and skips the rest. A body of an unexpected shape, or one that stops being JSON, just
// yields fewer facts. Strings are views of the body or, when written with escapes, of
// `decoded_`, which is reserved to the body's size once so the views stay valid.
class RequestWalk {
 public:
  RequestWalk(std::string_view body, EndpointKind endpoint, const TextSelection& selection)
      : body_(body), cursor_(body), endpoint_(endpoint), selection_(selection) {}

  RequestFacts run() {
    if (cursor_.peek() == '{' && cursor_.enter_object()) {
      std::string_view name;
      while (cursor_.next_member(name) && top_level_member(name)) {
      }
    }
    if (endpoint_ == EndpointKind::chat) select_chat_text();
    scan_pii_newest_first();
    return std::move(facts_);
  }

 private:
  bool top_level_member(std::string_view name) {
    if (endpoint_ == EndpointKind::chat && name == "messages") return messages();
    if ((endpoint_ == EndpointKind::completions && name == "prompt") ||
        (endpoint_ == EndpointKind::embeddings && name == "input")) {
      return prompt_like();
    }
    if (name == "tools" || name == "functions") return tools();
    if (name == "response_format") return response_format();
    if (name == "stream") return stream();
    if (name == "metadata") return metadata();
    if (name == "user") {
      std::string_view user;
      if (!text(user)) return !cursor_.failed();
      facts_.user = std::string(user);
      scan_pii(user);
      return true;
    }
    // A predicted output is sent to the model as text too.
    if (name == "prediction") {
      return each_member([&](std::string_view field) {
        if (field != "content") return cursor_.skip_value();
        return scanned_only_content(/*counted=*/false);  // billed as output, if at all
      });
    }
    if (name == "model") return cursor_.skip_value();
    return skip_scanned();
  }

  // A value the backend is sent and the analysis does not read: skipped, its strings at any
  // depth (member names aside) noted for the PII scan when the whole request is scanned, so
  // a `pii` rule sees a tool's description, a schema's enum, `stop`, a message's `name`.
  bool skip_scanned() {
    if (!scans_whole_request()) return cursor_.skip_value();
    switch (cursor_.peek()) {
      case '"': {
        std::string_view value;
        if (text(value)) scan_pii(value);
        return !cursor_.failed();
      }
      case '{':
        return each_member([&](std::string_view) { return skip_scanned(); });
      case '[':
        return each_item([&] { return skip_scanned(); });
      default:
        return cursor_.skip_value();
    }
  }

  bool scans_whole_request() const {
    return selection_.pii_whole_request && selection_.pii_chars > 0;
  }

  // Routing input (its scalars), sent on when the client asks to store the answer: scanned too.
  bool metadata() {
    if (cursor_.peek() != '{') return skip_scanned();
    if (!scans_whole_request()) return cursor_.read_value(facts_.metadata);  // one pass
    const std::size_t start = cursor_.offset();
    if (!skip_scanned()) return false;
    // (Valid JSON, as the walk just read; a value the project's parser refuses, a lone
    // surrogate's escape say, leaves the rules no metadata rather than stopping the walk.)
    if (!api::parse_json(body_.substr(start, cursor_.offset() - start), facts_.metadata).ok) {
      facts_.metadata = nullptr;
    }
    return true;
  }

  // A file's bytes (a PDF, in base64) cannot be read for personal data: a `pii` rule then fails
  // closed, as for text past pii_chars.
  bool unreadable_file() {
    if (scans_whole_request() && cursor_.peek() == '"') facts_.pii_truncated = true;
    return cursor_.skip_value();
  }

  // A content part's file: its name is scanned, its data cannot be.
  bool file_member(std::string_view name) {
    if (name == "file_data") return unreadable_file();
    if (name == "file") {
      return each_member([&](std::string_view field) {
        return field == "file_data" ? unreadable_file() : skip_scanned();
      });
    }
    return skip_scanned();
  }

  // Text the model is sent but the analysis does not read (a refusal, a prediction): scanned
  // for PII, and counted as prompt where it is.
  bool scanned_only_content(bool counted) {
    const auto read = [&](std::string_view value) {
      if (counted) chat_tokens_ += tokenizer::estimate_tokens(value);
      scan_pii(value);
    };
    if (cursor_.peek() != '[') {
      std::string_view value;
      if (text(value)) read(value);
      return !cursor_.failed();
    }
    return each_item([&] {
      if (cursor_.peek() != '{') return cursor_.skip_value();
      return each_member([&](std::string_view name) {
        std::string_view value;
        if (name != "text") return cursor_.skip_value();
        if (text(value)) read(value);
        return !cursor_.failed();
      });
    });
  }

  // A string value as a view that outlives the cursor's next call (false, skipped, for any
  // other kind of value).
  bool text(std::string_view& out) {
    if (cursor_.peek() != '"') {
      cursor_.skip_value();
      return false;
    }
    if (!cursor_.read_string(out)) return false;
    const bool in_body = out.data() >= body_.data() && out.data() < body_.data() + body_.size();
    if (!in_body && !out.empty()) {
      if (decoded_.capacity() < body_.size()) decoded_.reserve(body_.size());
      const std::size_t at = decoded_.size();
      decoded_.append(out);
      out = std::string_view(decoded_).substr(at);
    }
    return true;
  }

  // Calls on_member(name) for each member of the object at the cursor (anything else is
  // skipped); on_member reads or skips the value.
  template <typename OnMember>
  bool each_member(OnMember&& on_member) {
    if (cursor_.peek() != '{') return cursor_.skip_value();
    if (!cursor_.enter_object()) return false;
    std::string_view name;
    while (cursor_.next_member(name)) {
      if (!on_member(name)) return false;
    }
    return !cursor_.failed();
  }

  // Calls on_item() with the cursor at each item of the array at the cursor.
  template <typename OnItem>
  bool each_item(OnItem&& on_item) {
    if (cursor_.peek() != '[') return cursor_.skip_value();
    if (!cursor_.enter_array()) return false;
    while (cursor_.next_item()) {
      if (!on_item()) return false;
    }
    return !cursor_.failed();
  }

  bool messages() {
    return each_item([&] {
      Message message{{}, pieces_.size(), pieces_.size()};
      in_message_ = messages_.size();
      chat_tokens_ += kTokensPerMessage;
      const bool ok = each_member([&](std::string_view name) {
        if (name == "role") return text(message.role) || !cursor_.failed();
        if (name == "content") return content();
        if (name == "tool_calls") return tool_calls();
        if (name == "function_call") return function_call();  // the legacy form
        // An assistant turn's refusal and reasoning (DeepSeek's, vLLM's) go back to the model
        // too: counted, scanned, never the text analyzed.
        if (name == "refusal" || name == "reasoning_content" || name == "reasoning") {
          return scanned_only_content(/*counted=*/true);
        }
        return skip_scanned();
      });
      message.end_piece = pieces_.size();
      messages_.push_back(message);
      in_message_ = kNoMessage;
      return ok;
    });
  }

  // A message's content: a string, or an array of parts (strings or typed objects).
  bool content() {
    if (cursor_.peek() != '[') return piece() || !cursor_.failed();
    return each_item([&] {
      if (cursor_.peek() != '{') return piece() || !cursor_.failed();
      std::string_view type;
      std::string_view part_text;
      api::ImagePartCost image;
      const bool ok = each_member([&](std::string_view name) {
        if (name == "type") return text(type) || !cursor_.failed();
        // A repeated "text": the analysis reads the last, as nlohmann does; a backend's parser
        // may keep the first, so each is scanned.
        if (name == "text") {
          scan_pii(part_text);
          return text(part_text) || !cursor_.failed();
        }
        if (api::ImagePartCost::prices(name)) return image.read(cursor_, name);
        if (name == "input_audio") return cursor_.skip_value();  // speech, as bytes
        return file_member(name);
      });
      if (type == "text" || type == "input_text") {
        add_piece(part_text);
      } else {
        scan_pii(part_text);  // sent on whatever the type says
      }
      if (type == "image_url" || type == "input_image" || type == "image") {
        facts_.has_images = true;
        chat_tokens_ += static_cast<double>(image.tokens());
      } else if (type == "input_audio" || type == "audio") {
        facts_.has_audio = true;
        chat_tokens_ += kTokensPerAudioPart;
      }
      return ok;
    });
  }

  bool piece() {
    std::string_view value;
    if (!text(value)) return false;
    add_piece(value);
    return true;
  }

  void add_piece(std::string_view value) {
    if (value.empty()) return;
    chat_tokens_ += tokenizer::estimate_tokens(value);
    scan_pii(value);
    pieces_.push_back(value);
  }

  // Notes a string of the request for the PII scan, which runs once the walk knows which
  // message is the last user one (scan_pii_newest_first).
  void scan_pii(std::string_view value) {
    if (value.empty() || !scans_whole_request()) return;
    pii_targets_.push_back({value, in_message_});
  }

  // Scans the noted strings within pii_chars in all: the last user message first, then the
  // rest newest first, so a long history or a pasted tool result never starves the turn
  // being sent. What the cap leaves unread sets pii_truncated.
  void scan_pii_newest_first() {
    std::size_t last_user = kNoMessage;
    for (std::size_t i = messages_.size(); i-- > 0;) {
      if (messages_[i].role == "user") {
        last_user = i;
        break;
      }
    }
    std::size_t scanned_bytes = 0;
    const auto scan = [&](std::string_view value) {
      const std::size_t left = selection_.pii_chars - std::min(selection_.pii_chars, scanned_bytes);
      const std::string_view scanned = utf8_prefix(value, left);
      facts_.pii_truncated |= scanned.size() < value.size();
      scanned_bytes += scanned.size();
      if (scanned.empty()) return;
      if (!facts_.text_pii && scanned.size() == value.size() && value == facts_.text) {
        facts_.text_pii = find_pii(scanned);
        for (const PiiMatch& match : *facts_.text_pii)
          ++facts_.pii[static_cast<std::size_t>(match.kind)];
        return;
      }
      const PiiCounts counts = detect_pii(scanned);
      for (std::size_t k = 0; k < kPiiKinds; ++k) facts_.pii[k] += counts[k];
    };
    const auto in_last_turn = [&](const PiiTarget& target) {
      return last_user != kNoMessage && target.message == last_user;
    };
    for (const auto& target : pii_targets_) {
      if (in_last_turn(target)) scan(target.text);
    }
    for (auto it = pii_targets_.rbegin(); it != pii_targets_.rend(); ++it) {
      if (!in_last_turn(*it)) scan(it->text);
    }
  }

  // A tool call's (or a legacy function_call's) arguments: a JSON string, or an object some
  // clients send as is.
  bool arguments() {
    if (cursor_.peek() == '{') {
      const std::size_t start = cursor_.offset();
      if (!cursor_.skip_value()) return false;
      const std::string_view raw = body_.substr(start, cursor_.offset() - start);
      chat_tokens_ += estimate_json_text(raw);
      scan_pii(raw);
      return true;
    }
    std::string_view value;
    if (text(value)) {
      chat_tokens_ += tokenizer::estimate_tokens(value);
      scan_pii(value);
    }
    return !cursor_.failed();
  }

  bool function_call() {
    chat_tokens_ += kTokensPerToolCall;
    return each_member([&](std::string_view field) {
      return field == "arguments" ? arguments() : skip_scanned();
    });
  }

  bool tool_calls() {
    return each_item([&] {
      return each_member([&](std::string_view name) {
        if (name != "function") return skip_scanned();
        return function_call();
      });
    });
  }

  // Completions "prompt" and embeddings "input": a string, an array of strings, or token ids.
  bool prompt_like() {
    const auto take = [&](std::string_view value) {
      facts_.estimated_tokens += tokenizer::estimate_tokens(value);
      scan_pii(value);
      append_capped(facts_.text, value, selection_.max_chars, facts_.truncated);
    };
    bool ok = true;
    if (cursor_.peek() == '"') {
      std::string_view value;
      ok = text(value);
      if (ok) take(value);
    } else {
      ok = each_item([&] {
        const char next = cursor_.peek();
        if (next == '"') {
          std::string_view value;
          if (!text(value)) return false;
          take(value);
          return true;
        }
        if (next == '[') {
          return each_item([&] {
            facts_.estimated_tokens += 1;  // a token id
            return cursor_.skip_value();
          });
        }
        if (next == '-' || (next >= '0' && next <= '9')) facts_.estimated_tokens += 1;
        return cursor_.skip_value();
      });
    }
    facts_.turns = facts_.text.empty() && facts_.estimated_tokens == 0 ? 0 : 1;
    return ok;
  }

  // Tool schemas are sent to the model too, as JSON text.
  bool tools() {
    return each_item([&] {
      facts_.has_tools = true;
      const std::size_t start = cursor_.offset();
      if (!skip_scanned()) return false;
      facts_.estimated_tokens += estimate_json_text(body_.substr(start, cursor_.offset() - start));
      return true;
    });
  }

  // Its schema is sent to the model too, as JSON text.
  bool response_format() {
    const std::size_t start = cursor_.offset();
    const bool ok = each_member([&](std::string_view name) {
      std::string_view type;
      if (name != "type") return skip_scanned();
      if (text(type)) facts_.json_mode = type == "json_object" || type == "json_schema";
      return !cursor_.failed();
    });
    if (ok && cursor_.offset() > start) {
      facts_.estimated_tokens += estimate_json_text(body_.substr(start, cursor_.offset() - start));
    }
    return ok;
  }

  bool stream() {
    const char next = cursor_.peek();
    if (next == 't' || next == 'f') facts_.stream = next == 't';
    return cursor_.skip_value();
  }

  void append_message(const Message& message, std::string& out, std::size_t cap,
                      bool& truncated) const {
    for (std::size_t k = message.first_piece; k < message.end_piece; ++k) {
      append_capped(out, pieces_[k], cap, truncated);
    }
  }

  // Whether a tool's result reads as code work (a test report, a compiler error, a file's
  // source): a JSON answer, a weather report or a bank balance is no task to continue.
  bool holds_code(const Message& message) const {
    if (message.first_piece == message.end_piece) return false;
    const std::string_view text = pieces_[message.first_piece];
    const std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text[first] == '{' || text[first] == '[') return false;
    return code_evidence(text).strong();
  }

  // What a short last user turn continues: in a coding agent's loop, the tool results that came
  // back since ("make the tests pass", then a pytest report), newest first; otherwise the user
  // turn before it ("fix it" after a traceback). Other tools' results (a calendar's JSON, a
  // weather report) would pull an errand toward code or math.
  void keep_context(std::size_t last_user) {
    bool cut = false;  // not the analyzed text's truncation
    for (std::size_t i = messages_.size(); i-- > last_user + 1;) {
      const std::string_view role = messages_[i].role;
      if ((role == "tool" || role == "function") && holds_code(messages_[i])) {
        append_message(messages_[i], facts_.context_text, kContextChars, cut);
      }
    }
    if (!facts_.context_text.empty()) return;
    // (A user turn of no words, "?" again, asks for the one before it.)
    for (std::size_t i = last_user; i-- > 0;) {
      if (messages_[i].role != "user") continue;
      append_message(messages_[i], facts_.context_text, kContextChars, cut);
      if (has_words(facts_.context_text)) break;
      facts_.context_text.clear();
    }
  }

  // The last user message is read first so the cap never starves it; system and history fill
  // what is left, then everything is put back in conversation order.
  void select_chat_text() {
    facts_.estimated_tokens += chat_tokens_;
    std::ptrdiff_t last_user = -1;
    const auto count = static_cast<std::ptrdiff_t>(messages_.size());
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      if (messages_[static_cast<std::size_t>(i)].role == "user") {
        ++facts_.turns;
        last_user = i;
      }
    }
    if (last_user < 0) last_user = count - 1;  // no user message: analyze the last one
    if (last_user < 0) return;

    bool truncated = false;
    std::string user_text;
    append_message(messages_[static_cast<std::size_t>(last_user)], user_text, selection_.max_chars,
                   truncated);
    std::size_t left = selection_.max_chars - std::min(selection_.max_chars, user_text.size());
    std::string system_text;
    if (selection_.include_system) {
      for (const Message& message : messages_) {
        if (is_system_role(message.role)) append_message(message, system_text, left, truncated);
      }
      left -= std::min(left, system_text.size() + (system_text.empty() ? 0 : 1));
    }
    if (selection_.follow_up_context && selection_.history_messages == 0 &&
        user_text.size() < kFollowUpChars) {
      keep_context(static_cast<std::size_t>(last_user));
    }
    std::vector<std::string> history;
    int wanted = selection_.history_messages;
    for (std::ptrdiff_t i = last_user - 1; i >= 0 && wanted > 0; --i) {
      const Message& message = messages_[static_cast<std::size_t>(i)];
      if (is_system_role(message.role)) continue;
      --wanted;
      std::string piece;
      append_message(message, piece, left, truncated);
      left -= std::min(left, piece.size() + (piece.empty() ? 0 : 1));
      if (!piece.empty()) history.push_back(std::move(piece));
    }
    // Every piece is already capped; joining them only adds separators.
    std::string& out = facts_.text;
    const auto join = [&](std::string_view piece) {
      if (piece.empty()) return;
      if (!out.empty()) out += '\n';
      out.append(piece);
    };
    join(system_text);
    for (auto it = history.rbegin(); it != history.rend(); ++it) join(*it);
    join(user_text);
    facts_.truncated = truncated;
  }

  std::string_view body_;
  api::JsonCursor cursor_;
  EndpointKind endpoint_;
  const TextSelection& selection_;
  RequestFacts facts_;
  std::string decoded_;
  std::vector<Message> messages_;
  std::vector<std::string_view> pieces_;
  double chat_tokens_ = 0;
  static constexpr std::size_t kNoMessage = static_cast<std::size_t>(-1);
  std::size_t in_message_ = kNoMessage;  // the message being read, if any
  struct PiiTarget {
    std::string_view text;
    std::size_t message;  // kNoMessage outside the messages
  };
  std::vector<PiiTarget> pii_targets_;
};

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

RequestFacts extract_request(std::string_view body, EndpointKind endpoint,
                             const TextSelection& selection) {
  return RequestWalk(body, endpoint, selection).run();
}

RequestFacts extract_request(const nlohmann::json& body, EndpointKind endpoint,
                             const TextSelection& selection) {
  const std::string text = request_text(body);
  return extract_request(std::string_view(text), endpoint, selection);
}

std::string request_text(const nlohmann::json& body) {
  // Invalid UTF-8 in a DOM built by hand becomes U+FFFD instead of an exception.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace llm_router::analyzer
