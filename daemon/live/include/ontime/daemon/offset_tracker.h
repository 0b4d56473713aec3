#pragma once
// Which input offsets are done. An input message is done once every output it caused (alerts,
// letters, its dead letter) has been acknowledged by the broker; per partition, the offset after
// the longest done prefix may be stored for commit, so a crash never skips an event whose outputs
// were lost. Also the next offset to process per partition, which a snapshot records.
// Single-threaded (the event loop).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace ontime::daemon {

class OffsetTracker {
 public:
  // A message is being handled: outputs tagged until End() belong to it.
  void Begin(int32_t partition, int64_t offset);
  // A tag for the delivery report of an output of the current message; 0 outside a message
  // (outputs of wall-clock timers belong to no input).
  uint64_t TagOutput();
  // The current message is handled (its outputs may still be in flight).
  void End();
  void OnDelivered(uint64_t tag);
  // Calls store(partition, next_offset) for each partition whose done prefix grew.
  void TakeDone(const std::function<void(int32_t partition, int64_t next_offset)>& store);

  // The next offset to process, per partition (from a snapshot, then as messages are handled).
  const std::map<int32_t, int64_t>& next_offsets() const { return next_offsets_; }
  void set_next_offsets(std::map<int32_t, int64_t> offsets) { next_offsets_ = std::move(offsets); }
  std::optional<int64_t> next_offset(int32_t partition) const;
  size_t outputs_in_flight() const { return tags_.size(); }

 private:
  struct Pending {
    int64_t offset;
    int outputs;  // produced, not yet acknowledged
  };
  std::map<int32_t, int64_t> next_offsets_;
  std::map<int32_t, std::deque<Pending>> pending_;
  std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> tags_;
  std::optional<std::pair<int32_t, int64_t>> current_;
  uint64_t last_tag_ = 0;
};

}  // namespace ontime::daemon
