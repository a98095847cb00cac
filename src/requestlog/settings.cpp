#include "llm_router/requestlog/settings.hpp"

namespace llm_router::requestlog {

RequestLogSettings read_request_log_settings(config::NodeReader reader) {
  RequestLogSettings s;
  const bool configured = reader.has("max_bytes") || reader.has("max_files") ||
                          reader.has("log_prompts") || reader.has("redact") ||
                          reader.has("queue_lines") || reader.has("max_prompt_bytes");
  if (auto v = reader.string("path", configured)) {
    if (v->empty()) {
      reader.error("path", "must not be empty");
    } else {
      s.path = std::move(*v);
      const auto mark = reader.raw("path").Mark();
      s.path_line = mark.line + 1;
      s.path_column = mark.column + 1;
    }
  }
  constexpr std::int64_t kTiB = 1LL << 40;
  if (auto v = reader.integer("max_bytes", 4096, kTiB)) s.max_bytes = *v;
  if (auto v = reader.integer("max_files", 0, 1000)) s.max_files = static_cast<int>(*v);
  if (auto v = reader.boolean("log_prompts")) s.log_prompts = *v;
  if (auto v = reader.boolean("redact")) s.redact = *v;
  if (auto v = reader.integer("queue_lines", 1, 1'000'000)) {
    s.queue_lines = static_cast<std::size_t>(*v);
  }
  if (auto v = reader.integer("max_prompt_bytes", 0, 16LL << 20)) {
    s.max_prompt_bytes = static_cast<std::size_t>(*v);
  }
  reader.finish();
  return s;
}

}  // namespace llm_router::requestlog
