#include "ontime/daemon/offset_tracker.h"

#include <algorithm>

namespace ontime::daemon {

void OffsetTracker::Begin(int32_t partition, int64_t offset) {
  pending_[partition].push_back({offset, 0});
  current_ = {partition, offset};
}

uint64_t OffsetTracker::TagOutput() {
  if (!current_) return 0;
  const uint64_t tag = ++last_tag_;
  tags_[tag] = *current_;
  ++pending_[current_->first].back().outputs;
  return tag;
}

void OffsetTracker::End() {
  if (!current_) return;
  next_offsets_[current_->first] = current_->second + 1;
  current_.reset();
}

void OffsetTracker::OnDelivered(uint64_t tag) {
  if (tag == 0) return;
  auto it = tags_.find(tag);
  if (it == tags_.end()) return;
  const auto [partition, offset] = it->second;
  tags_.erase(it);
  auto& queue = pending_[partition];
  auto entry = std::lower_bound(queue.begin(), queue.end(), offset,
                                [](const Pending& p, int64_t o) { return p.offset < o; });
  if (entry != queue.end() && entry->offset == offset) --entry->outputs;
}

void OffsetTracker::TakeDone(const std::function<void(int32_t, int64_t)>& store) {
  for (auto& [partition, queue] : pending_) {
    int64_t done = -1;
    // The message being handled is never done yet, whatever its count says.
    while (
        !queue.empty() && queue.front().outputs <= 0 &&
        !(current_ && current_->first == partition && current_->second == queue.front().offset)) {
      done = queue.front().offset;
      queue.pop_front();
    }
    if (done >= 0) store(partition, done + 1);
  }
}

std::optional<int64_t> OffsetTracker::next_offset(int32_t partition) const {
  auto it = next_offsets_.find(partition);
  if (it == next_offsets_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ontime::daemon
