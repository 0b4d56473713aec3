#include "ontime/streams/kafka_consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "kafka_util.h"

namespace ontime::streams {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 0));
}

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
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
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
  StartOffsetFn start;
  AssignedFn assigned;
  std::vector<int32_t> assignment;
  std::map<int32_t, bool> eof;
  std::optional<std::string> last_error;
  bool closed = false;

  ~Impl() {
    if (rk) {
      if (!closed) rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }

  static void OnRebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(handle), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        std::optional<int64_t> offset = self->start(parts->elems[i].partition);
        parts->elems[i].offset = offset ? *offset : RD_KAFKA_OFFSET_BEGINNING;
      }
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_assign(handle, parts)) {
          self->last_error = std::string("assign: ") + rd_kafka_error_string(e);
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(handle, parts);
      }
      for (int i = 0; i < parts->cnt; ++i) {
        self->assignment.push_back(parts->elems[i].partition);
        self->eof[parts->elems[i].partition] = false;
      }
    } else {
      if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(handle, parts)) {
          rd_kafka_error_destroy(e);
        }
      } else {
        rd_kafka_assign(handle, nullptr);
      }
      for (int i = 0; i < parts->cnt; ++i) {
        std::erase(self->assignment, parts->elems[i].partition);
        self->eof.erase(parts->elems[i].partition);
      }
      if (!cooperative) {
        self->assignment.clear();
        self->eof.clear();
      }
    }
    std::sort(self->assignment.begin(), self->assignment.end());
    if (self->assigned) self->assigned(self->assignment);
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
  auto impl = std::make_unique<Impl>();
  impl->topic = std::move(topic);
  impl->start = std::move(start);
  impl->assigned = std::move(assigned);
  auto props = ConsumerProperties(settings);
  props.insert(props.begin() + 2, {{"group.id", settings.group_id},
                                   {"partition.assignment.strategy", "cooperative-sticky"},
                                   {"enable.auto.offset.store", "false"},
                                   {"enable.auto.commit", "true"},
                                   {"auto.commit.interval.ms", "1000"},
                                   {"auto.offset.reset", "earliest"},
                                   {"enable.partition.eof", "true"}});
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  // The daemon's own needs win over the pass-through properties.
  char err[512];
  rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
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
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, impl_->topic.c_str(), partition)->offset = next_offset;
  rd_kafka_offsets_store(impl_->rk, list);  // fails harmlessly for a partition just revoked
  rd_kafka_topic_partition_list_destroy(list);
}

Status KafkaConsumer::CommitSync() {
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
    auto it = impl_->eof.find(p);
    if (it == impl_->eof.end() || !it->second) return false;
  }
  return true;
}

bool KafkaConsumer::at_end(int32_t partition) const {
  auto it = impl_->eof.find(partition);
  return it != impl_->eof.end() && it->second;
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
      if (!m->err && it != wanted_end.end() && m->offset < it->second) {
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
