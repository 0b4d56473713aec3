#include "kafka_util.h"

#include <sched.h>

#include <array>
#include <cstdio>
#include <memory>

namespace ontime::streams {

namespace {

// librdkafka's own log lines, in the daemon's "<level> message key=value" form on stderr.
void LogToStderr(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const char* name = level <= 3 ? "error" : level <= 4 ? "warning" : level <= 6 ? "info" : "debug";
  std::fprintf(stderr, "%s kafka: %s facility=%s client=%s\n", name, message, facility,
               rd_kafka_name(rk));
}

}  // namespace

Status ApplyProperties(rd_kafka_conf_t* conf,
                       const std::vector<std::pair<std::string, std::string>>& properties) {
  rd_kafka_conf_set_log_cb(conf, &LogToStderr);
  char err[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Error{"kafka_config", "kafka.properties." + name + ": " + err};
    }
  }
  return Ok{};
}

rd_kafka_t* NewKafkaClient(rd_kafka_type_t type, rd_kafka_conf_t* conf, char* error,
                           size_t error_size) {
  // Threads inherit the policy of the thread creating them (librdkafka's later ones are created
  // by its own threads): the calling thread is SCHED_BATCH just for rd_kafka_new.
  const int policy = sched_getscheduler(0);
  sched_param param{};
  const bool switched = policy == SCHED_OTHER && sched_setscheduler(0, SCHED_BATCH, &param) == 0;
  rd_kafka_t* rk = rd_kafka_new(type, conf, error, error_size);
  if (switched) (void)sched_setscheduler(0, SCHED_OTHER, &param);
  return rk;
}

bool IsConsumerOnlyProperty(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kNames = {"group.id",
                                                              "group.instance.id",
                                                              "partition.assignment.strategy",
                                                              "session.timeout.ms",
                                                              "heartbeat.interval.ms",
                                                              "max.poll.interval.ms",
                                                              "auto.offset.reset",
                                                              "enable.auto.commit",
                                                              "auto.commit.interval.ms",
                                                              "enable.auto.offset.store",
                                                              "fetch.min.bytes",
                                                              "isolation.level",
                                                              "enable.partition.eof",
                                                              "max.partition.fetch.bytes"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return name.rfind("fetch.", 0) == 0 || name.rfind("queued.", 0) == 0;
}

bool IsProducerOnlyProperty(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kNames = {"acks",
                                                              "linger.ms",
                                                              "enable.idempotence",
                                                              "message.timeout.ms",
                                                              "compression.type",
                                                              "batch.size",
                                                              "batch.num.messages",
                                                              "retries",
                                                              "queue.buffering.max.messages",
                                                              "queue.buffering.max.kbytes",
                                                              "transactional.id",
                                                              "transaction.timeout.ms"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

KafkaMessage ToKafkaMessage(const rd_kafka_message_t* m) {
  KafkaMessage msg;
  msg.topic = rd_kafka_topic_name(m->rkt);
  msg.partition = m->partition;
  msg.offset = m->offset;
  if (m->key) msg.key = {static_cast<const char*>(m->key), m->key_len};
  if (m->payload) {
    msg.value = {static_cast<const char*>(m->payload), m->len};
  } else {
    msg.null_value = true;
  }
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(m, &type);
  if (type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts >= 0) msg.timestamp_ms = ts;
  return msg;
}

std::vector<KafkaHeader> CopyHeaders(const rd_kafka_message_t* m) {
  std::vector<KafkaHeader> headers;
  rd_kafka_headers_t* hdrs = nullptr;
  // rd_kafka_message_headers takes a non-const message only to parse the headers lazily.
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(m), &hdrs) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      hdrs) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      headers.push_back({name, std::string(static_cast<const char*>(value), size)});
    }
  }
  return headers;
}

GroupMetadata GroupMetadata::ForGroup(const std::string& group_id) {
  auto impl = std::make_unique<Impl>();
  impl->handle = rd_kafka_consumer_group_metadata_new(group_id.c_str());
  return GroupMetadata(std::move(impl));
}

GroupMetadata::GroupMetadata(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GroupMetadata::~GroupMetadata() = default;
GroupMetadata::GroupMetadata(GroupMetadata&&) noexcept = default;
GroupMetadata& GroupMetadata::operator=(GroupMetadata&&) noexcept = default;
bool GroupMetadata::valid() const { return impl_ && impl_->handle; }

}  // namespace ontime::streams
