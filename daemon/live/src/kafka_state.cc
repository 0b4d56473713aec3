#include "ontime/daemon/kafka_state.h"

#include <thread>

#include "ontime/streams/kafka_admin.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/partition_reader.h"

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

TransactionalProducer::Result Convert(const streams::TransactionResult& r) {
  using Kind = streams::TransactionResult::Kind;
  using Outcome = TransactionalProducer::Outcome;
  switch (r.kind) {
    case Kind::kOk: return {Outcome::kCommitted, {}};
    case Kind::kRetriable: return {Outcome::kRetry, r.message};
    case Kind::kAbortRequired: return {Outcome::kAbort, r.message};
    case Kind::kFatal: return {Outcome::kFatal, r.message};
  }
  return {Outcome::kFatal, r.message};
}

}  // namespace

TransactionalProducer::Result KafkaTransactions::Init() {
  Status s = producer_.InitTransactions(kCallTimeout);
  if (s.ok()) return {Outcome::kCommitted, {}};
  return {s.error().code == "kafka_txn_retriable" ? Outcome::kRetry : Outcome::kFatal,
          s.error().message};
}

TransactionalProducer::Result KafkaTransactions::Commit(
    const streams::PartitionOffsets& next_offsets) {
  if (consumer_ == nullptr) return {Outcome::kFatal, "no consumer to commit offsets for"};
  return Convert(producer_.CommitTransaction(input_topic_, next_offsets, consumer_->GroupMetadata(),
                                             kCallTimeout));
}

TransactionalProducer::Result KafkaTransactions::Abort() {
  return Convert(producer_.AbortTransaction(kCallTimeout));
}

Result<int> EnsureTopics(const streams::KafkaSettings& settings, const TopicPlan& plan,
                         std::chrono::milliseconds timeout, TopicFacts* facts) {
  std::vector<std::string> names = {plan.input, plan.changelog};
  names.insert(names.end(), plan.outputs.begin(), plan.outputs.end());
  if (!plan.members.empty()) names.push_back(plan.members);
  auto described = streams::DescribeTopics(settings, names, timeout);
  if (!described.ok()) {
    return Error{"kafka_unreachable", "cannot describe the topics: " + described.error().message};
  }
  const auto& input = described->at(plan.input);
  if (!input) {
    return Error{"input_missing", "the input topic " + plan.input +
                                      " does not exist; create it (for example: kafka-topics.sh "
                                      "--create --topic " +
                                      plan.input + " --partitions 12)"};
  }
  std::vector<streams::TopicSpec> missing;
  for (const std::string& name : plan.outputs) {
    if (!described->at(name)) missing.push_back({name, input->partitions, -1, {}});
  }
  const auto& changelog = described->at(plan.changelog);
  if (changelog) {
    auto policy = changelog->configs.find("cleanup.policy");
    const bool compacted =
        policy != changelog->configs.end() && policy->second.find("compact") != std::string::npos;
    if (!compacted || changelog->partitions != input->partitions) {
      return Error{"changelog_foreign",
                   "the changelog topic " + plan.changelog + " has " +
                       std::to_string(changelog->partitions) + " partitions and cleanup.policy " +
                       (policy == changelog->configs.end() ? "unset" : policy->second) +
                       "; it must have the input's " + std::to_string(input->partitions) +
                       " partitions and cleanup.policy=compact. Is it another application's? "
                       "Set kafka.topics.changelog, or delete it only if its state may be lost"};
    }
    if (auto retention = changelog->configs.find("delete.retention.ms");
        facts && retention != changelog->configs.end()) {
      try {
        facts->changelog_delete_retention =
            std::chrono::milliseconds(std::stoll(retention->second));
      } catch (const std::exception&) {
        // Unreadable: the default stays.
      }
    }
  } else {
    missing.push_back({plan.changelog, input->partitions, -1, {{"cleanup.policy", "compact"}}});
  }
  if (!plan.members.empty() && !described->at(plan.members)) {
    // Small records, one per instance: compacted often, so that a reader starts on few.
    missing.push_back({plan.members,
                       1,
                       -1,
                       {{"cleanup.policy", "compact"},
                        {"segment.ms", "3600000"},
                        {"min.cleanable.dirty.ratio", "0.1"}}});
  }
  if (missing.empty()) return input->partitions;
  if (!plan.create) {
    std::string list;
    for (const auto& t : missing) list += (list.empty() ? "" : ", ") + t.name;
    return Error{"topic_missing", "missing topics: " + list +
                                      " (kafka.create_topics is false: create them, the "
                                      "changelog with cleanup.policy=compact and " +
                                      std::to_string(input->partitions) + " partitions)"};
  }
  if (Status created = streams::CreateTopics(settings, missing, timeout); !created.ok()) {
    return Error{"kafka_unreachable", "cannot create topics: " + created.error().message};
  }
  return input->partitions;
}

// Reads to the partition's committed end; for a restore (Until::kSettled), while an open
// transaction holds it back (an instance that died committing to this partition, until the broker
// resolves it: at most the transaction timeout), waits and reads on, so that the state is never
// older than the offsets committed with it.
Result<int64_t> KafkaChangelogReader::Read(int32_t partition, int64_t from, const Visit& visit,
                                           const std::function<bool()>& cancelled, Until until) {
  static_assert(kBeginning == streams::kOffsetBeginning);
  streams::KafkaSettings uncommitted = settings_;
  uncommitted.properties.emplace_back("isolation.level", "read_uncommitted");
  const auto deadline = std::chrono::steady_clock::now() + kOpenTransactionWait;
  while (true) {
    auto reached = streams::ReadPartition(
        settings_, topic_, partition, from,
        [&visit](const streams::KafkaMessage& m) {
          visit(m.key, m.null_value ? std::nullopt : std::optional<std::string_view>(m.value));
        },
        cancelled, std::chrono::milliseconds(30min));
    if (!reached.ok()) return reached.error();
    if (until == Until::kCommittedEnd) return *reached;
    auto ends = streams::EndOffsets(uncommitted, topic_, 10s);
    if (!ends.ok()) return ends.error();
    auto end = ends->find(partition);
    if (end == ends->end() || *reached >= end->second) return *reached;
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{"changelog_open_transaction",
                   topic_ + "[" + std::to_string(partition) + "] has had an open transaction for " +
                       "more than a minute: is another instance with this partition still alive?"};
    }
    if (cancelled && cancelled()) return Error{"cancelled", "restore cancelled"};
    std::this_thread::sleep_for(500ms);
    from = *reached;
  }
}

}  // namespace ontime::daemon
