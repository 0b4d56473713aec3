#include "kafka_check.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <utility>

#include "ontime/daemon/address.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"

namespace ontime::daemon {
namespace {

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Properties with a key of their own in the configuration, or that the daemon sets after the
// pass-through ones (so a value given here would be silently ignored).
struct Reserved {
  std::string_view name;
  std::string_view why;
};
constexpr std::array<Reserved, 6> kReserved = {{
    {"bootstrap.servers", "set the brokers with kafka.brokers"},
    {"metadata.broker.list", "set the brokers with kafka.brokers"},
    {"group.id", "set the consumer group with kafka.group_id"},
    {"client.id", "set the client id with kafka.client_id"},
    {"enable.auto.offset.store",
     "ontimed sets it (false): an offset is stored once the event's outputs are confirmed"},
    {"enable.partition.eof", "ontimed sets it (true): it tells when the input is caught up"},
}};

}  // namespace

std::optional<std::string> CheckBrokers(std::string_view brokers) {
  static constexpr std::array<std::string_view, 4> kProtocols = {"plaintext", "ssl",
                                                                 "sasl_plaintext", "sasl_ssl"};
  size_t start = 0;
  while (true) {
    const size_t comma = brokers.find(',', start);
    std::string_view entry = Trim(brokers.substr(start, comma - start));
    if (entry.empty()) return Quote(brokers) + " has an empty entry";
    if (const size_t scheme = entry.find("://"); scheme != std::string_view::npos) {
      const std::string protocol = Lower(entry.substr(0, scheme));
      if (std::find(kProtocols.begin(), kProtocols.end(), protocol) == kProtocols.end()) {
        return Quote(entry) + ": " + Quote(entry.substr(0, scheme)) +
               " is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL";
      }
      entry.remove_prefix(scheme + 3);
    }
    Result<HostPort> parsed = ParseHostPort(entry, {.default_port = 9092});
    if (!parsed.ok()) return parsed.error().message;
    if (comma == std::string_view::npos) return std::nullopt;
    start = comma + 1;
  }
}

std::optional<std::string> CheckTopicName(std::string_view topic) {
  const bool legal =
      !topic.empty() && topic.size() <= 249 && topic != "." && topic != ".." &&
      std::all_of(topic.begin(), topic.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
  if (legal) return std::nullopt;
  return Quote(topic) +
         " is not a Kafka topic name (1 to 249 letters, digits, '.', '_' or '-'; not . or ..)";
}

std::optional<std::string> CheckKafkaProperty(const std::string& name, const std::string& value) {
  for (const Reserved& reserved : kReserved) {
    if (reserved.name == name) return "not a pass-through property: " + std::string(reserved.why);
  }
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(),
                                                                          &rd_kafka_conf_destroy);
  char error[512];
  if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), error, sizeof error) !=
      RD_KAFKA_CONF_OK) {
    return std::string(error);
  }
  return std::nullopt;
}

std::optional<std::string> CheckKafkaClients(const KafkaConfig& kafka) {
  streams::KafkaSettings settings;
  settings.brokers = "";  // no bootstrap servers: the clients are built, never connected
  settings.client_id = kafka.client_id;
  settings.group_id = kafka.group_id;
  for (const auto& property : kafka.properties) {
    if (property.first != "debug") settings.properties.push_back(property);  // would log
  }
  settings.properties.emplace_back("log_level", "0");  // "no bootstrap servers" is no news
  auto producer = streams::KafkaProducer::Create(settings, [](const streams::Delivery&) {});
  if (!producer.ok()) return "librdkafka refuses the producer: " + producer.error().message;
  auto consumer = streams::KafkaConsumer::Create(
      settings, kafka.topics.events, [](int32_t) { return std::nullopt; },
      [](const std::vector<int32_t>&) {});
  if (!consumer.ok()) return "librdkafka refuses the consumer: " + consumer.error().message;
  return std::nullopt;
}

}  // namespace ontime::daemon
