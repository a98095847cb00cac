#include "llm_router/selector/plan.hpp"

#include <cmath>

namespace llm_router::selector {
namespace {

nlohmann::json planned_json(const PlannedBackend& p) {
  nlohmann::json j = {{"backend", p.backend != nullptr ? p.backend->name : ""},
                      {"reason", p.reason}};
  // NaN/inf are not JSON: a score that is not finite is left out.
  if (std::isfinite(p.score)) j["score"] = p.score;
  return j;
}

}  // namespace

std::string_view to_string(PlanStatus status) {
  switch (status) {
    case PlanStatus::ok:
      return "ok";
    case PlanStatus::unknown_model:
      return "unknown_model";
    case PlanStatus::no_candidates:
      return "no_candidates";
    case PlanStatus::all_busy:
      return "all_busy";
    case PlanStatus::rate_limited:
      return "rate_limited";
  }
  return "unknown";
}

std::vector<std::size_t> RoutePlan::attempt_order() const {
  std::vector<std::size_t> order;
  order.reserve(candidates.size() + fallbacks.size());
  for (const auto& c : candidates) order.push_back(c.index);
  for (const auto& f : fallbacks) order.push_back(f.index);
  return order;
}

nlohmann::json RoutePlan::to_json() const {
  nlohmann::json j = {
      {"status", to_string(status)}, {"route", route},   {"rule", rule},
      {"strategy", strategy},        {"direct", direct}, {"rules_not_matched", rules_not_matched}};
  if (!matched.empty()) j["matched"] = matched;
  if (!not_matched_why.empty()) {
    nlohmann::json why = nlohmann::json::array();
    for (std::size_t i = 0; i < not_matched_why.size() && i < rules_not_matched.size(); ++i) {
      why.push_back({{"rule", rules_not_matched[i]}, {"why", not_matched_why[i]}});
    }
    j["not_matched"] = std::move(why);
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : candidates) list.push_back(planned_json(c));
  j["candidates"] = std::move(list);
  list = nlohmann::json::array();
  for (const auto& f : fallbacks) list.push_back(planned_json(f));
  j["fallbacks"] = std::move(list);
  list = nlohmann::json::array();
  for (const auto& e : excluded) {
    list.push_back(
        {{"backend", e.backend != nullptr ? e.backend->name : ""}, {"reason", e.reason}});
  }
  j["excluded"] = std::move(list);
  nlohmann::json order = nlohmann::json::array();
  for (const auto& c : candidates) order.push_back(c.backend->name);
  for (const auto& f : fallbacks) order.push_back(f.backend->name);
  j["attempt_order"] = std::move(order);
  if (!message.empty()) j["message"] = message;
  return j;
}

}  // namespace llm_router::selector
