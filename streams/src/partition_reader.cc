#include "ontime/streams/partition_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <string>

#include "kafka_util.h"

namespace ontime::streams {
namespace {

// Large fetches and a deep local queue: a restore reads millions of small records.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kReaderProperties = {{
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "error"},
    {"fetch.max.bytes", "52428800"},
    {"max.partition.fetch.bytes", "52428800"},
    {"queued.max.messages.kbytes", "262144"},
    {"queued.min.messages", "1000000"},
    {"fetch.wait.max.ms", "100"},
}};

constexpr size_t kBatch = 4096;

}  // namespace

Result<int64_t> ReadPartition(const KafkaSettings& settings, const std::string& topic,
                              int32_t partition, int64_t from_offset,
                              const std::function<void(const KafkaMessage&)>& visit,
                              const std::function<bool()>& cancelled,
                              std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id},
      // consume_batch_queue needs a group id even with assign(); no group is joined, nothing
      // committed.
      {"group.id",
       (settings.group_id.empty() ? settings.client_id : settings.group_id) + ".restore"},
  };
  for (const auto& [name, value] : kReaderProperties) props.emplace_back(name, value);
  for (const auto& p : settings.properties) {
    if (IsProducerOnlyProperty(p.first) || p.first == "group.id") continue;
    props.push_back(p);
  }
  // What the reader relies on wins over the pass-through properties.
  props.push_back({"enable.partition.eof", "true"});
  props.push_back({"isolation.level", "read_committed"});
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  char err[512];
  rd_kafka_t* rk = NewKafkaClient(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka_config", err};
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = from_offset;
  rd_kafka_resp_err_t assigned = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::string where = topic + "[" + std::to_string(partition) + "]";
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(rk);
    return Error{"kafka_read", where + ": " + rd_kafka_err2str(assigned)};
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  std::array<rd_kafka_message_t*, kBatch> batch;
  int64_t next = from_offset;
  std::optional<Error> failure;
  std::string last_error;
  bool at_end = false;
  while (!at_end && !failure) {
    if (cancelled && cancelled()) {
      failure = Error{"cancelled", "reading " + where + " cancelled"};
      break;
    }
    int left = RemainingMs(deadline);
    if (left == 0) {
      failure =
          Error{"kafka_read", "timed out reading " + where + " at offset " + std::to_string(next) +
                                  (last_error.empty() ? "" : ": " + last_error)};
      break;
    }
    ssize_t n = rd_kafka_consume_batch_queue(queue, std::min(left, 100), batch.data(), kBatch);
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[i];
      if (!failure && !at_end) {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          visit(ToKafkaMessage(m));
          next = m->offset + 1;
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          // Also past trailing transaction markers, which advance the position silently.
          next = std::max(next, m->offset);
          at_end = true;
        } else if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                   m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
          failure = Error{"kafka_offset_out_of_range", where + " has no offset " +
                                                           std::to_string(from_offset) + ": " +
                                                           rd_kafka_message_errstr(m)};
        } else {
          last_error = rd_kafka_message_errstr(m);  // transient (broker away...): keep trying
        }
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_assign(rk, nullptr);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (failure) return *failure;
  return next;
}

}  // namespace ontime::streams

namespace ontime::streams {

struct PartitionTail::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  ~Impl() {
    if (queue) rd_kafka_queue_destroy(queue);
    if (rk) {
      rd_kafka_assign(rk, nullptr);
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

Result<std::unique_ptr<PartitionTail>> PartitionTail::Open(const KafkaSettings& settings,
                                                           const std::string& topic,
                                                           int32_t partition) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id},
      {"group.id",
       (settings.group_id.empty() ? settings.client_id : settings.group_id) + ".members"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", "100"},
  };
  for (const auto& p : settings.properties) {
    if (IsProducerOnlyProperty(p.first) || p.first == "group.id") continue;
    props.push_back(p);
  }
  props.push_back({"enable.partition.eof", "false"});
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  char err[512];
  auto impl = std::make_unique<Impl>();
  impl->rk = NewKafkaClient(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka_config", err};
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t assigned = rd_kafka_assign(impl->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{"kafka_read",
                 topic + "[" + std::to_string(partition) + "]: " + rd_kafka_err2str(assigned)};
  }
  impl->queue = rd_kafka_queue_get_consumer(impl->rk);
  return std::unique_ptr<PartitionTail>(new PartitionTail(std::move(impl)));
}

PartitionTail::PartitionTail(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PartitionTail::~PartitionTail() = default;

size_t PartitionTail::Poll(std::chrono::milliseconds wait,
                           const std::function<void(const KafkaMessage&)>& visit) {
  constexpr size_t kTailBatch = 512;
  std::array<rd_kafka_message_t*, kTailBatch> batch;
  size_t handed = 0;
  int timeout = static_cast<int>(std::max<int64_t>(wait.count(), 0));
  while (true) {
    ssize_t n = rd_kafka_consume_batch_queue(impl_->queue, timeout, batch.data(), kTailBatch);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[i];
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        visit(ToKafkaMessage(m));
        ++handed;
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        last_error_ = rd_kafka_message_errstr(m);
      }
      rd_kafka_message_destroy(m);
    }
    timeout = 0;  // what else is already there, without waiting again
  }
  return handed;
}

}  // namespace ontime::streams
