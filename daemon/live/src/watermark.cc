#include "ontime/daemon/watermark.h"

#include <algorithm>

namespace ontime::daemon {

std::optional<Instant> EventTimeWatermark::Value(const streams::EventSource& source) const {
  std::optional<Instant> watermark;
  for (int32_t partition : source.assignment()) {
    if (source.at_end(partition)) continue;
    auto it = last_event_.find(partition);
    if (it == last_event_.end()) return std::nullopt;  // nothing read there yet
    watermark = watermark ? std::min(*watermark, it->second) : it->second;
  }
  return watermark;
}

}  // namespace ontime::daemon
