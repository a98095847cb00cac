-- wrk script: POST a ~1 KB chat request over keep-alive connections and print a summary line
-- that bench/run.sh parses. Environment:
--   BENCH_BODY   path of the JSON body (MODEL_PLACEHOLDER is replaced by BENCH_MODEL)
--   BENCH_MODEL  value of "model" (a backend name, a route, or anything for a canned upstream)
--   BENCH_PATH   request path (default /v1/chat/completions)
--   BENCH_HEADERS extra headers, "name: value" separated by "|"
local body_path = os.getenv("BENCH_BODY") or "bench/fixtures/chat_request.json"
local file = assert(io.open(body_path, "rb"))
local body = file:read("*a"):gsub("%s+$", "")
file:close()
body = body:gsub("MODEL_PLACEHOLDER", os.getenv("BENCH_MODEL") or "canned")

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-unused"
for pair in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = pair:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

-- No request() function: wrk then sends this one static request without calling Lua per
-- request, so the load generator stays cheap.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d err_write=%d " ..
    "err_status=%d err_timeout=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
