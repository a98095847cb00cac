#pragma once

#include <string>

#include "llm_router/server/http_types.hpp"

namespace llm_router::proxy {

// A stable, non-reversible id of the client's API key (`Authorization: Bearer ...` or
// `x-api-key`), for logs and per-key totals: "key-" + 12 hex digits of its SHA-256. Empty when
// the request carries no key. The key itself is never stored.
std::string client_key_id(const server::HttpRequest& request);

}  // namespace llm_router::proxy
