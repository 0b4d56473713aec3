#pragma once
// Always-on invariant checks: a broken invariant is a bug, so it logs where and aborts, in every
// build type (Redpanda's vassert, Envoy's RELEASE_ASSERT).

#include <source_location>
#include <string_view>

namespace ontime {

[[noreturn]] void CheckFailed(std::string_view condition, std::string_view message,
                              std::source_location where = std::source_location::current());

}  // namespace ontime

#define ONTIME_CHECK(condition, message)            \
  do {                                              \
    if (!(condition)) [[unlikely]] {                \
      ::ontime::CheckFailed(#condition, (message)); \
    }                                               \
  } while (false)
