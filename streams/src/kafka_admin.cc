#include "ontime/streams/kafka_admin.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "kafka_util.h"

namespace ontime::streams {
namespace {

// An admin client (a producer handle that never produces) with its own reply queue.
struct AdminClient {
  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  ~AdminClient() {
    if (queue) rd_kafka_queue_destroy(queue);
    if (rk) rd_kafka_destroy(rk);
  }
};

Result<std::unique_ptr<AdminClient>> NewAdminClient(const KafkaSettings& settings) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id},
  };
  for (const auto& p : settings.properties) {
    if (IsConsumerOnlyProperty(p.first) || IsProducerOnlyProperty(p.first)) continue;
    props.push_back(p);
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  char err[512];
  auto client = std::make_unique<AdminClient>();
  client->rk = NewKafkaClient(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!client->rk) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka_config", err};
  }
  client->queue = rd_kafka_queue_new(client->rk);
  return client;
}

// Waits for the admin result of type `type`; null (with `error` set) on time-out or failure.
rd_kafka_event_t* WaitResult(AdminClient& client, rd_kafka_event_type_t type,
                             Clock::time_point deadline, const std::string& what, Error& error) {
  while (true) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(client.queue, RemainingMsAtLeastOne(deadline));
    if (!ev) {
      error = Error{"kafka_admin", what + ": timed out"};
      return nullptr;
    }
    if (rd_kafka_event_type(ev) != type) {
      rd_kafka_event_destroy(ev);
      continue;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = Error{"kafka_admin", what + ": " + rd_kafka_event_error_string(ev)};
      rd_kafka_event_destroy(ev);
      return nullptr;
    }
    return ev;
  }
}

}  // namespace

Result<std::map<std::string, std::optional<TopicInfo>>> DescribeTopics(
    const KafkaSettings& settings, const std::vector<std::string>& names,
    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto client = NewAdminClient(settings);
  if (!client.ok()) return client.error();
  AdminClient& admin = **client;

  // Partition counts from a metadata request for all topics: one asking for a named topic could
  // have the broker auto-create it.
  std::map<std::string, std::optional<TopicInfo>> topics;
  for (const std::string& name : names) topics[name] = std::nullopt;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err;
  do {
    err = rd_kafka_metadata(admin.rk, 1, nullptr, &md, RemainingMsAtLeastOne(deadline));
  } while (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__TIMED_OUT &&
           Clock::now() < deadline);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{"kafka_metadata", std::string("topic metadata: ") + rd_kafka_err2str(err)};
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    auto it = topics.find(t.topic);
    if (it == topics.end() || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    it->second = TopicInfo{t.partition_cnt, {}};
  }
  rd_kafka_metadata_destroy(md);

  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const auto& [name, info] : topics) {
    if (info)
      resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  }
  if (resources.empty()) return topics;
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(admin.rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  char errstr[512];
  rd_kafka_AdminOptions_set_request_timeout(options, RemainingMsAtLeastOne(deadline), errstr,
                                            sizeof errstr);
  rd_kafka_DescribeConfigs(admin.rk, resources.data(), resources.size(), options, admin.queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());

  Error error;
  rd_kafka_event_t* ev =
      WaitResult(admin, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, deadline, "describe configs", error);
  if (!ev) return error;
  const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(ev);
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(result, &count);
  std::optional<Error> failure;
  for (size_t i = 0; i < count; ++i) {
    std::string name = rd_kafka_ConfigResource_name(described[i]);
    if (rd_kafka_ConfigResource_error(described[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (rd_kafka_ConfigResource_error(described[i]) == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        topics[name] = std::nullopt;  // deleted since the metadata
        continue;
      }
      failure = Error{"kafka_admin", "describe configs of " + name + ": " +
                                         rd_kafka_ConfigResource_error_string(described[i])};
      break;
    }
    auto it = topics.find(name);
    if (it == topics.end() || !it->second) continue;
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs =
        rd_kafka_ConfigResource_configs(described[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      it->second->configs[rd_kafka_ConfigEntry_name(configs[j])] = value ? value : "";
    }
  }
  rd_kafka_event_destroy(ev);
  if (failure) return *failure;
  return topics;
}

Status CreateTopics(const KafkaSettings& settings, const std::vector<TopicSpec>& topics,
                    std::chrono::milliseconds timeout) {
  if (topics.empty()) return Ok{};
  auto deadline = Clock::now() + timeout;
  auto client = NewAdminClient(settings);
  if (!client.ok()) return client.error();
  AdminClient& admin = **client;
  char errstr[512];
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  std::optional<Error> failure;
  for (const TopicSpec& spec : topics) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                                   spec.replication_factor, errstr, sizeof errstr);
    if (!t) {
      failure = Error{"kafka_admin", "topic " + spec.name + ": " + errstr};
      break;
    }
    new_topics.push_back(t);
    for (const auto& [name, value] : spec.configs) {
      if (rd_kafka_NewTopic_set_config(t, name.c_str(), value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        failure = Error{"kafka_admin", "topic " + spec.name + ": bad config " + name};
        break;
      }
    }
    if (failure) break;
  }
  if (!failure) {
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(admin.rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    int ms = RemainingMsAtLeastOne(deadline);
    rd_kafka_AdminOptions_set_request_timeout(options, ms, errstr, sizeof errstr);
    // Wait for the controller to have created them, so that they can be used at once.
    rd_kafka_AdminOptions_set_operation_timeout(options, ms, errstr, sizeof errstr);
    rd_kafka_CreateTopics(admin.rk, new_topics.data(), new_topics.size(), options, admin.queue);
    rd_kafka_AdminOptions_destroy(options);
  }
  rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
  if (failure) return *failure;

  Error error;
  rd_kafka_event_t* ev =
      WaitResult(admin, RD_KAFKA_EVENT_CREATETOPICS_RESULT, deadline, "create topics", error);
  if (!ev) return error;
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &count);
  for (size_t i = 0; i < count && !failure; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    failure =
        Error{"kafka_admin", std::string("create topic ") + rd_kafka_topic_result_name(results[i]) +
                                 ": " + (message ? message : rd_kafka_err2str(e))};
  }
  rd_kafka_event_destroy(ev);
  if (failure) return *failure;
  return Ok{};
}

Status DeleteRecords(const KafkaSettings& settings, const std::string& topic,
                     const PartitionOffsets& before, std::chrono::milliseconds timeout) {
  if (before.empty()) return Ok{};
  auto deadline = Clock::now() + timeout;
  auto client = NewAdminClient(settings);
  if (!client.ok()) return client.error();
  AdminClient& admin = **client;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(before.size()));
  for (const auto& [partition, offset] : before) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(list);
  rd_kafka_topic_partition_list_destroy(list);
  char errstr[512];
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(admin.rk, RD_KAFKA_ADMIN_OP_DELETERECORDS);
  const int ms = RemainingMsAtLeastOne(deadline);
  rd_kafka_AdminOptions_set_request_timeout(options, ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options, ms, errstr, sizeof errstr);
  rd_kafka_DeleteRecords(admin.rk, &request, 1, options, admin.queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_DeleteRecords_destroy(request);
  Error error;
  rd_kafka_event_t* ev =
      WaitResult(admin, RD_KAFKA_EVENT_DELETERECORDS_RESULT, deadline, "delete records", error);
  if (!ev) return error;
  std::optional<Error> failure;
  const rd_kafka_topic_partition_list_t* done =
      rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
  for (int i = 0; done && i < done->cnt && !failure; ++i) {
    if (done->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = Error{"kafka_admin", "delete records " + topic + "[" +
                                         std::to_string(done->elems[i].partition) +
                                         "]: " + rd_kafka_err2str(done->elems[i].err)};
    }
  }
  rd_kafka_event_destroy(ev);
  if (failure) return *failure;
  return Ok{};
}

}  // namespace ontime::streams
