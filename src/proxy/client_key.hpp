#pragma once

#include <string>
#include <string_view>

#include "llm_router/proxy/runtime.hpp"
#include "llm_router/server/http_types.hpp"

namespace llm_router::proxy {

// The header the client's API key is read from: `authorization` (a Bearer token), else
// `x-api-key`, else `api-key`; empty when none is there.
std::string_view key_header(const server::HttpRequest& request);

// A stable, non-reversible id of the client's API key (`Authorization: Bearer ...`,
// `x-api-key` or `api-key`), for logs and per-key totals: "key-" + 12 hex digits of its
// SHA-256. Empty when the request carries no key. The key itself is never stored.
std::string client_key_id(const server::HttpRequest& request);

// The config's client key the request presents (its SHA-256 among the snapshot's), or null:
// none presented, or not one of them.
const ClientEntry* find_client(const server::HttpRequest& request, const Snapshot& snapshot);

// Who sent the request, for logs, stats and the Responses item store: the name of its
// configured client key, else client_key_id.
std::string client_identity(const server::HttpRequest& request, const Snapshot& snapshot);

}  // namespace llm_router::proxy
