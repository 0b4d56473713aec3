#include "ontime/streams/kafka_consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>
#include <string>

#include "kafka_util.h"

namespace ontime::streams {
namespace {

std::vector<std::pair<std::string, std::string>> ConsumerProperties(const KafkaSettings& settings) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id},
  };
  for (const auto& p : settings.properties) {
    if (IsProducerOnlyProperty(p.first)) continue;
    props.push_back(p);
  }
  return props;
}

rd_kafka_t* NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf, Error& error) {
  char err[512];
  rd_kafka_t* rk = NewKafkaClient(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    error = Error{"kafka_config", err};
  }
  return rk;
}

Result<std::vector<int32_t>> Partitions(rd_kafka_t* rk, const std::string& topic,
                                        Clock::time_point deadline) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  std::vector<int32_t> partitions;
  Error error{"kafka_metadata", "no metadata for topic " + topic};
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 0, rkt, &md, std::max(RemainingMs(deadline), 1));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
          partitions.push_back(md->topics[0].partitions[i].id);
        }
      } else if (md->topic_cnt == 1) {
        error.message = "topic " + topic + ": " + rd_kafka_err2str(md->topics[0].err);
      }
      rd_kafka_metadata_destroy(md);
    } else {
      error.message = "topic " + topic + ": " + rd_kafka_err2str(err);
    }
    if (!partitions.empty() || RemainingMs(deadline) == 0) break;
  }
  rd_kafka_topic_destroy(rkt);
  if (partitions.empty()) return error;
  std::sort(partitions.begin(), partitions.end());
  return partitions;
}

// Low and high watermarks of every partition.
Result<std::map<int32_t, std::pair<int64_t, int64_t>>> Watermarks(rd_kafka_t* rk,
                                                                  const std::string& topic,
                                                                  Clock::time_point deadline) {
  auto partitions = Partitions(rk, topic, deadline);
  if (!partitions.ok()) return partitions.error();
  std::map<int32_t, std::pair<int64_t, int64_t>> marks;
  for (int32_t p : *partitions) {
    int64_t low = 0;
    int64_t high = 0;
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high,
                                             std::max(RemainingMs(deadline), 1));
    } while (err != RD_KAFKA_RESP_ERR_NO_ERROR && RemainingMs(deadline) > 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{"kafka_watermarks",
                   topic + "[" + std::to_string(p) + "]: " + rd_kafka_err2str(err)};
    }
    marks[p] = {low, high};
  }
  return marks;
}

}  // namespace

struct KafkaConsumer::Impl {
  rd_kafka_t* rk = nullptr;
  std::string topic;
  Options options;
  std::vector<int32_t> assignment;
  std::map<int32_t, bool> eof;
  // Paused partitions, with the offset to go back to on Resume when a message fetched before the
  // pause took effect had to be held back (-1: none).
  std::map<int32_t, int64_t> paused;
  std::set<int32_t> pinned;  // sought while paused: Resume goes on from the seek
  std::optional<std::string> last_error;
  bool closed = false;

  ~Impl() {
    if (rk) {
      if (!closed) rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }

  std::vector<int32_t> PartitionsOf(const rd_kafka_topic_partition_list_t* parts) const {
    std::vector<int32_t> partitions;
    for (int i = 0; i < parts->cnt; ++i) partitions.push_back(parts->elems[i].partition);
    std::sort(partitions.begin(), partitions.end());
    return partitions;
  }

  void PauseOrResume(int32_t partition, bool pause) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
    rd_kafka_resp_err_t err =
        pause ? rd_kafka_pause_partitions(rk, list) : rd_kafka_resume_partitions(rk, list);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list->elems[0].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error = std::string(pause ? "pause " : "resume ") + topic + "[" +
                   std::to_string(partition) + "]: " + rd_kafka_err2str(err);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void SeekTo(int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, list, 0)) {
      last_error = std::string("seek: ") + rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(list);
    eof[partition] = false;
  }

  static void OnRebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const Options& options = self->options;
    bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(handle), "COOPERATIVE") == 0;
    std::vector<int32_t> changed = self->PartitionsOf(parts);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        std::optional<int64_t> offset;
        if (options.start) offset = options.start(parts->elems[i].partition);
        parts->elems[i].offset = offset                          ? *offset
                                 : options.transactional_offsets ? RD_KAFKA_OFFSET_INVALID
                                                                 : RD_KAFKA_OFFSET_BEGINNING;
      }
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_assign(handle, parts)) {
          self->last_error = std::string("assign: ") + rd_kafka_error_string(e);
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(handle, parts);
      }
      for (int32_t p : changed) {
        self->assignment.push_back(p);
        self->eof[p] = false;
        if (options.pause_on_assign) {
          self->PauseOrResume(p, true);
          self->paused[p] = -1;
        }
      }
      std::sort(self->assignment.begin(), self->assignment.end());
      if (options.on_assigned) options.on_assigned(changed);
    } else {
      // Before the unassign: the caller may still commit what it did for these partitions.
      if (options.on_revoked) options.on_revoked(changed, rd_kafka_assignment_lost(handle) != 0);
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(handle, parts)) {
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(handle, nullptr);
      }
      for (int32_t p : changed) {
        std::erase(self->assignment, p);
        self->eof.erase(p);
        self->paused.erase(p);
        self->pinned.erase(p);
      }
      if (!cooperative) {
        self->assignment.clear();
        self->eof.clear();
        self->paused.clear();
        self->pinned.clear();
      }
    }
    if (options.assigned) options.assigned(self->assignment);
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    self->last_error =
        std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " + reason;
  }
};

KafkaConsumer::KafkaConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaConsumer::~KafkaConsumer() = default;

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(const KafkaSettings& settings,
                                                             std::string topic, StartOffsetFn start,
                                                             AssignedFn assigned) {
  Options options;
  options.start = std::move(start);
  options.assigned = std::move(assigned);
  return Create(settings, std::move(topic), std::move(options));
}

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(const KafkaSettings& settings,
                                                             std::string topic, Options options) {
  auto impl = std::make_unique<Impl>();
  impl->topic = std::move(topic);
  impl->options = std::move(options);
  bool transactional = impl->options.transactional_offsets;
  auto props = ConsumerProperties(settings);
  std::vector<std::pair<std::string, std::string>> own = {
      {"group.id", settings.group_id},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", transactional ? "false" : "true"},
      {"auto.commit.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"}};
  if (transactional) own.push_back({"isolation.level", "read_committed"});
  if (!impl->options.group_instance_id.empty()) {
    own.push_back({"group.instance.id", impl->options.group_instance_id});
  }
  props.insert(props.begin() + 2, own.begin(), own.end());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  // The daemon's own needs win over the pass-through properties.
  char err[512];
  rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
  if (transactional) {
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
    // A partition taken over from an instance that died while committing: its offsets are read
    // only once that transaction is resolved (KIP-447), never the ones before it.
    rd_kafka_conf_set(conf, "require.stable.offsets", "true", err, sizeof err);
  }
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_rebalance_cb(conf, &Impl::OnRebalance);
  rd_kafka_conf_set_error_cb(conf, &Impl::OnError);
  Error error;
  impl->rk = NewClient(RD_KAFKA_CONSUMER, conf, error);
  if (!impl->rk) return error;
  rd_kafka_poll_set_consumer(impl->rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, impl->topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t sub = rd_kafka_subscribe(impl->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (sub != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{"kafka_subscribe", impl->topic + ": " + rd_kafka_err2str(sub)};
  }
  return std::unique_ptr<KafkaConsumer>(new KafkaConsumer(std::move(impl)));
}

size_t KafkaConsumer::Poll(size_t max, const std::function<void(const KafkaMessage&)>& handle) {
  size_t handled = 0;
  while (handled < max && !impl_->closed) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, 0);
    if (!m) break;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      impl_->eof[m->partition] = true;
    } else if (m->err) {
      impl_->last_error = rd_kafka_message_errstr(m);
    } else if (auto held = impl_->paused.find(m->partition); held != impl_->paused.end()) {
      // Fetched before the pause took effect: handed out after Resume instead (unless the
      // partition was sought while paused: it goes on from there).
      if (!impl_->pinned.contains(m->partition) && (held->second < 0 || m->offset < held->second)) {
        held->second = m->offset;
      }
    } else {
      impl_->eof[m->partition] = false;
      handle(ToKafkaMessage(m));
      ++handled;
    }
    rd_kafka_message_destroy(m);
  }
  return handled;
}

void KafkaConsumer::StoreOffset(int32_t partition, int64_t next_offset) {
  if (impl_->options.transactional_offsets) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, impl_->topic.c_str(), partition)->offset = next_offset;
  rd_kafka_offsets_store(impl_->rk, list);  // fails harmlessly for a partition just revoked
  rd_kafka_topic_partition_list_destroy(list);
}

Status KafkaConsumer::CommitSync() {
  if (impl_->options.transactional_offsets) return Ok{};
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk, nullptr, 0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return Ok{};
  return Error{"kafka_commit", rd_kafka_err2str(err)};
}

void KafkaConsumer::Close() {
  if (impl_->closed) return;
  rd_kafka_consumer_close(impl_->rk);
  impl_->closed = true;
}

bool KafkaConsumer::caught_up() const {
  if (impl_->assignment.empty()) return false;
  for (int32_t p : impl_->assignment) {
    if (!at_end(p)) return false;
  }
  return true;
}

bool KafkaConsumer::at_end(int32_t partition) const {
  if (impl_->paused.contains(partition)) return false;
  auto it = impl_->eof.find(partition);
  return it != impl_->eof.end() && it->second;
}

void KafkaConsumer::Pause(int32_t partition) {
  if (impl_->paused.contains(partition) ||
      !std::binary_search(impl_->assignment.begin(), impl_->assignment.end(), partition)) {
    return;
  }
  impl_->PauseOrResume(partition, true);
  impl_->paused[partition] = -1;
}

void KafkaConsumer::Resume(int32_t partition) {
  auto it = impl_->paused.find(partition);
  if (it == impl_->paused.end()) return;
  int64_t rewind = it->second;
  impl_->paused.erase(it);
  impl_->pinned.erase(partition);
  impl_->PauseOrResume(partition, false);
  if (rewind >= 0) impl_->SeekTo(partition, rewind);
}

bool KafkaConsumer::paused(int32_t partition) const { return impl_->paused.contains(partition); }

void KafkaConsumer::Seek(int32_t partition, int64_t offset) {
  impl_->SeekTo(partition, offset);
  if (auto held = impl_->paused.find(partition); held != impl_->paused.end()) {
    held->second = offset;  // Resume goes on from here
    impl_->pinned.insert(partition);
  }
}

streams::GroupMetadata KafkaConsumer::GroupMetadata() const {
  auto impl = std::make_unique<streams::GroupMetadata::Impl>();
  impl->handle = rd_kafka_consumer_group_metadata(impl_->rk);
  return streams::GroupMetadata(std::move(impl));
}

Result<PartitionOffsets> KafkaConsumer::Committed(const std::vector<int32_t>& partitions,
                                                  std::chrono::milliseconds timeout) const {
  PartitionOffsets committed;
  if (partitions.empty()) return committed;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t p : partitions) rd_kafka_topic_partition_list_add(list, impl_->topic.c_str(), p);
  rd_kafka_resp_err_t err = rd_kafka_committed(impl_->rk, list, static_cast<int>(timeout.count()));
  std::optional<Error> error;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    error = Error{"kafka_committed", impl_->topic + ": " + rd_kafka_err2str(err)};
  } else {
    for (int i = 0; i < list->cnt && !error; ++i) {
      const rd_kafka_topic_partition_t& e = list->elems[i];
      if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = Error{"kafka_committed", impl_->topic + "[" + std::to_string(e.partition) +
                                             "]: " + rd_kafka_err2str(e.err)};
      } else if (e.offset >= 0) {
        committed[e.partition] = e.offset;
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (error) return *error;
  return committed;
}

const std::vector<int32_t>& KafkaConsumer::assignment() const { return impl_->assignment; }

PartitionOffsets KafkaConsumer::Lag() const {
  PartitionOffsets lag;
  if (impl_->assignment.empty()) return lag;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(impl_->assignment.size()));
  for (int32_t p : impl_->assignment) {
    rd_kafka_topic_partition_list_add(list, impl_->topic.c_str(), p);
  }
  if (rd_kafka_position(impl_->rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_get_watermark_offsets(impl_->rk, impl_->topic.c_str(), list->elems[i].partition,
                                         &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      int64_t position = list->elems[i].offset < 0 ? low : list->elems[i].offset;
      lag[list->elems[i].partition] = std::max<int64_t>(high - position, 0);
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return lag;
}

std::optional<std::string> KafkaConsumer::fatal_error() const {
  char reason[512];
  if (rd_kafka_fatal_error(impl_->rk, reason, sizeof reason) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return std::string(reason);
}

std::optional<std::string> KafkaConsumer::TakeError() {
  std::optional<std::string> e;
  e.swap(impl_->last_error);
  return e;
}

Result<PartitionOffsets> EndOffsets(const KafkaSettings& settings, const std::string& topic,
                                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = ApplyProperties(conf, ConsumerProperties(settings)); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  Error error;
  rd_kafka_t* rk = NewClient(RD_KAFKA_CONSUMER, conf, error);
  if (!rk) return error;
  auto marks = Watermarks(rk, topic, deadline);
  rd_kafka_destroy(rk);
  if (!marks.ok()) return marks.error();
  PartitionOffsets ends;
  for (const auto& [p, m] : *marks) ends[p] = m.second;
  return ends;
}

Status ScanTopic(const KafkaSettings& settings, const std::string& topic,
                 const PartitionOffsets& from, std::chrono::milliseconds timeout,
                 const std::function<void(const KafkaMessage&)>& visit) {
  auto deadline = Clock::now() + timeout;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto props = ConsumerProperties(settings);
  // consumer_poll needs a group id even with assign(); no group is joined and nothing committed.
  props.push_back(
      {"group.id", (settings.group_id.empty() ? settings.client_id : settings.group_id) + ".scan"});
  props.push_back({"enable.auto.commit", "false"});
  // A transactional topic ends in control markers, never delivered: its end is the EOF event.
  props.push_back({"enable.partition.eof", "true"});
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  Error error;
  rd_kafka_t* rk = NewClient(RD_KAFKA_CONSUMER, conf, error);
  if (!rk) return error;
  auto marks = Watermarks(rk, topic, deadline);
  if (!marks.ok()) {
    rd_kafka_destroy(rk);
    return marks.error();
  }
  std::map<int32_t, int64_t> wanted_end;  // partitions still to read, to their end
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  for (const auto& [p, m] : *marks) {
    auto it = from.find(p);
    int64_t start = std::max(it == from.end() ? m.first : it->second, m.first);
    if (start >= m.second) continue;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = start;
    wanted_end[p] = m.second;
  }
  Status status = Ok{};
  if (!wanted_end.empty()) {
    rd_kafka_assign(rk, list);
    while (!wanted_end.empty()) {
      if (RemainingMs(deadline) == 0) {
        status = Error{"kafka_scan", "timed out reading " + topic};
        break;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, std::min(RemainingMs(deadline), 100));
      if (!m) continue;
      auto it = wanted_end.find(m->partition);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && it != wanted_end.end() &&
          m->offset >= it->second) {
        wanted_end.erase(it);
      } else if (!m->err && it != wanted_end.end() && m->offset < it->second) {
        KafkaMessage msg = ToKafkaMessage(m);
        msg.topic = topic;
        std::vector<KafkaHeader> headers = CopyHeaders(m);
        msg.headers = &headers;
        visit(msg);
        if (m->offset + 1 >= it->second) wanted_end.erase(it);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, nullptr);
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return status;
}

}  // namespace ontime::streams
