#include "llm_router/api/openai_request.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <list>
#include <sstream>

#include "llm_router/api/image_tokens.hpp"
#include "llm_router/api/json_fields.hpp"
#include "llm_router/api/json_parse.hpp"

namespace llm_router::api {
namespace {

using nlohmann::json;
using namespace std::string_view_literals;

constexpr std::size_t kMaxMetadataKeys = 64;

Failure invalid(std::string message, std::string param) {
  return Failure{ErrorKind::invalid_request, std::move(message), 0, std::move(param)};
}

// Sampling fields OpenAI checks before running a model: numbers within these bounds.
struct NumberRule {
  std::string_view name;
  double min;
  double max;
  bool integer;
};
// Bounds every OpenAI-compatible server shares: temperature has no ceiling here (OpenAI's is 2,
// vLLM and Ollama take more), a legacy completion may ask for 0 tokens (echo the prompt's
// logprobs), a seed is any integer. Token counts stop at 1e15 so they fit an int64.
constexpr double kNoBound = 1e300;
constexpr double kMaxTokenCount = 1e15;
constexpr NumberRule kNumberRules[] = {
    {"temperature", 0, kNoBound, false},
    {"top_p", 0, 1, false},
    {"presence_penalty", -2, 2, false},
    {"frequency_penalty", -2, 2, false},
    {"n", 1, 128, true},
    {"top_logprobs", 0, 20, true},
    {"max_tokens", 1, kMaxTokenCount, true},
    {"max_completion_tokens", 1, kMaxTokenCount, true},
    {"seed", -kNoBound, kNoBound, true},
};

// An embeddings request's `dimensions`: at least 1 (OpenAI refuses 0).
constexpr NumberRule kEmbeddingDimensions{"dimensions", 1, 1e9, true};
// A legacy completion's `logprobs` is a count of alternatives (OpenAI takes up to 5, vLLM more)
// and `best_of` a count of candidates.
constexpr NumberRule kCompletionLogprobs{"logprobs", 0, kMaxTokenCount, true};
constexpr NumberRule kBestOf{"best_of", 1, kMaxTokenCount, true};

bool known_role(std::string_view role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool" ||
         role == "developer" || role == "function" || role == "ipython";
}

// A bound as people write it ("2", "-2", "0.5"), not "2.000000".
std::string bound_text(double value) {
  std::ostringstream out;
  if (value == std::floor(value) && std::fabs(value) < kMaxTokenCount) {
    out << static_cast<long long>(value);
  } else {
    out << value;
  }
  return out.str();
}

// Where the last `quoted_name` outside a string's escapes starts in `text`, or npos. Searched
// from the end: answers put "usage" after the choices, whose text is the long part.
size_t last_member_name(std::string_view text, std::string_view quoted_name) {
  for (size_t i = text.size(); i-- > 0;) {
    if (text[i] != '"' || text.size() - i < quoted_name.size()) continue;
    if (text.compare(i, quoted_name.size(), quoted_name) != 0) continue;
    if (i == 0 || text[i - 1] != '\\') return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::string_view upstream_path(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::chat_completions:
      return "/chat/completions";
    case Endpoint::completions:
      return "/completions";
    case Endpoint::embeddings:
      return "/embeddings";
  }
  return "/chat/completions";
}

namespace {

bool is_image_part(std::string_view type) {
  return type == "image_url" || type == "input_image" || type == "image";
}

// Text a message, prompt or input carries: a string, or an array of content parts.
struct ContentScan {
  std::size_t chars = 0;
  bool images = false;
  std::int64_t image_tokens = 0;
  std::size_t audio_parts = 0;
  std::size_t begin = 0, end = 0;  // the value's bytes in the body
  bool is_string = false;
  bool is_array = false;
  std::size_t items = 0;          // of an array
  bool empty_item = false;        // an array item that is "" or []
  bool empty_array_item = false;  // an array item that is []
  unsigned item_kinds = 0;        // bits of ItemKind, one for each kind of item seen
  // The first item that is not a content part (an object with a string "type"; a "text" part's
  // "text" a string): its index and what is wrong (for a message's content).
  std::size_t bad_part = SIZE_MAX;
  std::string_view bad_part_problem;
};

// The kinds of a list's items, as bits: a list `prompt` holds one kind only.
enum ItemKind : unsigned { kTextItem = 1, kNumberItem = 2, kListItem = 4, kOtherItem = 8 };

// One pass over a request body: validates all of it as JSON, reads the members the router
// needs (without a DOM) and notes the first field that breaks the OpenAI schema. Schema
// problems are reported only once the whole body is known to be JSON, in the order the
// checks are listed in validate().
class RequestScanner {
 public:
  RequestScanner(std::string_view text, Endpoint endpoint)
      : text_(text), cursor_(text), endpoint_(endpoint) {
    request_.text = text;
    names_.reserve(16);  // a request's top-level names, grown one at a time otherwise
  }

  Expected<ParsedRequest> run() {
    if (text_.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      return Failure{ErrorKind::invalid_json,
                     "the request body is empty: send a JSON object (with a Content-Length or "
                     "chunked encoding)"};
    }
    if (cursor_.peek() != '{') {
      if (cursor_.skip_value() && cursor_.finish()) {
        return Failure{ErrorKind::invalid_json, "the request body must be a JSON object"};
      }
      return not_json();
    }
    if (!scan_members() || !cursor_.finish()) return not_json();
    if (repeats_a_name()) {
      // A repeated key means different things to different parsers: the router and the
      // backend could disagree on the model (and the router's key would pay for the client's
      // choice).
      return Failure{ErrorKind::invalid_json, "the request body repeats a top-level key"};
    }
    if (auto failure = validate()) return std::move(*failure);
    summarize_content();
    return std::move(request_);
  }

 private:
  enum class Kind { absent, string, boolean, null, object, array, other };

  Failure not_json() const {
    return Failure{ErrorKind::invalid_json,
                   "the request body is not valid JSON " + cursor_.error().describe(text_)};
  }

  static unsigned item_kind(Kind kind) {
    return kind == Kind::string  ? kTextItem
           : kind == Kind::other ? kNumberItem
           : kind == Kind::array ? kListItem
                                 : kOtherItem;
  }

  Kind kind_at() {
    switch (cursor_.peek()) {
      case '"':
        return Kind::string;
      case 't':
      case 'f':
        return Kind::boolean;
      case 'n':
        return Kind::null;
      case '{':
        return Kind::object;
      case '[':
        return Kind::array;
      default:
        return Kind::other;
    }
  }

  bool scan_members() {
    if (!cursor_.enter_object()) return false;
    std::string_view name;
    while (cursor_.next_member(name)) {
      names_.push_back(stable(name));
      if (!member(name)) return false;
    }
    return !cursor_.failed();
  }

  // A name that outlives the cursor's next call: the text's bytes, or a copy.
  std::string_view stable(std::string_view name) {
    return in_text(name) ? name : decoded_names_.emplace_back(name);
  }

  bool in_text(std::string_view view) const {
    return view.data() >= text_.data() && view.data() < text_.data() + text_.size();
  }

  bool repeats_a_name() {
    if (names_.size() <= 16) {  // the usual request: cheaper than sorting
      for (std::size_t i = 1; i < names_.size(); ++i) {
        if (std::find(names_.begin(), names_.begin() + i, names_[i]) != names_.begin() + i) {
          return true;
        }
      }
      return false;
    }
    std::sort(names_.begin(), names_.end());
    return std::adjacent_find(names_.begin(), names_.end()) != names_.end();
  }

  bool member(std::string_view name) {
    if (name == "model"sv) return model();
    if (name == "messages"sv) return messages();
    if (name == "stream"sv) {
      stream_kind_ = kind_at();
      if (stream_kind_ != Kind::boolean) return cursor_.skip_value();
      request_.stream = cursor_.peek() == 't';
      return cursor_.skip_value();
    }
    if (name == "stream_options"sv) {
      stream_options_kind_ = kind_at();
      summary().has_stream_options = true;
      if (stream_options_kind_ != Kind::object) return cursor_.skip_value();
      json options;
      if (!cursor_.read_value(options)) return false;
      auto include = options.find("include_usage");
      if (include != options.end() && !include->is_boolean() && !include->is_null()) {
        note_field_problem("'stream_options.include_usage' must be a boolean",
                           "stream_options.include_usage");
      }
      summary().include_usage =
          include != options.end() && include->is_boolean() && include->get<bool>();
      summary().plain_stream_options = options.size() == (include != options.end() ? 1u : 0u) &&
                                       (include == options.end() || include->is_boolean());
      return true;
    }
    if (name == "prompt"sv) return content(prompt_.emplace());
    if (name == "input"sv) return content(input_.emplace());
    if (name == "user"sv) {
      const Kind kind = kind_at();
      if (kind == Kind::string) return cursor_.read_string(summary().user);
      if (kind != Kind::null) note_field_problem("'user' must be a string", "user");
      summary().user.clear();
      return cursor_.skip_value();
    }
    if (name == "metadata"sv) return metadata();
    if (name == "store"sv) {
      summary().store = kind_at() == Kind::boolean && cursor_.peek() == 't';
      return cursor_.skip_value();
    }
    if (name == "tools"sv) return tools();
    if (name == "tool_choice"sv) {
      tool_choice_kind_ = kind_at();
      if (tool_choice_kind_ == Kind::string) return cursor_.read_string(tool_choice_);
      return cursor_.skip_value();
    }
    if (name == "functions"sv) {
      has_functions_ = true;
      functions_chars_ = 0;
      return measure_text(functions_chars_);  // read by the model as its prompt, as tools are
    }
    if (name == "response_format"sv) {
      response_format_kind_ = kind_at();
      if (response_format_kind_ != Kind::object) return cursor_.skip_value();
      json format;
      const std::size_t start = cursor_.offset();
      if (!cursor_.read_value(format)) return false;
      // A JSON schema is read by the model too: its bytes, as written.
      format_chars_ = cursor_.offset() - start;
      const std::string_view type = string_field(format, "type");
      summary().json_mode = type == "json_object" || type == "json_schema";
      return true;
    }
    if (endpoint_ == Endpoint::embeddings) {
      if (name == "encoding_format"sv) return encoding_format();
      if (name == "dimensions"sv) return number(kEmbeddingDimensions);
      return cursor_.skip_value();
    }
    for (const NumberRule& rule : kNumberRules) {
      if (name == rule.name) return number(rule);
    }
    if (endpoint_ == Endpoint::completions) {
      if (name == "logprobs"sv) return number(kCompletionLogprobs);
      if (name == "best_of"sv) return number(kBestOf);
      if (name == "echo"sv) return typed(name, Kind::boolean, "a boolean");
      if (name == "suffix"sv) return typed(name, Kind::string, "a string");
    }
    if (name == "logprobs"sv) {
      const Kind kind = kind_at();
      if (kind != Kind::boolean && kind != Kind::null && endpoint_ == Endpoint::chat_completions) {
        note_field_problem("'logprobs' must be a boolean", "logprobs");
      }
      logprobs_on_ = kind == Kind::boolean && cursor_.peek() == 't';
      return cursor_.skip_value();
    }
    if (name == "stop"sv) return stop();
    if (endpoint_ == Endpoint::chat_completions && (name == "audio"sv || name == "modalities"sv)) {
      return audio_output(name);
    }
    return cursor_.skip_value();
  }

  // An answer asked for in speech: `audio` (its voice and format) or "audio" among
  // `modalities`. Only a backend that speaks can give it.
  bool audio_output(std::string_view name) {
    const Kind kind = kind_at();
    if (name == "audio"sv) {
      summary().audio_output = summary().audio_output || kind == Kind::object;
      return cursor_.skip_value();
    }
    if (kind != Kind::array) return cursor_.skip_value();
    if (!cursor_.enter_array()) return false;
    while (cursor_.next_item()) {
      std::string_view modality;
      const bool is_string = kind_at() == Kind::string;
      if (!(is_string ? cursor_.read_string(modality) : cursor_.skip_value())) return false;
      summary().audio_output = summary().audio_output || (is_string && modality == "audio");
    }
    return !cursor_.failed();
  }

  // `encoding_format` of embeddings: "float" or "base64" (the router turns floats into base64).
  bool encoding_format() {
    const Kind kind = kind_at();
    std::string format;
    if (kind == Kind::string && !cursor_.read_string(format)) return false;
    if (kind != Kind::string && !cursor_.skip_value()) return false;
    if (kind != Kind::null && format != "float" && format != "base64") {
      note_field_problem("'encoding_format' must be 'float' or 'base64'", "encoding_format");
    }
    summary().base64_embeddings = format == "base64";
    return true;
  }

  // A field that must be of one kind, or null.
  bool typed(std::string_view name, Kind wanted, std::string_view what) {
    const Kind kind = kind_at();
    if (kind != wanted && kind != Kind::null) {
      note_field_problem("'" + std::string(name) + "' must be " + std::string(what),
                         std::string(name));
    }
    return cursor_.skip_value();
  }

  // A field of kNumberRules: null counts as absent; anything else must be a number (an integer
  // where the rule says so) within the rule's bounds.
  bool number(const NumberRule& rule) {
    std::optional<std::int64_t>* kept = rule.name == "max_tokens"sv ? &max_tokens_
                                        : rule.name == "max_completion_tokens"sv
                                            ? &max_completion_tokens_
                                        : rule.name == "best_of"sv ? &best_of_
                                                                   : nullptr;
    if (kept) kept->reset();
    const Kind kind = kind_at();
    if (rule.name == "top_logprobs"sv) top_logprobs_set_ = kind != Kind::null;
    const char next = cursor_.peek();
    if (next != '-' && (next < '0' || next > '9')) {
      if (kind != Kind::null) must_be(rule, rule.integer ? "an integer" : "a number");
      return cursor_.skip_value();
    }
    JsonNumber value;
    if (!cursor_.read_number(value)) return false;
    if (rule.integer && !value.integer) {
      must_be(rule, "an integer");
      return true;
    }
    // A legacy completion may ask for no new tokens: the prompt echoed with its logprobs.
    const double min =
        rule.name == "max_tokens"sv && endpoint_ == Endpoint::completions ? 0 : rule.min;
    if (value.value < min || value.value > rule.max) {
      must_be(rule, (rule.max >= kMaxTokenCount
                         ? "at least " + bound_text(min)
                         : "between " + bound_text(min) + " and " + bound_text(rule.max)) +
                        ", got " + std::string(value.text));
      return true;
    }
    if (kept) *kept = static_cast<std::int64_t>(value.value);
    if (rule.name == "n"sv) summary().choices = static_cast<int>(value.value);
    return true;
  }

  void must_be(const NumberRule& rule, const std::string& what) {
    const std::string field(rule.name);
    note_field_problem("'" + field + "' must be " + what, field);
  }

  // `stop`: a string, an array of strings, or null; read without a DOM (an 8 MB array of
  // strings would take ~60 MB as one).
  bool stop() {
    const Kind kind = kind_at();
    if (kind == Kind::string || kind == Kind::null) return cursor_.skip_value();
    bool strings = kind == Kind::array;
    if (!strings) {
      if (!cursor_.skip_value()) return false;
    } else {
      if (!cursor_.enter_array()) return false;
      while (cursor_.next_item()) {
        strings = strings && kind_at() == Kind::string;
        if (!cursor_.skip_value()) return false;
      }
      if (cursor_.failed()) return false;
    }
    if (!strings) note_field_problem("'stop' must be a string or an array of strings", "stop");
    return true;
  }

  // `metadata`: an object, the routing rules' input (OpenAI's limit is 16 pairs). Its scalar
  // values are kept (rules compare them as text), nested ones skipped: a wide or deep value
  // is not turned into a DOM many times its size.
  bool metadata() {
    summary().has_metadata = true;
    if (kind_at() != Kind::object) {
      if (kind_at() != Kind::null) note_field_problem("'metadata' must be an object", "metadata");
      return cursor_.skip_value();
    }
    if (!cursor_.enter_object()) return false;
    json& kept = summary().metadata = json::object();
    std::string_view key;
    std::size_t keys = 0;
    while (cursor_.next_member(key)) {
      const Kind kind = kind_at();
      if (++keys > kMaxMetadataKeys || kind == Kind::object || kind == Kind::array) {
        if (!cursor_.skip_value()) return false;
        continue;
      }
      if (!cursor_.read_value(kept[std::string(key)])) return false;
    }
    if (keys > kMaxMetadataKeys) {
      note_field_problem("'metadata' may have at most " + std::to_string(kMaxMetadataKeys) +
                             " keys, got " + std::to_string(keys),
                         "metadata");
    }
    return !cursor_.failed();
  }

  void note_field_problem(std::string message, std::string param) {
    if (!field_problem_) field_problem_ = invalid(std::move(message), std::move(param));
  }

  bool model() {
    model_kind_ = kind_at();
    if (model_kind_ != Kind::string) return cursor_.skip_value();
    request_.model_begin = cursor_.offset();
    if (!cursor_.read_string(request_.model)) return false;
    request_.model_end = cursor_.offset();
    return true;
  }

  bool tools() {
    tools_kind_ = kind_at();
    if (tools_kind_ != Kind::array) return cursor_.skip_value();
    std::size_t count = 0;
    tools_problem_.reset();
    tools_chars_ = 0;
    if (!cursor_.enter_array()) return false;
    while (cursor_.next_item()) {
      if (kind_at() != Kind::object && !tools_problem_) {
        const std::string param = "tools[" + std::to_string(count) + "]";
        tools_problem_ = invalid(param + " must be an object", param);
      }
      // Tool definitions are read by the model as part of its prompt.
      if (!measure_text(tools_chars_)) return false;
      ++count;
    }
    has_tools_array_ = count > 0;
    return !cursor_.failed();
  }

  bool messages() {
    messages_kind_ = kind_at();
    messages_ = {};
    summary().opening_count = 0;
    messages_problem_.reset();
    message_count_ = 0;
    if (messages_kind_ != Kind::array) return cursor_.skip_value();
    if (!cursor_.enter_array()) return false;
    while (cursor_.next_item()) {
      if (!message(message_count_++)) return false;
    }
    summary().messages = message_count_;
    return !cursor_.failed();
  }

  bool message(std::size_t index) {
    if (kind_at() != Kind::object) {
      note_message_problem(index, " must be an object", "");
      return cursor_.skip_value();
    }
    if (!cursor_.enter_object()) return false;
    std::string_view name;
    std::string_view role;
    std::string role_with_escapes;  // the cursor's buffer is reused by the next member's name
    bool role_is_string = false;
    std::optional<ContentScan> scanned;
    while (cursor_.next_member(name)) {
      if (name == "role"sv) {
        role_is_string = kind_at() == Kind::string;
        role = {};
        if (!(role_is_string ? cursor_.read_string(role) : cursor_.skip_value())) return false;
        if (!in_text(role)) role = role_with_escapes.assign(role);
      } else if (name == "content"sv) {
        const Kind kind = kind_at();
        if (kind != Kind::string && kind != Kind::array && kind != Kind::null) {
          note_message_problem(
              index, ".content must be a string, an array of content parts or null", ".content");
        }
        scanned.emplace();
        if (!content(*scanned)) return false;
        if (scanned->bad_part != SIZE_MAX) {
          const std::string part = ".content[" + std::to_string(scanned->bad_part) + "]";
          note_message_problem(index, part + std::string(scanned->bad_part_problem), part);
        }
      } else if (name == "refusal"sv || name == "reasoning_content"sv || name == "reasoning"sv) {
        // Sent back to the model with the turn: prompt, as the content is.
        ContentScan returned;
        if (!content(returned)) return false;
        messages_.chars += returned.chars;
      } else if (name == "tool_calls"sv || name == "function_call"sv) {
        // The calls' names and arguments are prompt too (an agent's calls can be long).
        if (!measure_text(messages_.chars)) return false;
      } else if (name == "audio"sv && kind_at() == Kind::object) {
        // An assistant's earlier spoken answer ({"id": ...}): only an audio model reads it.
        summary().audio_output = true;
        if (!cursor_.skip_value()) return false;
      } else if (!cursor_.skip_value()) {
        return false;
      }
    }
    if (cursor_.failed()) return false;
    if (!role_is_string) {
      note_message_problem(index, ".role is required and must be a string", ".role");
    } else if (!known_role(role)) {
      note_message_problem(
          index,
          ".role must be one of system, developer, user, assistant, tool, function; "
          "got " +
              quote_excerpt(role, 40),
          ".role");
    }
    // Only an assistant's turn may go without content (it carries tool calls instead).
    if (!scanned && role_is_string && known_role(role) && role != "assistant" &&
        role != "function") {
      note_message_problem(index, ".content is required", ".content");
    }
    if (!scanned) return true;
    messages_.chars += scanned->chars;
    messages_.images = messages_.images || scanned->images;
    messages_.image_tokens += scanned->image_tokens;
    messages_.audio_parts += scanned->audio_parts;
    auto& opening = summary().openings;
    if (summary().opening_count < opening.size() && (role == "system" || role == "user")) {
      opening[summary().opening_count++] = {scanned->begin, scanned->end, scanned->is_string};
    }
    return true;
  }

  // "messages[2].role is required ...", param "messages[2].role".
  void note_message_problem(std::size_t index, std::string_view problem, std::string_view field) {
    if (messages_problem_) return;
    const std::string param = "messages[" + std::to_string(index) + "]" + std::string(field);
    messages_problem_ =
        invalid("messages[" + std::to_string(index) + "]" + std::string(problem), param);
  }

  // A string or an array of content parts ({"type": ..., "text": ...}); anything else counts
  // for nothing.
  bool content(ContentScan& out) {
    out = {};
    const Kind kind = kind_at();
    out.begin = cursor_.offset();
    bool ok = true;
    if (kind == Kind::string) {
      out.is_string = true;
      ok = cursor_.measure_string(out.chars);
    } else if (kind == Kind::array) {
      out.is_array = true;
      ok = parts(out);
    } else {
      ok = cursor_.skip_value();
    }
    out.end = cursor_.offset();
    return ok;
  }

  bool parts(ContentScan& out) {
    if (!cursor_.enter_array()) return false;
    while (cursor_.next_item()) {
      ++out.items;
      if (const Kind kind = kind_at(); kind != Kind::object) {
        note_bad_part(out, " must be an object with a \"type\"");
        const std::size_t start = cursor_.offset();
        if (!listed_input(kind, out)) return false;
        std::string_view item = text_.substr(start, cursor_.offset() - start);
        item.remove_suffix(item.size() - item.find_last_not_of(" \t\r\n") - 1);
        const bool empty_array =
            item.front() == '[' && item.find_first_not_of(" \t\r\n", 1) == item.size() - 1;
        out.empty_item = out.empty_item || item == "\"\"" || empty_array;
        out.empty_array_item = out.empty_array_item || empty_array;
        out.item_kinds |= item_kind(kind);
        continue;
      }
      out.item_kinds |= kOtherItem;
      if (!part(out)) return false;
    }
    return !cursor_.failed();
  }

  // An item of a list `input` or `prompt` (a text, a list of token ids, a token id), counted
  // towards the token estimate in characters: four to a token id.
  bool listed_input(Kind kind, ContentScan& out) {
    constexpr std::size_t kCharsPerToken = 4;
    if (kind == Kind::string) {
      std::size_t chars = 0;
      if (!cursor_.measure_string(chars)) return false;
      out.chars += chars;
      return true;
    }
    if (kind == Kind::array) {
      if (!cursor_.enter_array()) return false;
      while (cursor_.next_item()) {
        if (!cursor_.skip_value()) return false;
        out.chars += kCharsPerToken;
      }
      return !cursor_.failed();
    }
    if (kind == Kind::other) out.chars += kCharsPerToken;  // a number
    return cursor_.skip_value();
  }

  // The characters of every name and string in a value (tool definitions, which the model
  // reads as part of its prompt).
  bool measure_text(std::size_t& chars) {
    switch (kind_at()) {
      case Kind::string: {
        std::size_t n = 0;
        if (!cursor_.measure_string(n)) return false;
        chars += n;
        return true;
      }
      case Kind::object: {
        if (!cursor_.enter_object()) return false;
        std::string_view name;
        while (cursor_.next_member(name)) {
          chars += name.size();
          if (!measure_text(chars)) return false;
        }
        return !cursor_.failed();
      }
      case Kind::array:
        if (!cursor_.enter_array()) return false;
        while (cursor_.next_item()) {
          if (!measure_text(chars)) return false;
        }
        return !cursor_.failed();
      default:
        return cursor_.skip_value();
    }
  }

  bool part(ContentScan& out) {
    if (!cursor_.enter_object()) return false;
    std::string_view name;
    std::string type;
    bool type_is_string = false;
    bool text_is_string = false;
    std::size_t text_chars = 0;
    ImagePartCost image;
    while (cursor_.next_member(name)) {
      bool ok;
      if (name == "type"sv) {
        type.clear();
        type_is_string = kind_at() == Kind::string;
        ok = type_is_string ? cursor_.read_string(type) : cursor_.skip_value();
      } else if (name == "text"sv) {
        text_chars = 0;
        text_is_string = kind_at() == Kind::string;
        ok = text_is_string ? cursor_.measure_string(text_chars) : cursor_.skip_value();
      } else if (ImagePartCost::prices(name)) {
        ok = image.read(cursor_, name);
      } else {
        ok = cursor_.skip_value();
      }
      if (!ok) return false;
    }
    if (!type_is_string) {
      note_bad_part(out, ".type is required and must be a string");
    } else if (type == "text" && !text_is_string) {
      note_bad_part(out, ".text is required and must be a string");
    }
    if (is_image_part(type)) {
      out.images = true;
      out.image_tokens += image.tokens();
    } else if (type == "input_audio" || type == "audio") {
      ++out.audio_parts;
    }
    out.chars += text_chars;
    return !cursor_.failed();
  }

  static void note_bad_part(ContentScan& out, std::string_view problem) {
    if (out.bad_part != SIZE_MAX) return;
    out.bad_part = out.items - 1;
    out.bad_part_problem = problem;
  }

  std::optional<Failure> validate() const {
    if (model_kind_ == Kind::absent) return invalid("'model' is a required property", "model");
    if (model_kind_ != Kind::string) return invalid("'model' must be a string", "model");
    if (stream_kind_ != Kind::absent && stream_kind_ != Kind::boolean &&
        stream_kind_ != Kind::null) {
      return invalid("'stream' must be a boolean", "stream");
    }
    if (stream_options_kind_ != Kind::absent && stream_options_kind_ != Kind::object &&
        stream_options_kind_ != Kind::null) {
      return invalid("'stream_options' must be an object", "stream_options");
    }
    if (stream_options_kind_ == Kind::object && !request_.stream) {
      return invalid("'stream_options' is only allowed when 'stream' is true", "stream_options");
    }
    if (field_problem_) return field_problem_;
    if (endpoint_ == Endpoint::chat_completions && top_logprobs_set_ && !logprobs_on_) {
      return invalid("'top_logprobs' is only allowed when 'logprobs' is true", "top_logprobs");
    }
    switch (endpoint_) {
      case Endpoint::chat_completions:
        if (messages_kind_ == Kind::absent) {
          return invalid("'messages' is a required property", "messages");
        }
        if (messages_kind_ != Kind::array)
          return invalid("'messages' must be an array", "messages");
        if (message_count_ == 0) {
          return invalid("'messages' must contain at least one message", "messages");
        }
        if (messages_problem_) return messages_problem_;
        return tool_problem();
      case Endpoint::completions:
        if (!prompt_) return invalid("'prompt' is a required property", "prompt");
        return prompt_problem();
      case Endpoint::embeddings:
        if (!input_) return invalid("'input' is a required property", "input");
        if (!input_->is_string && !a_list_of_one_kind(*input_)) {
          return invalid("'input' must be a string or a non-empty array of strings or token ids",
                         "input");
        }
        // OpenAI refuses an empty text to embed, alone or in a list.
        if ((input_->is_string && input_->chars == 0) || input_->empty_item) {
          return invalid("'input' must not contain an empty string or an empty array of tokens",
                         "input");
        }
        return std::nullopt;
    }
    return std::nullopt;
  }

  // A non-empty list of texts, of token ids or of lists of token ids.
  static bool a_list_of_one_kind(const ContentScan& list) {
    const unsigned kinds = list.item_kinds;
    return list.is_array && list.items > 0 &&
           (kinds == kTextItem || kinds == kNumberItem || kinds == kListItem);
  }

  // A legacy completion's `prompt`: a string, or a list of one kind (texts, token ids, or lists
  // of token ids); `best_of` candidates enough for `n` choices, and not streamed.
  std::optional<Failure> prompt_problem() const {
    const ContentScan& prompt = *prompt_;
    if (!prompt.is_string && !a_list_of_one_kind(prompt)) {
      return invalid(
          "'prompt' must be a string, or a non-empty array of strings, of token ids or of arrays "
          "of token ids",
          "prompt");
    }
    if (prompt.empty_array_item) {
      return invalid("'prompt' must not contain an empty array of tokens", "prompt");
    }
    if (best_of_ && *best_of_ < request_.summary.choices) {
      return invalid("'best_of' must be at least 'n'", "best_of");
    }
    if (best_of_ && *best_of_ > 1 && request_.stream) {
      return invalid("'best_of' greater than 1 cannot be streamed", "best_of");
    }
    return std::nullopt;
  }

  // Top-level shapes OpenAI rejects: `tools` an array of objects, `tool_choice` a string or an
  // object, `response_format` an object (null counts as absent).
  std::optional<Failure> tool_problem() const {
    const auto is = [](Kind kind, std::initializer_list<Kind> allowed) {
      return kind == Kind::absent || kind == Kind::null ||
             std::find(allowed.begin(), allowed.end(), kind) != allowed.end();
    };
    if (!is(tools_kind_, {Kind::array})) return invalid("'tools' must be an array", "tools");
    if (tools_problem_) return tools_problem_;
    if (!is(tool_choice_kind_, {Kind::string, Kind::object})) {
      return invalid("'tool_choice' must be a string or an object", "tool_choice");
    }
    // A tool the model must call, with none to call: no backend can honour it (the built-in
    // mock would answer in words, and the app would never see its call).
    const bool must_call = tool_choice_kind_ == Kind::object ||
                           (tool_choice_kind_ == Kind::string && tool_choice_ == "required");
    if (must_call && !has_tools_array_ && !has_functions_) {
      return invalid("'tool_choice' requires 'tools' to call; none were given", "tool_choice");
    }
    if (!is(response_format_kind_, {Kind::object})) {
      return invalid("'response_format' must be an object", "response_format");
    }
    return std::nullopt;
  }

  void summarize_content() {
    RequestSummary& out = summary();
    out.has_tools = has_tools_array_ || has_functions_;
    // Both caps set: the larger is room to keep, whichever one the backend honours.
    out.max_tokens_only = max_tokens_ && !max_completion_tokens_;
    out.max_output_tokens = max_completion_tokens_ && max_tokens_
                                ? std::max(*max_completion_tokens_, *max_tokens_)
                            : max_completion_tokens_ ? max_completion_tokens_
                                                     : max_tokens_;
    const ContentScan* text = messages_kind_ == Kind::array ? &messages_
                              : prompt_                     ? &*prompt_
                              : input_                      ? &*input_
                                                            : nullptr;
    if (text) {
      out.content_chars = text->chars;
      out.has_images = text->images;
      out.image_tokens = text->image_tokens;
      out.audio_parts = text->audio_parts;
    }
    out.tools_chars = tools_chars_;
    out.functions_chars = functions_chars_;
    out.format_chars = format_chars_;
    out.content_chars += tools_chars_;
  }

  RequestSummary& summary() { return request_.summary; }

  std::string_view text_;
  JsonCursor cursor_;
  Endpoint endpoint_;
  ParsedRequest request_;
  std::vector<std::string_view> names_;
  std::list<std::string> decoded_names_;  // stable addresses; empty costs no allocation
  Kind model_kind_ = Kind::absent;
  Kind stream_kind_ = Kind::absent;
  Kind stream_options_kind_ = Kind::absent;
  std::optional<std::int64_t> best_of_;
  bool logprobs_on_ = false;
  bool top_logprobs_set_ = false;
  Kind messages_kind_ = Kind::absent;
  std::size_t message_count_ = 0;
  std::optional<Failure> messages_problem_;
  std::optional<Failure> field_problem_;  // a sampling field of the wrong type or out of bounds
  ContentScan messages_;
  std::optional<ContentScan> prompt_, input_;
  Kind tools_kind_ = Kind::absent;
  Kind tool_choice_kind_ = Kind::absent;
  std::string tool_choice_;  // when a string
  Kind response_format_kind_ = Kind::absent;
  std::optional<Failure> tools_problem_;
  bool has_tools_array_ = false;
  std::size_t tools_chars_ = 0;      // the names and strings of the `tools` array
  std::size_t functions_chars_ = 0;  // the same of the legacy `functions`
  std::size_t format_chars_ = 0;     // the bytes of `response_format` (a JSON schema)
  bool has_functions_ = false;
  std::optional<std::int64_t> max_completion_tokens_, max_tokens_;
};

}  // namespace

Expected<ParsedRequest> parse_request(std::string_view text, Endpoint endpoint) {
  return RequestScanner(text, endpoint).run();
}

std::vector<std::string> opening_texts(const ParsedRequest& request) {
  std::vector<std::string> texts;
  const RequestSummary& summary = request.summary;
  for (std::size_t i = 0; i < summary.opening_count && i < summary.openings.size(); ++i) {
    const RequestSummary::Span& span = summary.openings[i];
    if (span.end > request.text.size() || span.begin > span.end) break;
    const std::string_view bytes = request.text.substr(span.begin, span.end - span.begin);
    std::string& text = texts.emplace_back();
    if (span.is_string) {
      JsonCursor(bytes).read_string(text);
      continue;
    }
    json parts;
    if (!parse_json(bytes, parts).ok || !parts.is_array()) continue;
    for (const auto& part : parts) text += string_field(part, "text");
  }
  return texts;
}

const json& ParsedRequest::body() const {
  if (!body_) {
    body_.emplace();
    // A parsed request's text was validated as a JSON object; a default-made one has no text.
    if (!parse_json(text, *body_).ok) *body_ = json::object();
  }
  return *body_;
}

namespace {

// `text` with the bytes [begin, end) replaced by `value` as a JSON string.
std::string splice_at(std::string_view text, std::size_t begin, std::size_t end,
                      std::string_view value) {
  std::string out;
  out.reserve(text.size() + value.size() + 2);
  out.append(text.substr(0, begin));
  const bool plain = value.find_first_of("\"\\") == std::string_view::npos &&
                     std::all_of(value.begin(), value.end(),
                                 [](char c) { return static_cast<unsigned char>(c) >= 0x20; });
  if (plain) {
    out.append(1, '"').append(value).append(1, '"');
  } else {
    out.append(json(std::string(value)).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  out.append(text.substr(end));
  return out;
}

std::string json_string(std::string_view value) {
  return splice_at("", 0, 0, value);
}

// One member of an object, as the client wrote it: its name (decoded) and the bytes of the
// whole member and of its value.
struct MemberText {
  std::string name;
  std::string_view member;  // from the name's opening quote to the value's end
  std::string_view value;
};

// The members of the object `text` is (empty when it is not one), each as written.
std::optional<std::vector<MemberText>> members_as_written(std::string_view text) {
  JsonCursor cursor(text);
  if (cursor.peek() != '{' || !cursor.enter_object()) return std::nullopt;
  std::vector<MemberText> members;
  std::string_view name;
  while (true) {
    const std::size_t before = cursor.offset();
    if (!cursor.next_member(name)) break;
    const std::size_t name_begin = text.find('"', before);
    const std::size_t value_begin = cursor.offset();
    if (!cursor.skip_value()) return std::nullopt;
    const std::size_t end = cursor.offset();
    members.push_back({std::string(name), text.substr(name_begin, end - name_begin),
                       text.substr(value_begin, end - value_begin)});
  }
  if (cursor.failed() || !cursor.finish()) return std::nullopt;
  return members;
}

// `stream_options` as written with include_usage set to true (and any other option kept).
std::string asking_usage(std::string_view options) {
  std::string out = R"({"include_usage":true)";
  for (const auto& member : members_as_written(options).value_or(std::vector<MemberText>{})) {
    if (member.name != "include_usage") out.append(",").append(member.member);
  }
  return out + "}";
}

struct BodyEdits {
  std::string_view model;
  bool drop_metadata = false;
  bool drop_stream_options = false;
  bool ask_usage = false;
  BodyFields fields;
};

// The value of field `name` in `fields` (a name listed twice: the last), or null.
const std::string* field_value(const std::vector<std::pair<std::string, std::string>>* fields,
                               std::string_view name) {
  if (fields == nullptr) return nullptr;
  const std::string* value = nullptr;
  for (const auto& [field, text] : *fields) {
    if (field == name) value = &text;
  }
  return value;
}

// The client's body with the edits made member by member: every other member reaches the
// backend byte for byte (a DOM would round big integers to doubles, collapse repeated keys
// inside objects and decode escapes). Nothing when the text is not an object.
std::optional<std::string> edited_body(std::string_view text, const BodyEdits& edits) {
  const auto members = members_as_written(text);
  if (!members) return std::nullopt;
  std::string out;
  out.reserve(text.size() + edits.model.size() + 48);
  out += '{';
  const auto add = [&out](std::string_view member_name, std::string_view value) {
    if (out.size() > 1) out += ',';
    out.append(member_name).append(":").append(value);
  };
  bool has_model = false;
  bool has_options = false;
  std::vector<std::string_view> present;  // the client's member names
  for (const auto& member : *members) {
    const std::string_view written_name =
        member.member.substr(0, member.member.size() - member.value.size());
    present.push_back(member.name);
    if (const std::string* forced = field_value(edits.fields.overrides, member.name)) {
      add(written_name.substr(0, written_name.rfind(':')), *forced);
    } else if (member.name == "model") {
      has_model = true;
      add(written_name.substr(0, written_name.rfind(':')), json_string(edits.model));
    } else if (member.name == "metadata" && edits.drop_metadata) {
      continue;
    } else if (member.name == "stream_options" && edits.drop_stream_options) {
      continue;
    } else if (member.name == "max_tokens" && edits.fields.max_completion_tokens) {
      add(R"("max_completion_tokens")", member.value);
    } else if (member.name == "stream_options" && edits.ask_usage) {
      has_options = true;
      add(R"("stream_options")", asking_usage(member.value));
    } else {
      if (out.size() > 1) out += ',';
      out.append(member.member);
    }
  }
  if (!has_model) add(R"("model")", json_string(edits.model));
  if (edits.ask_usage && !has_options) add(R"("stream_options")", R"({"include_usage":true})");
  const auto add_missing = [&](const std::vector<std::pair<std::string, std::string>>* fields) {
    if (fields == nullptr) return;
    for (const auto& [name, value] : *fields) {
      if (std::find(present.begin(), present.end(), name) != present.end()) continue;
      present.push_back(name);
      add(json_string(name), *field_value(fields, name));
    }
  };
  add_missing(edits.fields.overrides);
  add_missing(edits.fields.defaults);
  out += '}';
  return out;
}

}  // namespace

bool is_usage_only_chunk(std::string_view data) {
  if (data.find("\"usage\"") == std::string_view::npos) return false;  // most chunks
  const json parsed = json::parse(data, nullptr, false);
  if (!parsed.is_object()) return false;
  const auto choices = parsed.find("choices");
  return choices != parsed.end() && choices->is_array() && choices->empty();
}

std::string body_for_backend(const ParsedRequest& request, const std::string& upstream_model,
                             StreamOptions stream_options, BodyFields fields) {
  fields.max_completion_tokens = fields.max_completion_tokens && request.summary.max_tokens_only;
  const bool ask_usage = stream_options == StreamOptions::ask_usage && request.stream &&
                         !request.summary.include_usage;
  const bool drop_options =
      stream_options == StreamOptions::left_out && request.summary.has_stream_options;
  // `metadata` is the router's routing input; OpenAI refuses it unless `store` is true, and
  // strict servers (Mistral) refuse any field they do not know.
  const bool drop_metadata = request.summary.has_metadata && !request.summary.store;
  if ((!ask_usage || !request.summary.has_stream_options) && !drop_metadata && !drop_options &&
      fields.empty()) {
    std::optional<std::string> text;
    if (request.model_end > request.model_begin && request.model_end <= request.text.size()) {
      text = splice_at(request.text, request.model_begin, request.model_end, upstream_model);
    }
    if (text) {
      // A UTF-8 byte order mark the router reads past: strict servers (Go's encoding/json)
      // refuse it.
      if (text->starts_with("\xEF\xBB\xBF")) text->erase(0, 3);
      if (ask_usage) {
        const size_t brace = text->find('{');
        text->insert(brace + 1, R"("stream_options":{"include_usage":true},)");
      }
      return std::move(*text);
    }
  }
  if (auto edited = edited_body(request.text, {.model = upstream_model,
                                               .drop_metadata = drop_metadata,
                                               .drop_stream_options = drop_options,
                                               .ask_usage = ask_usage,
                                               .fields = fields})) {
    return std::move(*edited);
  }
  // A parsed request that is no text (made in code): its tree, in the client's key order.
  auto copy = in_client_order(request.text, request.body());
  if (!copy.is_object()) copy = nlohmann::ordered_json(request.body());
  copy["model"] = upstream_model;
  if (fields.overrides != nullptr) {
    for (const auto& [name, value] : *fields.overrides) {
      copy[name] = nlohmann::ordered_json::parse(value);
    }
  }
  if (fields.defaults != nullptr) {
    for (const auto& [name, value] : *fields.defaults) {
      if (!copy.contains(name)) copy[name] = nlohmann::ordered_json::parse(value);
    }
  }
  if (drop_metadata) copy.erase("metadata");
  if (drop_options) copy.erase("stream_options");
  if (fields.max_completion_tokens) {
    copy["max_completion_tokens"] = copy["max_tokens"];
    copy.erase("max_tokens");
  }
  if (ask_usage) {
    auto& options = copy["stream_options"];
    if (!options.is_object()) options = nlohmann::ordered_json::object();
    options["include_usage"] = true;
  }
  return copy.dump(-1, ' ', false, json::error_handler_t::replace);
}

// More tokens than this in one answer is a backend's bug (the largest context windows hold
// ~10M): such a count is left out, or one answer (2^63 - 1 tokens, seen) would overflow the
// token and cost totals for good.
constexpr long long kMostTokensInOneAnswer = 100'000'000;

// The number after a member name's closing quote, or -1.
long long token_count_at(const char* p, const char* end) {
  while (p < end && (*p == ':' || *p == ' ')) ++p;
  long long count = -1;
  std::from_chars(p, end, count);
  return count > kMostTokensInOneAnswer ? -1 : count;
}

// The quote that ends a JSON string whose text starts at `p` (one no backslash escapes), or
// nullptr.
const char* closing_quote(const char* p, const char* end) {
  while (true) {
    const auto* quote = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (quote == nullptr) return nullptr;
    std::size_t backslashes = 0;
    while (quote - backslashes > p &&
           quote[-1 - static_cast<std::ptrdiff_t>(backslashes)] == '\\') {
      ++backslashes;
    }
    if (backslashes % 2 == 0) return quote;
    p = quote + 1;
  }
}

// The counts named `"prompt_tokens"`, `"completion_tokens"` and `"cached_tokens"` first from
// `text`'s start, each -1 when absent or not a number. One pass from quoted text to quoted text
// (memchr from quote to quote), not one search of the text per name.
std::array<long long, 3> usage_counts(std::string_view text) {
  static constexpr std::array<std::string_view, 3> kNames = {"prompt_tokens", "completion_tokens",
                                                             "cached_tokens"};
  std::array<long long, 3> counts = {-1, -1, -1};
  std::array<bool, 3> seen = {false, false, false};
  const char* p = text.data();
  const char* const end = p + text.size();
  while (!(seen[0] && seen[1] && seen[2])) {
    const auto* open = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (open == nullptr) break;
    const char* close = closing_quote(open + 1, end);
    if (close == nullptr) break;
    const std::string_view quoted(open + 1, static_cast<size_t>(close - open - 1));
    p = close + 1;
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (seen[i] || quoted != kNames[i]) continue;
      seen[i] = true;
      counts[i] = token_count_at(p, end);
    }
  }
  return counts;
}

std::optional<Usage> find_usage(std::string_view text) {
  return usage_at(text, last_member_name(text, "\"usage\""));
}

std::optional<Usage> usage_at(std::string_view text, std::size_t at) {
  if (at >= text.size()) return std::nullopt;
  const auto [prompt, completion, cached] = usage_counts(text.substr(at));
  Usage usage;
  usage.prompt_tokens = prompt;
  usage.completion_tokens = completion;
  if (usage.prompt_tokens < 0 && usage.completion_tokens < 0) return std::nullopt;
  usage.prompt_tokens = std::max(0LL, usage.prompt_tokens);
  usage.completion_tokens = std::max(0LL, usage.completion_tokens);
  // prompt_tokens_details.cached_tokens (OpenAI, DeepSeek's prompt_cache_hit_tokens aside).
  usage.cached_prompt_tokens = std::clamp(cached, 0LL, usage.prompt_tokens);
  return usage;
}

bool is_error_event(std::string_view data) {
  if (data.find("\"error\"") == std::string_view::npos) return false;
  const json parsed = json::parse(data, nullptr, false);
  if (!parsed.is_object()) return false;
  // {"error": {...}} as OpenAI sends it, also beside choices (OpenRouter's chunk for a provider
  // that failed mid-answer), or {"object": "error", "message": ...} (vLLM).
  const auto error = parsed.find("error");
  if (error != parsed.end() && (error->is_object() || error->is_string())) return true;
  const auto object = parsed.find("object");
  if (object != parsed.end() && *object == "error") return true;
  // A choice that finished with "error" (OpenRouter's finish_reason for a failed generation).
  const auto choices = parsed.find("choices");
  if (choices == parsed.end() || !choices->is_array()) return false;
  return std::any_of(choices->begin(), choices->end(), [](const json& choice) {
    const auto reason = choice.is_object() ? choice.find("finish_reason") : choice.end();
    return reason != choice.end() && *reason == "error";
  });
}

}  // namespace llm_router::api
