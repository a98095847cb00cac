# Groups `perf report --no-children --sort dso,sym -g none --stdio` lines into buckets of self
# time, so the profile reads as "where does a request's CPU go".
# Usage: perf report ... | awk -f bench/tools/profile-summary.awk
function bucket(dso, sym) {
  if (dso ~ /kernel/) return "kernel (TCP stack, syscalls, scheduler)"
  if (sym ~ /nlohmann/) return "JSON (nlohmann: parse, dump, destroy)"
  if (sym ~ /_Unwind|__cxa_|__gxx_personality|_dl_find_object|uw_|execute_cfa|search_object|linear_search_fdes|fde_/) return "C++ exceptions (throw, unwind)"
  if (sym ~ /malloc|_int_free|cfree|free$|unlink_chunk|realloc|operator new|operator delete|tcache/) return "malloc / free"
  if (sym ~ /spdlog|fmt::|localtime|strftime|__tz/) return "logging (spdlog, fmt, time)"
  if (sym ~ /beast::http/) return "Beast HTTP (parse, serialize)"
  if (sym ~ /beast::/) return "Beast streams, buffers, timers"
  if (sym ~ /asio::/) return "Asio (coroutines, executors, reactor)"
  if (sym ~ /memmove|memcpy|memset|memcmp|memchr|strlen|basic_string|char_traits/) return "memcpy / std::string"
  if (sym ~ /llm_router/) return "llm-router code"
  if (dso ~ /libc/) return "libc, other"
  return "other"
}
/^ +[0-9.]+%/ {
  pct = $1; sub(/%/, "", pct)
  dso = $2
  sym = $0; sub(/^ +[0-9.]+% +[^ ]+ +\[.\] /, "", sym)
  total[bucket(dso, sym)] += pct
  all += pct
}
END {
  printf "| bucket | self time %% |\n|---|---:|\n"
  n = 0
  for (b in total) { names[++n] = b }
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (total[names[j]] > total[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
  for (i = 1; i <= n; i++) printf "| %s | %.1f |\n", names[i], total[names[i]]
  printf "| (samples accounted) | %.1f |\n", all
}
