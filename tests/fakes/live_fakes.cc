#include "fakes/live_fakes.h"

#include <algorithm>

namespace ontime::testing {
namespace {

class SimulatedTimer final : public daemon::Timer {
 public:
  SimulatedTimer(SimulatedEventLoop& loop, uint64_t id) : loop_(loop), id_(id) {}
  ~SimulatedTimer() override { Cancel(); }
  void Arm(std::chrono::milliseconds after, std::function<void()> fire) override {
    Cancel();
    loop_.armed().push_back({loop_.clock().Now() + after, loop_.NextSeq(), id_, std::move(fire)});
  }
  void Cancel() override {
    auto& armed = loop_.armed();
    armed.erase(
        std::remove_if(armed.begin(), armed.end(),
                       [this](const SimulatedEventLoop::Armed& a) { return a.timer == id_; }),
        armed.end());
  }

 private:
  SimulatedEventLoop& loop_;
  uint64_t id_;
};

}  // namespace

std::unique_ptr<daemon::Timer> SimulatedEventLoop::CreateTimer() {
  return std::make_unique<SimulatedTimer>(*this, NextSeq());
}

void SimulatedEventLoop::RunFor(Duration d) {
  const Instant until = clock_.Now() + d;
  for (;;) {
    if (!posted_.empty()) {
      auto work = std::move(posted_.front());
      posted_.erase(posted_.begin());
      work();
      if (after_turn) after_turn();
      continue;
    }
    auto next = std::min_element(armed_.begin(), armed_.end(), [](const Armed& a, const Armed& b) {
      return a.at < b.at || (a.at == b.at && a.seq < b.seq);
    });
    if (next == armed_.end() || next->at > until) break;
    Armed due = std::move(*next);
    armed_.erase(next);
    if (due.at > clock_.Now()) clock_.Set(due.at);
    due.fire();
    if (after_turn) after_turn();
  }
  if (clock_.Now() < until) clock_.Set(until);
}

FakeEventSource::FakeEventSource(int partitions, std::string topic) : topic_(std::move(topic)) {
  for (int32_t p = 0; p < partitions; ++p) {
    assignment_.push_back(p);
    messages_[p];
    position_[p] = 0;
  }
}

void FakeEventSource::Add(int32_t partition, std::string key, std::string value) {
  messages_[partition].push_back({std::move(key), std::move(value)});
}

void FakeEventSource::StartAt(const std::map<int32_t, int64_t>& offsets) {
  for (const auto& [p, offset] : offsets) position_[p] = static_cast<size_t>(offset);
}

size_t FakeEventSource::Poll(size_t max,
                             const std::function<void(const streams::KafkaMessage&)>& handle) {
  // Round-robin, one message per partition at a time: partitions interleave as a broker's do.
  size_t handed = 0;
  bool any = true;
  while (handed < max && any) {
    any = false;
    for (int32_t p : assignment_) {
      if (paused_.contains(p)) continue;
      auto& list = messages_[p];
      size_t& pos = position_[p];
      if (pos >= list.size() || handed >= max) continue;
      streams::KafkaMessage m;
      m.topic = topic_;
      m.partition = p;
      m.offset = static_cast<int64_t>(pos);
      m.key = list[pos].key;
      m.value = list[pos].value;
      ++pos;
      handle(m);
      ++handed;
      any = true;
    }
  }
  return handed;
}

bool FakeEventSource::caught_up() const {
  return std::all_of(assignment_.begin(), assignment_.end(),
                     [this](int32_t p) { return at_end(p); });
}

bool FakeEventSource::at_end(int32_t partition) const {
  return !paused_.contains(partition) && position_.at(partition) >= messages_.at(partition).size();
}

streams::PartitionOffsets FakeEventSource::Lag() const {
  streams::PartitionOffsets lag;
  for (int32_t p : assignment_) {
    lag[p] = static_cast<int64_t>(messages_.at(p).size() - position_.at(p));
  }
  return lag;
}

std::string Produced::Header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name) return h.value;
  }
  return "";
}

Status FakeOutputSink::Produce(std::string_view topic, std::string_view key, std::string_view value,
                               uint64_t tag, const std::vector<streams::KafkaHeader>& headers,
                               int32_t partition) {
  queued_.push_back(
      {std::string(topic), std::string(key), std::string(value), tag, headers, -1, partition});
  return Ok{};
}

Status FakeOutputSink::ProduceTombstone(std::string_view topic, std::string_view key, uint64_t tag,
                                        int32_t partition) {
  queued_.push_back({std::string(topic), std::string(key), "", tag, {}, -1, partition, true});
  return Ok{};
}

void FakeOutputSink::DeliverAll() {
  std::vector<Produced> batch;
  batch.swap(queued_);
  for (Produced& p : batch) {
    p.offset = next_offset_[p.topic]++;
    delivered.push_back(p);
    on_delivered_({p.tag, delivered.back().topic, 0, p.offset});
  }
}

std::vector<Produced> FakeOutputSink::AllProduced() const {
  std::vector<Produced> all = delivered;
  all.insert(all.end(), queued_.begin(), queued_.end());
  return all;
}

std::vector<Produced> FakeOutputSink::Delivered(const std::string& topic) const {
  std::vector<Produced> out;
  for (const Produced& p : delivered) {
    if (p.topic == topic) out.push_back(p);
  }
  return out;
}

std::vector<std::string> FakeOutputSink::DeliveredIds(const std::string& topic,
                                                      std::string_view field) const {
  std::vector<std::string> ids;
  for (const Produced& p : Delivered(topic)) ids.push_back(JsonField(p.value, field));
  return ids;
}

Status FakeKafka::Produce(std::string_view topic, std::string_view key, std::string_view value,
                          const std::vector<streams::KafkaHeader>& headers) {
  ++produce_calls;
  if (!in_transaction_) return Error{"kafka_txn", "produce outside a transaction"};
  Produced p;
  p.topic = topic;
  p.key = key;
  p.value = value;
  p.headers = headers;
  open_.push_back(std::move(p));
  return Ok{};
}

Status FakeKafka::ProduceState(std::string_view topic, int32_t partition, std::string_view key,
                               std::optional<std::string_view> value) {
  ++produce_calls;
  if (!in_transaction_) return Error{"kafka_txn", "produce outside a transaction"};
  Produced p;
  p.topic = topic;
  p.key = key;
  p.partition = partition;
  p.null_value = !value.has_value();
  if (value) p.value = *value;
  open_.push_back(std::move(p));
  return Ok{};
}

Status FakeKafka::Begin() {
  if (in_transaction_) return Error{"kafka_txn", "a transaction is open already"};
  in_transaction_ = true;
  return Ok{};
}

daemon::TransactionalProducer::Result FakeKafka::Commit(
    const streams::PartitionOffsets& next_offsets) {
  if (!in_transaction_) return {Outcome::kFatal, "no transaction"};
  if (retry_commits > 0) {
    --retry_commits;
    return {Outcome::kRetry, "the broker is away"};
  }
  if (abort_next) {
    abort_next = false;
    return {Outcome::kAbort, "the transaction timed out"};
  }
  for (Produced& p : open_) {
    p.offset = static_cast<int64_t>(committed.size());
    committed.push_back(std::move(p));
  }
  open_.clear();
  for (const auto& [partition, offset] : next_offsets) group_offsets[partition] = offset;
  in_transaction_ = false;
  ++commits;
  return {};
}

daemon::TransactionalProducer::Result FakeKafka::Abort() {
  open_.clear();
  in_transaction_ = false;
  return {};
}

std::vector<Produced> FakeKafka::Committed(const std::string& topic) const {
  std::vector<Produced> out;
  for (const Produced& p : committed) {
    if (p.topic == topic) out.push_back(p);
  }
  return out;
}

std::vector<std::string> FakeKafka::CommittedIds(const std::string& topic,
                                                 std::string_view field) const {
  std::vector<std::string> ids;
  for (const Produced& p : Committed(topic)) ids.push_back(JsonField(p.value, field));
  return ids;
}

Result<int64_t> FakeChangelogReader::Read(int32_t partition, int64_t from, const Visit& visit,
                                          const std::function<bool()>& cancelled, Until) {
  ++reads;
  froms.push_back(from);
  int64_t end = 0;
  for (const Produced& p : kafka_.committed) {
    if (p.topic == topic_ && p.partition == partition) ++end;
  }
  const int64_t first = log_start.contains(partition) ? log_start.at(partition) : 0;
  if (from == kBeginning) from = first;
  if (from < first || from > end) {
    return Error{"kafka_offset_out_of_range", topic_ + "[" + std::to_string(partition) +
                                                  "] has no offset " + std::to_string(from)};
  }
  int64_t offset = 0;
  for (const Produced& p : kafka_.committed) {
    if (cancelled && cancelled()) return Error{"cancelled", "restore cancelled"};
    if (p.topic != topic_ || p.partition != partition) continue;
    if (offset++ < from) continue;
    visit(p.key, p.null_value ? std::nullopt : std::optional<std::string_view>(p.value));
  }
  return end;
}

std::string JsonField(std::string_view json, std::string_view field) {
  const std::string needle = "\"" + std::string(field) + "\":\"";
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) return "";
  const size_t start = at + needle.size();
  return std::string(json.substr(start, json.find('"', start) - start));
}

}  // namespace ontime::testing
