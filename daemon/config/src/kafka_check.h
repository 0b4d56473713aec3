#pragma once
// The checks of the configuration's kafka section, so that check-config rejects what the Kafka
// clients of `run` would reject or silently mishandle: broker lists, topic names, and
// kafka.properties judged by librdkafka itself. Private to daemon/ (the loader's). Any thread.

#include <optional>
#include <string>
#include <string_view>

#include "ontime/daemon/config.h"

namespace ontime::daemon {

// "[PROTOCOL://]host[:port],..." (port 9092 when left out): nullopt, or what is wrong.
std::optional<std::string> CheckBrokers(std::string_view brokers);

// A name Kafka accepts: 1..249 of [A-Za-z0-9._-], not "." or "..".
std::optional<std::string> CheckTopicName(std::string_view topic);

// Whether librdkafka takes `name` = `value`: set on a scratch configuration (no client, no
// connection). The error is librdkafka's sentence, or why ontimed keeps the property for itself.
std::optional<std::string> CheckKafkaProperty(const std::string& name, const std::string& value);

// Builds the producer and the consumer `run` builds from `kafka` (through the same streams
// constructors), with no bootstrap servers so nothing connects, then drops them: librdkafka's
// checks across properties (acks with idempotence, SASL credentials, TLS files) happen now.
std::optional<std::string> CheckKafkaClients(const KafkaConfig& kafka);

}  // namespace ontime::daemon
