#pragma once
// The event-time watermark across input partitions. Partitions are each in event-time order but
// not with each other, so a timer may fire only once every partition that still has a backlog has
// passed its instant: the watermark is the earliest of their last events' times. With one
// partition this is exactly replay's clock. When no partition has a backlog the wall clock takes
// over (the live processor's job). Single-threaded.

#include <cstdint>
#include <map>
#include <optional>

#include "ontime/base/time.h"
#include "ontime/streams/event_source.h"

namespace ontime::daemon {

class EventTimeWatermark {
 public:
  void Observe(int32_t partition, Instant occurred_at) { last_event_[partition] = occurred_at; }
  // nullopt while an assigned partition with a backlog has shown no event yet, and when none has
  // a backlog.
  std::optional<Instant> Value(const streams::EventSource& source) const;
  // A partition given away: its events no longer hold the others back.
  void Forget(int32_t partition) { last_event_.erase(partition); }

 private:
  std::map<int32_t, Instant> last_event_;
};

}  // namespace ontime::daemon
