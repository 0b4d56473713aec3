#pragma once
// Result<T>: a value or an Error, for expected failures (bad input, broker down). A small
// stand-in for std::expected, which this toolchain's C++20 does not have.

#include <string>
#include <utility>
#include <variant>

#include "ontime/base/check.h"

namespace ontime {

struct Error {
  std::string code;     // stable, machine-readable: "missing_field", "unknown_procedure", ...
  std::string message;  // for people: what was wrong and where
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : value_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    ONTIME_CHECK(ok(), "Result::value() on an error");
    return std::get<0>(value_);
  }
  const T& value() const& {
    ONTIME_CHECK(ok(), "Result::value() on an error");
    return std::get<0>(value_);
  }
  T&& value() && {
    ONTIME_CHECK(ok(), "Result::value() on an error");
    return std::get<0>(std::move(value_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    ONTIME_CHECK(!ok(), "Result::error() on a value");
    return std::get<1>(value_);
  }

 private:
  std::variant<T, Error> value_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace ontime
