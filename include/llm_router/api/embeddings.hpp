#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// OpenAI's embeddings API as the router itself calls it (semantic routing).
namespace llm_router::api {

// A POST /embeddings body asking `model` for the vector of one text (`input` is a string).
std::string embeddings_request(std::string_view model, std::string_view input);
// A POST /embeddings body asking `model` for one vector per input, in one batch (`input` is an
// array, even of one).
std::string embeddings_request(std::string_view model, const std::vector<std::string>& inputs);

// The vectors of an embeddings answer, ordered by each item's `index` (in order when absent).
// nullopt unless it is JSON with exactly `expected` items in `data`, each an `embedding` array
// of finite numbers, all of one non-zero dimension, with distinct indexes below `expected`.
std::optional<std::vector<std::vector<float>>> parse_embeddings(std::string_view body,
                                                                std::size_t expected);

// An embeddings answer for a client that asked for encoding_format "base64" (the openai SDKs'
// default, which they decode whatever comes): each `embedding` sent as an array of numbers is
// re-encoded as base64 of little-endian float32, as OpenAI answers. nullopt when none needed it.
std::optional<std::string> embeddings_as_base64(std::string_view body);

}  // namespace llm_router::api
