#include "ontime/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace ontime {

void CheckFailed(std::string_view condition, std::string_view message, std::source_location where) {
  std::fprintf(stderr, "ontime: check failed at %s:%u (%s): %.*s: %.*s\n", where.file_name(),
               static_cast<unsigned>(where.line()), where.function_name(),
               static_cast<int>(condition.size()), condition.data(),
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ontime
