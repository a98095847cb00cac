#pragma once

#include <utility>
#include <variant>

#include "llm_router/core/error.hpp"

namespace llm_router {

// A value or the Failure that prevented it (std::expected is C++23; this is the part we need).
template <typename T>
class Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}            // NOLINT: implicit by design
  Expected(Failure failure) : state_(std::move(failure)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Failure& failure() const { return std::get<1>(state_); }
  Failure take_failure() { return std::move(std::get<1>(state_)); }

 private:
  std::variant<T, Failure> state_;
};

}  // namespace llm_router
