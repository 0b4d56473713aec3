#include "kafka_util.h"

#include <array>
#include <cstdio>

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

bool IsConsumerOnlyProperty(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kNames = {"group.id",
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
                                                              "isolation.level"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return name.rfind("fetch.", 0) == 0 || name.rfind("queued.", 0) == 0;
}

bool IsProducerOnlyProperty(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kNames = {"acks",
                                                              "linger.ms",
                                                              "enable.idempotence",
                                                              "message.timeout.ms",
                                                              "compression.type",
                                                              "batch.size",
                                                              "batch.num.messages",
                                                              "retries",
                                                              "queue.buffering.max.messages",
                                                              "queue.buffering.max.kbytes"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace ontime::streams
