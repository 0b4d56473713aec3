#pragma once
// A consumer group member's identity (group, generation, member id) as a transactional producer
// needs it to commit input offsets inside its transaction: the broker then refuses the commit of a
// member that was fenced by a rebalance. Obtained from KafkaConsumer::GroupMetadata(); opaque and
// movable, owns its librdkafka handle.

#include <memory>
#include <string>

namespace ontime::streams {

class GroupMetadata {
 public:
  struct Impl;  // defined in streams/src/kafka_util.h

  // Only the group id, no generation: a commit with it is not fenced by rebalances. For tools and
  // tests; the daemon takes its consumer's.
  static GroupMetadata ForGroup(const std::string& group_id);

  explicit GroupMetadata(std::unique_ptr<Impl> impl);
  ~GroupMetadata();
  GroupMetadata(GroupMetadata&&) noexcept;
  GroupMetadata& operator=(GroupMetadata&&) noexcept;

  // False for a moved-from object or a consumer that had no group metadata.
  bool valid() const;
  const Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ontime::streams
