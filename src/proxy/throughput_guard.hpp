#pragma once

#include <memory>

#include "llm_router/config/config.hpp"
#include "llm_router/upstream/exchange.hpp"

namespace llm_router::proxy {

// Wraps a stream's exchange so that it fails with `slow_stream` when fewer than
// `guard.tokens_per_second` events per second arrive, counted over consecutive windows of
// `guard.window` from the first event (before it, the first-byte deadline governs). A window
// that cannot be met any more fails at its end, even when nothing arrives at all. The relay
// treats the failure as any other: a fallback before the commit point, an error event after.
std::unique_ptr<upstream::Exchange> guard_throughput(std::unique_ptr<upstream::Exchange> inner,
                                                     const config::ThroughputGuard& guard);

}  // namespace llm_router::proxy
