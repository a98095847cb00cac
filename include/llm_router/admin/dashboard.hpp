#pragma once

#include <string_view>

namespace llm_router::admin {

// The self-contained dashboard page (src/admin/dashboard.html, embedded at build time by
// scripts/embed-dashboard.sh). Serve it as text/html; it polls GET /admin/stats?window=... every
// 2 s and shows `breakers` ({"backend": "closed" | "open" | "half_open"}) when the response has it.
std::string_view dashboard_html();

}  // namespace llm_router::admin
