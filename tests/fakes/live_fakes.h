#pragma once
// Fakes of the live path's seams, so that in-process tests drive LiveProcessor like a transcript:
// put messages on partitions, run simulated time, deliver or hold outputs, kill and restore.
//   SimulatedEventLoop  time moves only in RunFor/RunUntil; timers and posted work run in order
//   FakeEventSource     partitions of messages; records the offsets stored and committed
//   FakeOutputSink      records what is produced; delivers on Poll unless held
//   FakeKafka           a transactional producer's broker: what read_committed consumers see,
//                       the group's committed offsets, the changelog partitions to restore from
//   InlineWork          "blocking" work run at once, its `done` posted to the loop

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ontime/daemon/blocking_work.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/partition_restorer.h"
#include "ontime/daemon/transactor.h"
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

  // Called after each loop turn (a posted work, a timer's firing): tests count what one turn did.
  std::function<void()> after_turn;

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
  // A paused partition hands out nothing and is not at its end (as librdkafka's).
  void Pause(int32_t partition) { paused_.insert(partition); }
  void Resume(int32_t partition) { paused_.erase(partition); }

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
  std::set<int32_t> paused_;
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

// A broker as a transactional producer sees it: each transaction's messages become visible to
// read_committed consumers (`committed`) at its commit, with the input offsets it covers; an
// abort or a crash loses the open one.
class FakeKafka final : public daemon::TransactionalProducer {
 public:
  Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                 const std::vector<streams::KafkaHeader>& headers) override;
  Status ProduceState(std::string_view topic, int32_t partition, std::string_view key,
                      std::optional<std::string_view> value) override;
  void Poll() override {}
  size_t in_flight() const override { return 0; }
  const std::optional<std::string>& fatal_error() const override { return fatal_; }
  Status Begin() override;
  Result Init() override { return {}; }
  Result Commit(const streams::PartitionOffsets& next_offsets) override;
  Result Abort() override;

  // What a crash loses: the open transaction.
  void Crash() {
    open_.clear();
    in_transaction_ = false;
  }
  // Committed messages of one topic, in order, and their ids.
  std::vector<Produced> Committed(const std::string& topic) const;
  std::vector<std::string> CommittedIds(const std::string& topic, std::string_view field) const;

  uint64_t produce_calls = 0;  // Produce and ProduceState, whatever became of them
  int retry_commits = 0;       // the next commits answer "retry" this many times
  bool abort_next = false;     // the next commit must be aborted
  std::vector<Produced> committed;
  streams::PartitionOffsets group_offsets;  // the consumer group's committed offsets
  int commits = 0;

 private:
  std::vector<Produced> open_;
  bool in_transaction_ = false;
  std::optional<std::string> fatal_;
};

// Reads a FakeKafka's committed changelog partitions.
class FakeChangelogReader final : public daemon::ChangelogReader {
 public:
  FakeChangelogReader(const FakeKafka& kafka, std::string topic)
      : kafka_(kafka), topic_(std::move(topic)) {}
  // Offsets are each committed record's place among its partition's; records before
  // `log_start[partition]` are deleted (kafka-delete-records).
  Result<int64_t> Read(int32_t partition, int64_t from, const Visit& visit,
                       const std::function<bool()>& cancelled, Until until) override;

  std::map<int32_t, int64_t> log_start;
  int reads = 0;               // calls to Read
  std::vector<int64_t> froms;  // each call's `from`

 private:
  const FakeKafka& kafka_;
  std::string topic_;
};

class InlineWork final : public daemon::BlockingWork {
 public:
  explicit InlineWork(daemon::EventLoop& loop) : loop_(loop) {}
  void Submit(std::function<void()> work, std::function<void()> done) override {
    work();
    if (done) loop_.Post(std::move(done));
  }
  bool stopping() const override { return false; }
  void WaitIdle() override {}

 private:
  daemon::EventLoop& loop_;
};

// "Blocking" work held until the test runs it (RunAll), as a worker thread runs it beside the
// loop: the loop's turns then time the loop's own work only.
class DeferredWork final : public daemon::BlockingWork {
 public:
  explicit DeferredWork(daemon::EventLoop& loop) : loop_(loop) {}
  void Submit(std::function<void()> work, std::function<void()> done) override {
    queue_.emplace_back(std::move(work), std::move(done));
  }
  bool stopping() const override { return false; }
  void WaitIdle() override { RunAll(); }
  // Runs what was submitted (and what that submits), each `done` posted to the loop.
  size_t RunAll() {
    size_t ran = 0;
    while (!queue_.empty()) {
      auto [work, done] = std::move(queue_.front());
      queue_.erase(queue_.begin());
      work();
      if (done) loop_.Post(std::move(done));
      ++ran;
    }
    return ran;
  }

 private:
  daemon::EventLoop& loop_;
  std::vector<std::pair<std::function<void()>, std::function<void()>>> queue_;
};

// `"field":"value"` of a flat JSON object we produced ("" when absent).
std::string JsonField(std::string_view json, std::string_view field);

}  // namespace ontime::testing
