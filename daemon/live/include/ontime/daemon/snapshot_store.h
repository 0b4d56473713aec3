#pragma once
// The daemon's restart state in `state_dir`: the engine snapshot (rules::Engine::Save) plus the
// Kafka positions it matches — the next input offset of every partition and the output topics'
// end offsets when it was written. Written atomically (temp file, fsync, rename, fsync of the
// directory), so a crash leaves the previous snapshot or the new one, never a torn file.
// Called on the event-loop thread; does blocking file I/O.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "ontime/base/result.h"
#include "ontime/base/time.h"

namespace ontime::daemon {

struct SnapshotMeta {
  Instant written_at{};
  std::string input_topic;
  std::map<int32_t, int64_t> input_offsets;  // partition -> next offset to read
  // topic -> partition -> end offset when written: what was emitted before is below it.
  std::map<std::string, std::map<int32_t, int64_t>> output_ends;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string engine;  // the bytes rules::Engine::Save wrote
};

class SnapshotStore {
 public:
  explicit SnapshotStore(std::string dir);

  // Writes meta and the engine's bytes (written by `save_engine`) as the current snapshot.
  Status Write(const SnapshotMeta& meta, const std::function<void(std::ostream&)>& save_engine);
  // nullopt when there is no snapshot; an error when one exists but cannot be read.
  Result<std::optional<Snapshot>> Read() const;

  std::string path() const;

 private:
  std::string dir_;
};

}  // namespace ontime::daemon
