#include "ontime/daemon/members_topic.h"

#include <utility>

namespace ontime::daemon {

KafkaMembers::KafkaMembers(streams::KafkaSettings settings, std::string topic)
    : settings_(std::move(settings)), topic_(std::move(topic)) {
  settings_.transactional_id.clear();
}

KafkaMembers::~KafkaMembers() = default;

Status KafkaMembers::Publish(const std::string& key, const std::string& value,
                             std::chrono::milliseconds timeout) {
  if (!producer_) {
    auto made = streams::KafkaProducer::Create(settings_, [](const streams::Delivery&) {});
    if (!made.ok()) return made.error();
    producer_ = std::move(made.value());
  }
  if (Status s = producer_->Produce(topic_, key, value, 0, {}, 0); !s.ok()) return s;
  if (!producer_->Flush(timeout)) {
    return Error{"members_publish", "no acknowledgement from " + topic_ + " within " +
                                        std::to_string(timeout.count()) + " ms"};
  }
  return Ok{};
}

Result<std::vector<KafkaMembers::Record>> KafkaMembers::Poll(std::chrono::milliseconds wait) {
  if (!tail_) {
    auto opened = streams::PartitionTail::Open(settings_, topic_, 0);
    if (!opened.ok()) return opened.error();
    tail_ = std::move(opened.value());
  }
  std::vector<Record> records;
  tail_->Poll(wait, [&records](const streams::KafkaMessage& m) {
    Record r;
    r.offset = m.offset;
    r.key = std::string(m.key);
    if (!m.null_value) r.value = std::string(m.value);
    records.push_back(std::move(r));
  });
  return records;
}

}  // namespace ontime::daemon
