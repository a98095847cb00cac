// What reaches the backend is what the client sent, and what reaches the client is what the
// backend sent: key order, stream timing of non-text deltas.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <mutex>

#include "integration/router_config.hpp"
#include "support/canned_backend.hpp"
#include "support/fixtures.hpp"

namespace test_support {
namespace {

using nlohmann::json;

std::string sse_response(const std::string& events) {
  return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n" + events;
}

const std::string kChatAnswer =
    R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"{\"reasoning\":\"r\",\"answer\":\"a\"}"},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}})";

const std::string kStream =
    R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"{}"},"finish_reason":null}]})"
    "\n\n"
    R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"
    "\n\ndata: [DONE]\n\n";

// A JSON schema whose properties are not in alphabetical order: a model writes the fields in
// the order given, so "reasoning" must stay before "answer".
const std::string kSchema =
    R"({"type":"object","properties":{"reasoning":{"type":"string"},"answer":{"type":"string"}},)"
    R"("required":["reasoning","answer"]})";

// A backend answering kChatAnswer (kStream to a stream request) that keeps every body it got.
struct RecordingBackend {
  std::mutex mutex;
  std::vector<std::string> bodies;
  CannedBackend backend{[this](const std::string& body) {
    std::lock_guard lock(mutex);
    bodies.push_back(body);
    const bool stream = body.find("\"stream\":true") != std::string::npos;
    return stream ? sse_response(kStream) : http_response(200, "application/json", kChatAnswer);
  }};

  std::string last() {
    std::lock_guard lock(mutex);
    return bodies.empty() ? std::string() : bodies.back();
  }
};

// The request bodies the backend received for each of `requests` (path, body).
std::vector<std::string> bodies_received(
    const std::vector<std::pair<std::string, std::string>>& requests) {
  RecordingBackend recording;
  Router router(router_config({{"only", recording.backend.url()}}, "[only]"));
  HttpClient client(router.port());
  for (const auto& [path, body] : requests) {
    const auto response = client.post_json(path, body);
    EXPECT_EQ(response.status, 200) << path << " " << body << "\n" << response.body;
  }
  std::lock_guard lock(recording.mutex);
  return recording.bodies;
}

bool reasoning_before_answer(const std::string& body) {
  const auto reasoning = body.find("\"reasoning\":{");
  const auto answer = body.find("\"answer\":{");
  return reasoning != std::string::npos && answer != std::string::npos && reasoning < answer;
}

TEST(Fidelity, ASchemaKeepsItsPropertyOrderOnEveryPath) {
  const std::string format =
      R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":)" + kSchema +
      "}}";
  const std::string tools =
      R"(,"tools":[{"type":"function","function":{"name":"f","parameters":)" + kSchema + "}}]";
  const auto bodies = bodies_received({
      {"/v1/chat/completions", chat_body("auto", "x", format)},
      // stream_options present without include_usage: the body is re-serialized to add it.
      {"/v1/chat/completions",
       chat_body("auto", "x",
                 format + R"(,"stream":true,"stream_options":{"include_usage":false})")},
      {"/v1/chat/completions",
       chat_body("auto", "x", tools + R"(,"stream":true,"stream_options":{})")},
      {"/v1/responses",
       R"({"model":"auto","input":"x","text":{"format":{"type":"json_schema","name":"x","schema":)" +
           kSchema + "}}}"},
      {"/v1/responses",
       R"({"model":"auto","input":"x","tools":[{"type":"function","name":"f","parameters":)" +
           kSchema + "}]}"},
  });
  ASSERT_EQ(bodies.size(), 5u);
  for (const auto& body : bodies) EXPECT_TRUE(reasoning_before_answer(body)) << body;
  EXPECT_NE(bodies[1].find(R"("include_usage":true)"), std::string::npos) << bodies[1];
}

// A client that refers to an earlier answer's items by id (the Vercel AI SDK with `store` left
// on) has them sent to the backend as the turns they were, streamed or not.
TEST(Fidelity, ResponsesItemReferencesBecomeTheTurnsTheyName) {
  RecordingBackend recording;
  Router router(router_config({{"only", recording.backend.url()}}, "[only]"));
  HttpClient client(router.port());
  for (const bool stream : {false, true}) {
    const std::string flag = stream ? "true" : "false";
    const auto first =
        client.post_json("/v1/responses", R"({"model":"auto","input":"hi","stream":)" + flag + "}");
    ASSERT_EQ(first.status, 200) << first.body;
    const auto id_at = first.body.find("\"id\":\"msg_");
    ASSERT_NE(id_at, std::string::npos) << first.body;
    const std::string id =
        first.body.substr(id_at + 6, first.body.find('"', id_at + 6) - id_at - 6);
    const auto second = client.post_json(
        "/v1/responses", R"({"model":"auto","input":[{"role":"user","content":"hi"},)"
                         R"({"type":"item_reference","id":")" +
                             id + R"("},{"role":"user","content":"and then?"}]})");
    ASSERT_EQ(second.status, 200) << second.body;
    const std::string sent = recording.last();
    EXPECT_NE(sent.find(R"({"role":"assistant","content":)"), std::string::npos) << sent;
  }
}

// The backend's headers an SDK reads are relayed; its request id under a name of its own (the
// router's x-request-id stays); the operator's organization and project are not.
// A backend's default_params fill fields the client left out; its override_params replace the
// client's (Portkey's override_params): the rest of the body stays as sent.
TEST(Fidelity, BackendParamsFillAndOverrideBodyFields) {
  RecordingBackend recording;
  Router router(router_config({{"only", recording.backend.url(),
                                "default_params: {temperature: 0.2, max_tokens: 64, "
                                "stop: [\"END\"]}\n    override_params: {top_p: 0.5, "
                                "seed: 7, user: \"svc\", reasoning_effort: \"low\"}"}},
                              "[only]"));
  HttpClient client(router.port());
  for (const bool stream : {false, true}) {
    const std::string extra =
        std::string(R"(,"temperature":0.9,"top_p":1,"n":1)") + (stream ? R"(,"stream":true)" : "");
    ASSERT_EQ(client.post_json("/v1/chat/completions", chat_body("auto", "hello", extra)).status,
              200);
    const json sent = json::parse(recording.last());
    EXPECT_EQ(sent["temperature"], 0.9) << sent;  // the client's
    EXPECT_EQ(sent["max_tokens"], 64) << sent;    // a default where the client had none
    EXPECT_EQ(sent["stop"], json::array({"END"})) << sent;
    EXPECT_EQ(sent["top_p"], 0.5) << sent;  // overridden
    EXPECT_EQ(sent["seed"], 7) << sent;
    EXPECT_EQ(sent["user"], "svc") << sent;
    EXPECT_EQ(sent["reasoning_effort"], "low") << sent;
    EXPECT_EQ(sent["n"], 1) << sent;
    EXPECT_EQ(sent["model"], "upstream-only") << sent;
  }
}

TEST(Fidelity, BackendHeadersClientsReadAreRelayed) {
  CannedBackend backend([](const std::string&) {
    return http_response(200, "application/json", kChatAnswer,
                         "x-request-id: req_upstream_1\r\nopenai-processing-ms: 123\r\n"
                         "openai-version: 2020-10-01\r\nopenai-organization: org-operator\r\n"
                         "x-ratelimit-remaining-requests: 99\r\n");
  });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  const auto response = client.post_json("/v1/chat/completions", chat_body("auto"),
                                         {{"x-request-id", "client-id-1"}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-request-id"), "client-id-1");
  EXPECT_EQ(response.header("x-llm-router-upstream-request-id"), "req_upstream_1");
  EXPECT_EQ(response.header("openai-processing-ms"), "123");
  EXPECT_EQ(response.header("openai-version"), "2020-10-01");
  EXPECT_EQ(response.header("x-ratelimit-remaining-requests"), "99");
  EXPECT_EQ(response.header("openai-organization"), "");
}

// A working backend's relayed headers never carry its key (nor the request log its id).
TEST(Fidelity, RelayedHeadersOfAWorkingBackendHaveItsKeyMasked) {
  CannedBackend backend([](const std::string&) {
    return http_response(200, "application/json", kChatAnswer,
                         "x-request-id: up-sk-backend-only\r\nretry-after: sk-backend-only\r\n");
  });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-llm-router-upstream-request-id"), "up-***");
  EXPECT_EQ(response.header("retry-after"), "***");
}

// Azure OpenAI reads its key from `api-key`, as it is: auth_header puts the backend's key there
// instead of `Authorization: Bearer`.
TEST(Fidelity, AuthHeaderCarriesTheBackendsKeyWhereItIsRead) {
  CannedBackend backend(
      [](const std::string&) { return http_response(200, "application/json", kChatAnswer); });
  Router router(router_config({{"azure", backend.url(), "auth_header: API-Key"}}, "[azure]"));
  ASSERT_EQ(HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto")).status,
            200);
  const auto heads = backend.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_NE(heads[0].find("\r\napi-key: sk-backend-azure\r\n"), std::string::npos) << heads[0];
  EXPECT_EQ(heads[0].find("authorization"), std::string::npos) << heads[0];
}

// response_headers passes on what a backend's answer head lists (Azure's region and APIM id),
// nothing else of it, and never a header the router writes itself.
TEST(Fidelity, ResponseHeadersListedForABackendReachTheClient) {
  CannedBackend backend([](const std::string&) {
    return http_response(200, "application/json", kChatAnswer,
                         "apim-request-id: 7f3c\r\nx-ms-region: East US\r\n"
                         "x-internal-host: 10.0.3.4\r\n");
  });
  Router router(router_config(
      {{"azure", backend.url(), "response_headers: [apim-request-id, x-ms-*]"}}, "[azure]"));
  const auto response =
      HttpClient(router.port()).post_json("/v1/chat/completions", chat_body("auto"));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("apim-request-id"), "7f3c");
  EXPECT_EQ(response.header("x-ms-region"), "East US");
  EXPECT_EQ(response.header("x-internal-host"), "");
}

// Asked for usage by the router (the client was not), OpenAI writes "usage": null into every
// chunk and a usage chunk last: the client sees neither, as if it had asked the backend itself.
TEST(Fidelity, UsageTheClientDidNotAskForLeavesNoTrace) {
  const std::string chunk =
      R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null})"
      "\n\n";
  const std::string finish =
      R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
      R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null})"
      "\n\n";
  const std::string usage =
      R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})"
      "\n\n";
  CannedBackend backend([&](const std::string&) {
    return sse_response(chunk + chunk + finish + usage + "data: [DONE]\n\n");
  });
  Router router(router_config({{"only", backend.url()}}, "[only]"));
  HttpClient client(router.port());
  const auto plain =
      client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
  EXPECT_EQ(plain.body.find("usage"), std::string::npos) << plain.body;
  EXPECT_EQ(sse_data(plain.body).size(), 4u) << plain.body;  // 3 chunks and [DONE]
  const auto asked = client.post_json(
      "/v1/chat/completions",
      chat_body("auto", "x", R"(,"stream":true,"stream_options":{"include_usage":true})"));
  const auto events = sse_data(asked.body);
  ASSERT_EQ(events.size(), 5u) << asked.body;
  EXPECT_TRUE(json::parse(events[0])["usage"].is_null()) << events[0];
  EXPECT_EQ(json::parse(events[3])["usage"]["total_tokens"], 4);
}

// Reasoning (`reasoning`, as OpenRouter, Ollama and vLLM send it) and audio deltas are the
// answer: relayed as they come, not held back as an opening chunk would be. So a backend that
// fails after them has already answered: the client gets them, then an error, no fallback.
TEST(Fidelity, ReasoningAndAudioDeltasCommitTheStream) {
  for (const std::string delta : {R"({"role":"assistant","content":null,"reasoning":"hmm"})",
                                  R"({"audio":{"id":"a1","data":"UklGR"}})"}) {
    CannedBackend thinker([&](const std::string&) {
      return sse_response(
          R"(data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"m",)"
          R"("choices":[{"index":0,"delta":)" +
          delta + R"(,"finish_reason":null}]})" + "\n\n");  // then the connection closes
    });
    Router router(
        router_config({{"thinker", thinker.url()}, {"backup", ""}}, "[thinker]", "[backup]"));
    HttpClient client(router.port());
    const auto response =
        client.post_json("/v1/chat/completions", chat_body("auto", "x", R"(,"stream":true)"));
    EXPECT_EQ(response.header("x-llm-router-backend"), "thinker") << delta;
    const auto events = sse_data(response.body);
    ASSERT_EQ(events.size(), 2u) << response.body;
    EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"], json::parse(delta));
    EXPECT_TRUE(json::parse(events[1]).contains("error")) << events[1];
  }
}

}  // namespace
}  // namespace test_support
