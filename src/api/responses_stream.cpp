// A streamed chat completion -> the Responses API's stream of events.
#include "llm_router/api/json_parse.hpp"
#include "llm_router/api/responses.hpp"
#include "responses_items.hpp"

namespace llm_router::api {

using nlohmann::json;

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// A surrogate as parse_backend_json keeps a lone one: ED A0..BF xx (high ones: ED A0..AF).
bool surrogate_at(std::string_view text, std::size_t i) {
  return i + 3 <= text.size() && static_cast<unsigned char>(text[i]) == 0xED &&
         static_cast<unsigned char>(text[i + 1]) >= 0xA0;
}
bool high_surrogate_at(std::string_view text, std::size_t i) {
  return surrogate_at(text, i) && static_cast<unsigned char>(text[i + 1]) <= 0xAF;
}
std::uint32_t surrogate_value(std::string_view text, std::size_t i) {
  return 0xD000 | (static_cast<std::uint32_t>(text[i + 1] & 0x3F) << 6) |
         static_cast<std::uint32_t>(text[i + 2] & 0x3F);
}

void append_code_point(std::string& out, std::uint32_t cp) {  // U+10000 and above
  out += static_cast<char>(0xF0 | (cp >> 18));
  out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out += static_cast<char>(0x80 | (cp & 0x3F));
}

// A delta of a text streamed in parts, after `held` (the high surrogate the part before ended
// with): backends that cut strings by UTF-16 units (JavaScript's) may split an emoji's pair
// between two chunks. The pair is joined into its character, a trailing high surrogate is held
// for the next delta, any other lone surrogate becomes U+FFFD.
std::string joined_text(std::string& held, std::string_view delta) {
  std::string text = std::exchange(held, {});
  text.append(delta);
  if (text.find('\xED') == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (!surrogate_at(text, i)) {
      out += text[i++];
    } else if (high_surrogate_at(text, i) && surrogate_at(text, i + 3) &&
               !high_surrogate_at(text, i + 3)) {
      append_code_point(out, 0x10000 + ((surrogate_value(text, i) - 0xD800) << 10) +
                                 (surrogate_value(text, i + 3) - 0xDC00));
      i += 6;
    } else if (high_surrogate_at(text, i) && i + 3 == text.size()) {
      held = text.substr(i);
      break;
    } else {
      out += kReplacement;
      i += 3;
    }
  }
  return out;
}

}  // namespace

ResponsesStream::ResponsesStream(json shell, ResponseItemStore* items, std::string owner)
    : response_(std::move(shell)), items_(items), owner_(std::move(owner)) {}

std::string ResponsesStream::feed(std::string_view chat_sse) {
  std::string out;
  std::vector<SseEvent> events;
  parser_.feed(chat_sse, events);
  if (!started_) {
    if (events.empty()) return out;  // response.created waits for the first chat event
    adopt_model(events);
  }
  start(out);
  for (const auto& event : events) on_event(event, out);
  return out;
}

// response.created names the model that answers, as OpenAI's does, not the route asked for:
// the first chunk says which.
void ResponsesStream::adopt_model(const std::vector<SseEvent>& events) {
  for (const auto& event : events) {
    if (event.is_done()) return;
    const json chunk = parse_backend_json(event.data);
    if (const std::string* model = string_at(chunk, "model"); model && !model->empty()) {
      response_["model"] = *model;
      return;
    }
  }
}

std::string ResponsesStream::finish() {
  std::string out;
  start(out);
  if (ended_) return out;
  if (!finish_reason_.empty()) {
    complete(out);
  } else {
    on_error({{"message", "the stream ended before the answer was complete"},
              {"type", "server_error"},
              {"code", "upstream_closed"}},
             out);
  }
  return out;
}

void ResponsesStream::emit(std::string_view type, json event, std::string& out) {
  json framed{{"type", type}, {"sequence_number", sequence_++}};
  framed.update(event);
  out += "event: ";
  out += type;
  out += "\ndata: ";
  out += framed.dump(-1, ' ', false, json::error_handler_t::replace);
  out += "\n\n";
}

void ResponsesStream::start(std::string& out) {
  if (started_) return;
  started_ = true;
  emit("response.created", {{"response", response_}}, out);
  emit("response.in_progress", {{"response", response_}}, out);
}

void ResponsesStream::on_event(const SseEvent& event, std::string& out) {
  if (ended_) return;
  if (event.is_done()) {
    complete(out);
    return;
  }
  const json chunk = parse_backend_json(event.data, /*keep_lone_surrogates=*/true);
  if (!chunk.is_object()) return;  // a comment or keep-alive the chat stream may carry
  if (auto error = chunk.find("error"); error != chunk.end() && !error->is_null()) {
    on_error(*error, out);
    return;
  }
  on_chunk(chunk, out);
}

void ResponsesStream::on_chunk(const json& chunk, std::string& out) {
  if (const std::string* model = string_at(chunk, "model"); model && !model->empty()) {
    response_["model"] = *model;
  }
  if (const std::string* tier = string_at(chunk, "service_tier")) response_["service_tier"] = *tier;
  if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    response_["usage"] = response_usage(*usage);
  }
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return;
  for (const json& choice : *choices) {
    // A Response has one answer: the chat request never asks for more than one choice.
    if (!choice.is_object() || integer_or(choice, "index", 0) != 0) continue;
    const json& delta = choice.contains("delta") ? choice["delta"] : json::object();
    if (const std::string* thought = reasoning_text(delta)) reasoning_delta(*thought, out);
    // A string, or (some servers) an array of text parts.
    if (auto content = delta.find("content"); content != delta.end()) {
      if (const auto text = text_of_content(*content); text && !text->empty()) {
        text_delta(*text, false, out, choice_logprobs(choice));
      }
    }
    if (const std::string* refusal = string_at(delta, "refusal"); refusal && !refusal->empty()) {
      text_delta(*refusal, true, out);
    }
    if (auto calls = delta.find("tool_calls"); calls != delta.end() && calls->is_array()) {
      for (const json& call : *calls) call_delta(call, out);
    }
    if (auto annotations = delta.find("annotations"); annotations != delta.end() && message_) {
      for (json& annotation : response_annotations(*annotations)) {
        message_->annotations.push_back(std::move(annotation));
      }
    }
    if (const std::string* reason = string_at(choice, "finish_reason")) finish_reason_ = *reason;
  }
}

void ResponsesStream::reasoning_delta(std::string_view delta, std::string& out) {
  if (!reasoning_) {
    // Thinking that follows text or calls is an item of its own, after them.
    close_message(out);
    close_calls(out);
    reasoning_ = ReasoningPart{next_output_index_++, new_item_id("rs_"), ""};
    emit("response.output_item.added",
         {{"output_index", reasoning_->output_index},
          {"item", reasoning_item(reasoning_->item_id, "")}},
         out);
    emit("response.reasoning_summary_part.added",
         {{"item_id", reasoning_->item_id},
          {"output_index", reasoning_->output_index},
          {"summary_index", 0},
          {"part", {{"type", "summary_text"}, {"text", ""}}}},
         out);
  }
  const std::string piece = joined_text(reasoning_->held, delta);
  if (piece.empty()) return;
  reasoning_->text.append(piece);
  emit("response.reasoning_summary_text.delta",
       {{"item_id", reasoning_->item_id},
        {"output_index", reasoning_->output_index},
        {"summary_index", 0},
        {"delta", piece}},
       out);
}

void ResponsesStream::close_reasoning(std::string& out) {
  if (!reasoning_) return;
  if (!reasoning_->held.empty()) {  // half a character the stream never finished
    reasoning_->held.clear();
    reasoning_delta(kReplacement, out);
  }
  const ReasoningPart& part = *reasoning_;
  const json where{
      {"item_id", part.item_id}, {"output_index", part.output_index}, {"summary_index", 0}};
  json done = where;
  done["text"] = part.text;
  emit("response.reasoning_summary_text.done", std::move(done), out);
  json part_done = where;
  part_done["part"] = {{"type", "summary_text"}, {"text", part.text}};
  emit("response.reasoning_summary_part.done", std::move(part_done), out);
  json item = reasoning_item(part.item_id, part.text);
  emit("response.output_item.done", {{"output_index", part.output_index}, {"item", item}}, out);
  output_[part.output_index] = std::move(item);
  reasoning_.reset();
}

void ResponsesStream::open_message(bool refusal, std::string& out) {
  close_reasoning(out);  // the thinking came first and is over
  if (message_ && message_->refusal != refusal) close_message(out);
  if (message_) return;
  message_ = MessagePart{next_output_index_++, new_item_id("msg_"), refusal, ""};
  had_message_ = true;
  emit("response.output_item.added",
       {{"output_index", message_->output_index},
        {"item", message_item(message_->item_id, "in_progress", refusal, "")}},
       out);
  emit("response.content_part.added",
       {{"item_id", message_->item_id},
        {"output_index", message_->output_index},
        {"content_index", 0},
        {"part", text_part(refusal, "")}},
       out);
}

void ResponsesStream::text_delta(std::string_view delta, bool refusal, std::string& out,
                                 json logprobs) {
  open_message(refusal, out);
  const std::string piece = joined_text(message_->held, delta);
  if (piece.empty() && logprobs.empty()) return;
  message_->text.append(piece);
  json event{{"item_id", message_->item_id},
             {"output_index", message_->output_index},
             {"content_index", 0},
             {"delta", piece}};
  if (!refusal) {
    for (const json& entry : logprobs) message_->logprobs.push_back(entry);
    event["logprobs"] = std::move(logprobs);
  }
  emit(refusal ? "response.refusal.delta" : "response.output_text.delta", std::move(event), out);
}

void ResponsesStream::close_message(std::string& out) {
  if (!message_) return;
  if (!message_->held.empty()) {
    message_->held.clear();
    text_delta(kReplacement, message_->refusal, out);
  }
  const MessagePart& part = *message_;
  json done{{"item_id", part.item_id}, {"output_index", part.output_index}, {"content_index", 0}};
  if (part.refusal) {
    done["refusal"] = part.text;
    emit("response.refusal.done", done, out);
  } else {
    done["text"] = part.text;
    done["logprobs"] = part.logprobs;
    emit("response.output_text.done", done, out);
  }
  json finished_part = text_part(part.refusal, part.text);
  if (!part.refusal && !part.logprobs.empty()) finished_part["logprobs"] = part.logprobs;
  if (!part.refusal) finished_part["annotations"] = part.annotations;
  emit("response.content_part.done",
       {{"item_id", part.item_id},
        {"output_index", part.output_index},
        {"content_index", 0},
        {"part", finished_part}},
       out);
  json item = message_item(part.item_id, item_status(), part.refusal, part.text);
  if (!part.refusal && !part.logprobs.empty()) item["content"][0]["logprobs"] = part.logprobs;
  if (!part.refusal) item["content"][0]["annotations"] = part.annotations;
  emit("response.output_item.done", {{"output_index", part.output_index}, {"item", item}}, out);
  output_[part.output_index] = std::move(item);
  message_.reset();
}

// The first delta of a call names it (id, function name); later ones carry argument text. A
// new call finishes the ones before it whose arguments are whole, as OpenAI's items come one
// after another (a chat stream sends its parallel calls in turn). A backend that interleaves
// its calls (names first, arguments after) leaves them unfinished: they stay open and take
// their deltas until the answer ends. Were it to come back to a finished one, its text still
// reaches that item's final arguments.
void ResponsesStream::call_delta(const json& call, std::string& out) {
  if (!call.is_object()) return;
  const long long index = integer_or(call, "index", 0);
  const json& function = call.contains("function") ? call["function"] : json::object();
  if (const auto finished = finished_calls_.find(index); finished != finished_calls_.end()) {
    if (const std::string* arguments = string_at(function, "arguments")) {
      json& item = output_[finished->second];
      std::string unjoined;  // a late half of a character is dropped here
      item["arguments"] =
          item.value("arguments", std::string()) + joined_text(unjoined, *arguments);
    }
    return;
  }
  auto found = calls_.find(index);
  if (found == calls_.end()) {
    close_reasoning(out);
    close_message(out);  // text before the calls is its own item, finished first
    close_calls(out, OnlyWhole::yes);
    FunctionCall fresh{next_output_index_++, new_item_id("fc_"), "", "", ""};
    const std::string* id = string_at(call, "id");
    const std::string* name = string_at(function, "name");
    fresh.call_id = id && !id->empty() ? *id : new_item_id("call_");  // "" is no id either
    had_call_ = true;
    fresh.name = name ? *name : "";
    found = calls_.emplace(index, std::move(fresh)).first;
    const FunctionCall& added = found->second;
    emit(
        "response.output_item.added",
        {{"output_index", added.output_index},
         {"item", function_call_item(added.item_id, "in_progress", added.call_id, added.name, "")}},
        out);
  }
  FunctionCall& current = found->second;
  if (const std::string* arguments = string_at(function, "arguments");
      arguments && !arguments->empty()) {
    arguments_delta(current, joined_text(current.held, *arguments), out);
  }
}

void ResponsesStream::arguments_delta(FunctionCall& call, const std::string& piece,
                                      std::string& out) {
  if (piece.empty()) return;
  call.arguments += piece;
  emit("response.function_call_arguments.delta",
       {{"item_id", call.item_id}, {"output_index", call.output_index}, {"delta", piece}}, out);
}

void ResponsesStream::close_calls(std::string& out, OnlyWhole only_whole) {
  for (auto it = calls_.begin(); it != calls_.end();) {
    auto& [index, call] = *it;
    if (only_whole == OnlyWhole::yes && !is_json_object(call.arguments)) {
      ++it;
      continue;
    }
    if (!call.held.empty()) {
      call.held.clear();
      arguments_delta(call, std::string(kReplacement), out);
    }
    // A function without parameters: OpenAI sends "{}", and agent SDKs parse what they get.
    if (call.arguments.empty()) call.arguments = "{}";
    emit("response.function_call_arguments.done",
         {{"item_id", call.item_id},
          {"output_index", call.output_index},
          {"name", call.name},
          {"arguments", call.arguments}},
         out);
    json item =
        function_call_item(call.item_id, item_status(), call.call_id, call.name, call.arguments);
    emit("response.output_item.done", {{"output_index", call.output_index}, {"item", item}}, out);
    output_[call.output_index] = std::move(item);
    finished_calls_.emplace(index, call.output_index);
    it = calls_.erase(it);
  }
}

// A message cut by max tokens or the content filter is as incomplete as its Response.
std::string_view ResponsesStream::item_status() const {
  return finish_reason_ == "length" || finish_reason_ == "content_filter" ? "incomplete"
                                                                          : "completed";
}

json ResponsesStream::output_so_far() const {
  json output = json::array();
  for (const auto& [index, item] : output_) output.push_back(item);
  if (reasoning_) output.push_back(reasoning_item(reasoning_->item_id, reasoning_->text));
  if (message_) {
    output.push_back(
        message_item(message_->item_id, "incomplete", message_->refusal, message_->text));
  }
  for (const auto& [index, call] : calls_) {
    output.push_back(
        function_call_item(call.item_id, "incomplete", call.call_id, call.name, call.arguments));
  }
  return output;
}

void ResponsesStream::complete(std::string& out) {
  // No text and no call is still an (empty) message, as a non-streamed answer's is.
  if (!had_message_ && !had_call_) open_message(false, out);
  close_reasoning(out);
  close_message(out);
  close_calls(out);
  response_["output"] = output_so_far();
  if (items_ != nullptr) items_->remember(response_["output"], owner_);
  if (response_["usage"].is_null()) response_["usage"] = response_usage(json());
  const std::string status = set_final_status(response_, finish_reason_);
  emit(status == "completed" ? "response.completed" : "response.incomplete",
       {{"response", response_}}, out);
  ended_ = true;
}

// The chat stream's error event: an `error` event, then response.failed.
void ResponsesStream::on_error(const json& error, std::string& out) {
  const std::string* message = string_at(error, "message");
  const std::string* code = string_at(error, "code");
  const std::string* type = string_at(error, "type");
  const std::string code_text = code ? *code : (type ? *type : "server_error");
  const std::string message_text = message ? *message : "the backend failed";
  emit("error",
       {{"code", code_text},
        {"message", message_text},
        {"param", error.is_object() && error.contains("param") ? error["param"] : json()}},
       out);
  response_["status"] = "failed";
  response_["error"] = {{"code", code_text}, {"message", message_text}};
  response_["output"] = output_so_far();  // what the client already received
  if (items_ != nullptr) items_->remember(response_["output"], owner_);
  emit("response.failed", {{"response", response_}}, out);
  ended_ = true;
}

}  // namespace llm_router::api
