#include "ontime/daemon/listeners.h"

#include <string>

namespace ontime::daemon {

bool FreshOutputs::Stale(Instant at) {
  if (clock_.Now() - at <= max_age_) return false;
  if (stale_++ == 0) {
    log_.Info(
        "not producing alerts and letters older than output.max_age",
        {{"max_age_seconds",
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(max_age_).count())}});
  }
  return true;
}

}  // namespace ontime::daemon
