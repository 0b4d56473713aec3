#pragma once
// Exactly-once outputs through Kafka transactions (contract section 4, the state issue): the
// alerts, letters and dead letters derived from a stretch of input, the changelog records of the
// dossiers it changed and the input offsets it covers are committed in one transaction, every
// `interval` (100 ms by default) when anything happened. A commit waits on the broker, so it runs
// on a BlockingWork thread; meanwhile the loop goes on and what it produces is held here until
// the next transaction begins. A commit that must be aborted leaves the engine ahead of what
// Kafka holds: the daemon then restores the state of its partitions (Hooks::aborted).
// The loop's side is single-threaded; the producer's blocking calls run on the worker.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/daemon/blocking_work.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/streams/event_source.h"
#include "ontime/streams/output_sink.h"

namespace ontime::daemon {

// The transactional producer as the Transactor uses it (KafkaTransactions in production, a fake
// in tests). Produce, ProduceState, Poll and Begin run on the loop; Init, Commit and Abort block
// and run on the worker, never while the loop produces.
class TransactionalProducer {
 public:
  enum class Outcome { kCommitted, kRetry, kAbort, kFatal };
  struct Result {
    Outcome outcome = Outcome::kCommitted;
    std::string message;
  };
  virtual ~TransactionalProducer() = default;
  virtual Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                         const std::vector<streams::KafkaHeader>& headers) = 0;
  // A state record on an explicit partition; nullopt is a tombstone (a NULL value).
  virtual Status ProduceState(std::string_view topic, int32_t partition, std::string_view key,
                              std::optional<std::string_view> value) = 0;
  virtual void Poll() = 0;
  virtual size_t in_flight() const = 0;
  virtual const std::optional<std::string>& fatal_error() const = 0;
  virtual Status Begin() = 0;
  // Blocking.
  virtual Result Init() = 0;
  virtual Result Commit(const streams::PartitionOffsets& next_offsets) = 0;
  virtual Result Abort() = 0;
};

class Transactor final : public streams::OutputSink {
 public:
  struct Hooks {
    // Before each commit: the engine's changes go into the transaction (ProduceState); returns
    // how many records it wrote.
    std::function<size_t()> collect;
    // The transaction was aborted: what the loop derived since the last commit is not in Kafka.
    std::function<void(const std::string&)> aborted;
    // The producer cannot go on (fenced by another instance, or broken).
    std::function<void(const std::string&)> fatal;
    // At each commit, on the loop: what must run before the commit, wherever it runs (the
    // worker, or the loop in CommitNow): the letters derived so far reaching the disk.
    std::function<std::function<void()>()> before_commit;
  };
  // Outputs held during a commit before the input pauses. When the next transaction begins they
  // go into it kHeldPerTurn per loop turn, in order (what comes meanwhile queues behind them),
  // and it is committed only once they all are in.
  static constexpr size_t kMaxHeld = 20000;
  static constexpr size_t kHeldPerTurn = 1000;
  static constexpr size_t kMaxInFlight = 1000000;  // in the producer's queue, likewise

  Transactor(EventLoop& loop, TransactionalProducer& producer, BlockingWork& work,
             DaemonMetrics& metrics, Logger& log, Hooks hooks);
  ~Transactor() override;

  void set_interval(std::chrono::milliseconds interval) { interval_ = interval; }
  // Begins the first transaction and commits on the interval from now on (after Init).
  Status Start();
  void Stop();

  // The input up to (excluding) `next_offset` of `partition` is applied: committed with the
  // outputs derived so far.
  void Consumed(int32_t partition, int64_t next_offset);
  // A partition given away or to be restored: its offset is no longer ours to commit.
  void ForgetPartition(int32_t partition);
  // False while a commit has held too much: the loop stops consuming until it lands.
  bool accepting() const { return held() < kMaxHeld && producer_.in_flight() < kMaxInFlight; }
  bool committing() const { return state_ == State::kCommitting; }
  // Commits what is open now and waits for it (revocation, shutdown): blocks the loop, so only
  // there. False when it could not commit.
  bool CommitNow();

  // The loop took the input the next outputs derive from (an event batch, a timer firing) at
  // `at`: each output's delay to the producer is observed from there.
  void set_input_taken_at(std::chrono::steady_clock::time_point at) { input_taken_at_ = at; }

  // OutputSink: outputs of the open transaction (held while a commit is in flight).
  Status Produce(std::string_view topic, std::string_view key, std::string_view value, uint64_t tag,
                 const std::vector<streams::KafkaHeader>& headers = {},
                 int32_t partition = streams::kAnyPartition) override;
  // Outputs have no tombstones; state records go through ProduceState.
  Status ProduceTombstone(std::string_view topic, std::string_view key, uint64_t,
                          int32_t partition) override {
    return ProduceState(topic, partition, key, std::nullopt);
  }
  Status ProduceState(std::string_view topic, int32_t partition, std::string_view key,
                      std::optional<std::string_view> value);
  void Poll() override { producer_.Poll(); }
  bool Flush(std::chrono::milliseconds) override { return CommitNow(); }
  size_t in_flight() const override { return producer_.in_flight() + held(); }
  const std::optional<std::string>& fatal_error() const override { return producer_.fatal_error(); }

  uint64_t commits() const { return commits_; }
  const streams::PartitionOffsets& consumed() const { return consumed_; }

 private:
  enum class State { kIdle, kOpen, kCommitting, kBroken };
  // An output held during a commit: its key and value in `held_bytes_` (one buffer for all of
  // them, reused: a held changelog record costs no allocation of its own).
  struct Held {
    size_t key_at = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;  // the value follows the key
    uint16_t topic = 0;       // in held_topics_
    bool state = false;       // a state record (ProduceState): on `partition`, maybe a tombstone
    bool tombstone = false;
    int32_t partition = streams::kAnyPartition;
    std::vector<streams::KafkaHeader> headers;               // dead letters only
    std::chrono::steady_clock::time_point input_taken_at{};  // outputs (not state records)
  };

  void Hold(std::string_view topic, std::string_view key, std::string_view value, Held held);
  void Arm();
  void Tick();
  bool BeginCommit();
  struct Inflight {
    streams::PartitionOffsets offsets;
    TransactionalProducer::Result result;
  };
  void Submit(streams::PartitionOffsets offsets, std::function<void()> before = {});
  // What must run before this commit (Hooks::before_commit), or nothing.
  std::function<void()> BeforeCommit() const {
    return hooks_.before_commit ? hooks_.before_commit() : std::function<void()>();
  }
  void Committed(const TransactionalProducer::Result& result,
                 const streams::PartitionOffsets& offsets);
  void AfterAbort(const TransactionalProducer::Result& aborted, const std::string& message);
  TransactionalProducer::Result CommitBlocking(const streams::PartitionOffsets& offsets);
  bool Reopen();
  // Produces up to `max` held outputs into the open transaction; posts the rest to a later turn.
  bool ProduceHeld(size_t max);
  size_t held() const { return held_.size() - held_next_; }
  bool holding() const { return state_ != State::kOpen || held() > 0; }

  EventLoop& loop_;
  TransactionalProducer& producer_;
  BlockingWork& work_;
  DaemonMetrics& metrics_;
  Logger& log_;
  Hooks hooks_;
  std::unique_ptr<Timer> timer_;
  std::unique_ptr<Timer> retry_timer_;
  std::chrono::milliseconds interval_{100};
  State state_ = State::kIdle;
  bool dirty_ = false;  // the open transaction has outputs or offsets to commit
  streams::PartitionOffsets consumed_;
  std::vector<Held> held_;
  std::string held_bytes_;
  std::vector<std::string> held_topics_;
  size_t held_next_ = 0;                // held_ before this is produced
  std::shared_ptr<Inflight> inflight_;  // the commit on the worker, or waiting to retry
  std::shared_ptr<TransactionalProducer::Result> aborting_;  // the abort on the worker
  uint64_t generation_ = 0;  // a commit's `done` from before CommitNow took over is ignored
  std::chrono::steady_clock::time_point commit_began_{};
  std::chrono::steady_clock::time_point input_taken_at_{};
  uint64_t commits_ = 0;
  int retries_ = 0;
};

}  // namespace ontime::daemon
