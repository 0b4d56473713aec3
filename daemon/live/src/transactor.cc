#include "ontime/daemon/transactor.h"

#include <algorithm>
#include <thread>

#include "ontime/base/check.h"

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

constexpr auto kRetryDelay = std::chrono::milliseconds(200);
constexpr int kSynchronousRetries = 25;  // CommitNow: about 5 s of a broker away

double SecondsSince(std::chrono::steady_clock::time_point t, const Clock& clock) {
  return std::chrono::duration<double>(clock.Monotonic() - t).count();
}

}  // namespace

Transactor::Transactor(EventLoop& loop, TransactionalProducer& producer, BlockingWork& work,
                       DaemonMetrics& metrics, Logger& log, Hooks hooks)
    : loop_(loop),
      producer_(producer),
      work_(work),
      metrics_(metrics),
      log_(log),
      hooks_(std::move(hooks)),
      timer_(loop.CreateTimer()),
      retry_timer_(loop.CreateTimer()) {}

Transactor::~Transactor() = default;

Status Transactor::Start() {
  ONTIME_CHECK(state_ == State::kIdle, "Transactor started twice");
  if (Status begun = producer_.Begin(); !begun.ok()) {
    state_ = State::kBroken;
    return begun;
  }
  state_ = State::kOpen;
  Arm();
  return Ok{};
}

void Transactor::Stop() {
  timer_->Cancel();
  retry_timer_->Cancel();
}

void Transactor::Consumed(int32_t partition, int64_t next_offset) {
  consumed_[partition] = next_offset;
  dirty_ = true;
}

void Transactor::ForgetPartition(int32_t partition) { consumed_.erase(partition); }

Status Transactor::Produce(std::string_view topic, std::string_view key, std::string_view value,
                           uint64_t, const std::vector<streams::KafkaHeader>& headers, int32_t) {
  if (state_ == State::kBroken) return Error{"transaction", "the producer is broken"};
  if (!holding()) {
    dirty_ = true;
    Status produced = producer_.Produce(topic, key, value, headers);
    metrics_.ObserveOutputDelay(SecondsSince(input_taken_at_, loop_.clock()));
    return produced;
  }
  Held held;
  held.headers = headers;
  held.input_taken_at = input_taken_at_;
  Hold(topic, key, value, std::move(held));
  return Ok{};
}

void Transactor::Hold(std::string_view topic, std::string_view key, std::string_view value,
                      Held held) {
  auto known = std::find(held_topics_.begin(), held_topics_.end(), topic);
  if (known == held_topics_.end()) {
    ONTIME_CHECK(held_topics_.size() < UINT16_MAX, "too many output topics");
    known = held_topics_.emplace(held_topics_.end(), topic);
  }
  held.topic = static_cast<uint16_t>(known - held_topics_.begin());
  held.key_at = held_bytes_.size();
  held.key_size = static_cast<uint32_t>(key.size());
  held.value_size = static_cast<uint32_t>(value.size());
  held_bytes_.append(key);
  held_bytes_.append(value);
  held_.push_back(std::move(held));
}

Status Transactor::ProduceState(std::string_view topic, int32_t partition, std::string_view key,
                                std::optional<std::string_view> value) {
  if (state_ == State::kBroken) return Error{"transaction", "the producer is broken"};
  if (!holding()) {
    dirty_ = true;
    return producer_.ProduceState(topic, partition, key, value);
  }
  Held held;
  held.state = true;
  held.partition = partition;
  held.tombstone = !value.has_value();
  Hold(topic, key, value.value_or(std::string_view{}), std::move(held));
  return Ok{};
}

void Transactor::Arm() {
  timer_->Arm(interval_, [this] { Tick(); });
}

void Transactor::Tick() {
  // Not while held outputs are still going in: the offsets would be committed without them.
  if (state_ == State::kOpen && held() == 0) BeginCommit();
  if (state_ != State::kBroken) Arm();
}

// Collects the engine's changes into the open transaction and hands its commit to the worker.
bool Transactor::BeginCommit() {
  const size_t records = hooks_.collect ? hooks_.collect() : 0;
  if (records > 0) metrics_.CountChangelogRecords(records);
  if (!dirty_) return false;
  dirty_ = false;
  state_ = State::kCommitting;
  commit_began_ = loop_.clock().Monotonic();
  retries_ = 0;
  Submit(consumed_, BeforeCommit());
  return true;
}

void Transactor::Submit(streams::PartitionOffsets offsets, std::function<void()> before) {
  inflight_ = std::make_shared<Inflight>();
  inflight_->offsets = std::move(offsets);
  const uint64_t generation = generation_;
  work_.Submit(
      [this, inflight = inflight_, before = std::move(before)] {
        if (before) before();
        inflight->result = producer_.Commit(inflight->offsets);
      },
      [this, inflight = inflight_, generation] {
        if (generation == generation_) Committed(inflight->result, inflight->offsets);
      });
}

void Transactor::Committed(const TransactionalProducer::Result& result,
                           const streams::PartitionOffsets& offsets) {
  using Outcome = TransactionalProducer::Outcome;
  switch (result.outcome) {
    case Outcome::kCommitted:
      ++commits_;
      inflight_.reset();
      metrics_.CountTransaction("committed");
      metrics_.ObserveCommit(SecondsSince(commit_began_, loop_.clock()));
      if (retries_ > 0) log_.Info("kafka: transaction committed after retrying", {});
      Reopen();
      return;
    case Outcome::kRetry:
      metrics_.CountTransaction("retried");
      if (retries_++ % 25 == 0) {
        log_.Warning("kafka: transaction commit failed, retrying", {{"error", result.message}});
      }
      retry_timer_->Arm(kRetryDelay, [this, offsets] { Submit(offsets); });
      return;
    case Outcome::kAbort: {
      metrics_.CountTransaction("aborted");
      log_.Error("kafka: transaction must be aborted", {{"error", result.message}});
      auto aborted = std::make_shared<TransactionalProducer::Result>();
      aborting_ = aborted;
      const uint64_t generation = generation_;
      work_.Submit([this, aborted] { *aborted = producer_.Abort(); },
                   [this, aborted, message = result.message, generation] {
                     if (generation == generation_) AfterAbort(*aborted, message);
                   });
      return;
    }
    case Outcome::kFatal:
      state_ = State::kBroken;
      if (hooks_.fatal) hooks_.fatal("kafka transaction: " + result.message);
      return;
  }
}

void Transactor::AfterAbort(const TransactionalProducer::Result& aborted,
                            const std::string& message) {
  inflight_.reset();
  aborting_.reset();
  if (aborted.outcome == TransactionalProducer::Outcome::kFatal ||
      aborted.outcome == TransactionalProducer::Outcome::kAbort) {
    state_ = State::kBroken;
    if (hooks_.fatal) hooks_.fatal("kafka: aborting a transaction failed: " + aborted.message);
    return;
  }
  held_.clear();  // derived from input that will be read again
  held_bytes_.clear();
  held_next_ = 0;
  consumed_.clear();
  dirty_ = false;
  if (!Reopen()) return;
  if (hooks_.aborted) hooks_.aborted(message);
}

TransactionalProducer::Result Transactor::CommitBlocking(const streams::PartitionOffsets& offsets) {
  TransactionalProducer::Result result;
  for (int attempt = 0; attempt < kSynchronousRetries; ++attempt) {
    result = producer_.Commit(offsets);
    if (result.outcome != TransactionalProducer::Outcome::kRetry) break;
    metrics_.CountTransaction("retried");
    std::this_thread::sleep_for(kRetryDelay);
  }
  return result;
}

bool Transactor::CommitNow() {
  using Outcome = TransactionalProducer::Outcome;
  retry_timer_->Cancel();
  if (state_ == State::kCommitting) {
    // The worker's commit finishes first; its `done`, posted, is then ignored.
    work_.WaitIdle();
    ++generation_;
    std::shared_ptr<Inflight> inflight = inflight_;
    if (!inflight) return false;
    TransactionalProducer::Result result = inflight->result;
    if (result.outcome == Outcome::kRetry) result = CommitBlocking(inflight->offsets);
    if (result.outcome == Outcome::kAbort) {
      // The worker may have aborted it already (its `done` is ignored now): not twice.
      const std::shared_ptr<TransactionalProducer::Result> aborted = aborting_;
      AfterAbort(aborted ? *aborted : producer_.Abort(), result.message);
    }
    if (result.outcome != Outcome::kCommitted) {
      if (result.outcome == Outcome::kFatal) state_ = State::kBroken;
      return false;
    }
    Committed(result, inflight->offsets);
  }
  if (state_ != State::kOpen) return false;
  if (!ProduceHeld(held())) return false;  // blocking anyway: all at once
  const size_t records = hooks_.collect ? hooks_.collect() : 0;
  if (records > 0) metrics_.CountChangelogRecords(records);
  if (!dirty_) return true;
  dirty_ = false;
  commit_began_ = loop_.clock().Monotonic();
  if (std::function<void()> before = BeforeCommit()) before();
  TransactionalProducer::Result result = CommitBlocking(consumed_);
  if (result.outcome == Outcome::kCommitted) {
    ++commits_;
    metrics_.CountTransaction("committed");
    metrics_.ObserveCommit(SecondsSince(commit_began_, loop_.clock()));
    return Reopen();
  }
  log_.Error("kafka: final transaction failed", {{"error", result.message}});
  if (result.outcome == Outcome::kAbort) {
    AfterAbort(producer_.Abort(), result.message);
  } else {
    state_ = State::kBroken;
  }
  return false;
}

// The next transaction begins; what was held meanwhile goes into it.
bool Transactor::Reopen() {
  if (Status begun = producer_.Begin(); !begun.ok()) {
    state_ = State::kBroken;
    if (hooks_.fatal) hooks_.fatal("kafka: cannot begin a transaction: " + begun.error().message);
    return false;
  }
  state_ = State::kOpen;
  return ProduceHeld(kHeldPerTurn);
}

bool Transactor::ProduceHeld(size_t max) {
  if (state_ != State::kOpen) return true;  // a commit began meanwhile (CommitNow): its Reopen
  const size_t end = held_next_ + std::min(max, held());
  const auto now = loop_.clock().Monotonic();
  for (; held_next_ < end; ++held_next_) {
    const Held& h = held_[held_next_];
    const std::string& topic = held_topics_[h.topic];
    const std::string_view key(held_bytes_.data() + h.key_at, h.key_size);
    const std::string_view value(held_bytes_.data() + h.key_at + h.key_size, h.value_size);
    dirty_ = true;
    Status s = h.state ? producer_.ProduceState(
                             topic, h.partition, key,
                             h.tombstone ? std::nullopt : std::optional<std::string_view>(value))
                       : producer_.Produce(topic, key, value, h.headers);
    if (!s.ok()) {
      state_ = State::kBroken;
      if (hooks_.fatal) hooks_.fatal("producing to " + topic + ": " + s.error().message);
      return false;
    }
    if (!h.state) {
      metrics_.ObserveOutputDelay(std::chrono::duration<double>(now - h.input_taken_at).count());
    }
  }
  if (held() == 0) {
    held_.clear();
    held_bytes_.clear();
    held_next_ = 0;
    return true;
  }
  // A turn that produced this many ends here; the rest in the next ones (a posted turn that
  // finds them gone, or a commit under way, does nothing).
  loop_.Post([this] {
    if (held() > 0) ProduceHeld(kHeldPerTurn);
  });
  return true;
}

}  // namespace ontime::daemon
