#pragma once
// Fakes of the live path's seams, so that in-process tests drive LiveProcessor like a transcript:
// put messages on partitions, run simulated time, deliver or hold outputs, kill and restore.
//   SimulatedEventLoop  time moves only in RunFor/RunUntil; timers and posted work run in order
//   FakeEventSource     partitions of messages; records the offsets stored and committed
//   FakeOutputSink      records what is produced; delivers on Poll unless held
//   FakeOutputLog       the output topics as the sink delivered them, for StatePersistence

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/state_persistence.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/output_sink.h"

namespace ontime::testing {

class SimulatedEventLoop final : public daemon::EventLoop {
 public:
  explicit SimulatedEventLoop(Instant start) : clock_(start) {}
  const Clock& clock() const override { return clock_; }
  std::unique_ptr<daemon::Timer> CreateTimer() override;
  void Post(std::function<void()> work) override { posted_.push_back(std::move(work)); }

  // Runs posted work and every timer due up to now + d, moving the clock to each timer's time.
  void RunFor(Duration d);
  void RunUntil(Instant t) { RunFor(t - clock_.Now()); }
  // Posted work and timers due now, until nothing is left to do now.
  void RunUntilIdle() { RunFor(Duration::zero()); }

  struct Armed {
    Instant at;
    uint64_t seq;
    uint64_t timer;
    std::function<void()> fire;
  };
  std::vector<Armed>& armed() { return armed_; }
  uint64_t NextSeq() { return ++seq_; }

 private:
  ManualClock clock_;
  std::vector<std::function<void()>> posted_;
  std::vector<Armed> armed_;
  uint64_t seq_ = 0;
};

class FakeEventSource final : public streams::EventSource {
 public:
  explicit FakeEventSource(int partitions, std::string topic = "events");
  // Appends a message to a partition; its offset is the partition's size before.
  void Add(int32_t partition, std::string key, std::string value);
  // Where each partition starts reading (a restart's next offsets).
  void StartAt(const std::map<int32_t, int64_t>& offsets);

  size_t Poll(size_t max, const std::function<void(const streams::KafkaMessage&)>& handle) override;
  void StoreOffset(int32_t partition, int64_t next_offset) override {
    stored[partition] = next_offset;
  }
  Status CommitSync() override {
    committed = stored;
    return Ok{};
  }
  void Close() override { closed = true; }
  bool caught_up() const override;
  bool at_end(int32_t partition) const override;
  const std::vector<int32_t>& assignment() const override { return assignment_; }
  streams::PartitionOffsets Lag() const override;
  std::optional<std::string> TakeError() override { return std::nullopt; }

  std::map<int32_t, int64_t> stored;
  std::map<int32_t, int64_t> committed;
  bool closed = false;

 private:
  struct Stored {
    std::string key;
    std::string value;
  };
  std::string topic_;
  std::vector<int32_t> assignment_;
  std::map<int32_t, std::vector<Stored>> messages_;
  std::map<int32_t, size_t> position_;
};

struct Produced {
  std::string topic;
  std::string key;
  std::string value;
  uint64_t tag = 0;
  std::vector<streams::KafkaHeader> headers;
  int64_t offset = -1;                         // in its topic's partition 0, once delivered
  int32_t partition = streams::kAnyPartition;  // as asked by the producer
  bool null_value = false;                     // a tombstone
  std::string Header(std::string_view name) const;
};

class FakeOutputSink final : public streams::OutputSink {
 public:
  explicit FakeOutputSink(std::function<void(const streams::Delivery&)> on_delivered)
      : on_delivered_(std::move(on_delivered)) {}

  Status Produce(std::string_view topic, std::string_view key, std::string_view value, uint64_t tag,
                 const std::vector<streams::KafkaHeader>& headers = {},
                 int32_t partition = streams::kAnyPartition) override;
  Status ProduceTombstone(std::string_view topic, std::string_view key, uint64_t tag,
                          int32_t partition = streams::kAnyPartition) override;
  void Poll() override {
    if (!hold) DeliverAll();
  }
  bool Flush(std::chrono::milliseconds) override {
    if (!hold) DeliverAll();
    return queued_.empty();
  }
  size_t in_flight() const override { return queued_.size(); }
  const std::optional<std::string>& fatal_error() const override { return fatal_; }

  void DeliverAll();
  // Everything produced so far, delivered or still in flight, in order.
  std::vector<Produced> AllProduced() const;
  // Delivered messages of one topic, in order.
  std::vector<Produced> Delivered(const std::string& topic) const;
  std::vector<std::string> DeliveredIds(const std::string& topic, std::string_view field) const;

  bool hold = false;  // keep everything in flight (a slow broker)
  std::vector<Produced> delivered;

 private:
  std::function<void(const streams::Delivery&)> on_delivered_;
  std::vector<Produced> queued_;
  std::map<std::string, int64_t> next_offset_;
  std::optional<std::string> fatal_;
};

// The output topics as a FakeOutputSink delivered them (one partition each).
class FakeOutputLog final : public daemon::OutputLog {
 public:
  explicit FakeOutputLog(const FakeOutputSink& sink) : sink_(sink) {}
  Result<streams::PartitionOffsets> EndOffsets(const std::string& topic) override;
  Status Scan(const std::string& topic, const streams::PartitionOffsets& from,
              const std::function<void(const streams::KafkaMessage&)>& visit) override;

 private:
  const FakeOutputSink& sink_;
};

// `"field":"value"` of a flat JSON object we produced ("" when absent).
std::string JsonField(std::string_view json, std::string_view field);

}  // namespace ontime::testing
