#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "llm_router/config/yaml_reader.hpp"

namespace llm_router::config {

// A key clients present (`Authorization: Bearer`, `x-api-key` or `api-key`). When the config
// lists any, the API answers only requests carrying one of them.
struct ClientKey {
  std::string name;        // shown for it in logs, stats and the request log
  std::string key_sha256;  // 64 lowercase hex digits; the key itself is not kept
  std::int64_t rpm = 0;    // requests per minute it may send; 0 = unlimited
  std::int64_t tpm = 0;    // tokens (prompt + answer) per minute; 0 = unlimited
  // The routes and backends it may name in `model`; empty = every one clients may name.
  std::vector<std::string> models;
};

ClientKey read_client_key(NodeReader reader);
// Names and keys unique (an error names the entry, never the key); `models` name routes or
// backends of `model_names`.
void validate_client_keys(NodeReader& root, const YAML::Node& list,
                          const std::vector<ClientKey>& keys,
                          const std::set<std::string, std::less<>>& model_names);

}  // namespace llm_router::config
