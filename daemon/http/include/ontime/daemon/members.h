#pragma once
// Several instances in one consumer group: who owns which input partition, and where a request
// for a dossier goes. Each instance publishes a MemberRecord (its HTTP address and the partitions
// it owns) to the compacted `<group_id>.members` topic, keyed by its instance id, whenever its
// assignment changes; every instance tails that topic into a MemberDirectory. A dossier's
// partition is its id's, as the input's producer partitions (streams::PartitionForKey), and
// PlaceDossier says whether it is answered here, forwarded to its owner, or cannot be answered
// now. Pure: the Kafka side is the wiring's (daemon.cc), so all of this is tested in-process.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/base/time.h"
#include "ontime/streams/partitioner.h"

namespace ontime::daemon {

// The value of an instance's record, JSON:
//   {"instance":"ontime-2","http":"10.0.0.12:9464","partitions":[0,3],"input_partitions":6,
//    "published_at":1764626400000}
// `partitions` are the input partitions the instance owns (restored or restoring), sorted; an
// empty list says it owns none (it stopped, or lost them). `published_at` is informational (ms
// since the epoch, the publisher's clock): the topic's order decides which claim is newer.
struct MemberRecord {
  std::string instance;
  std::string http;  // "host:port", as the other instances reach it
  std::vector<int32_t> partitions;
  int32_t input_partitions = 0;
  int64_t published_at_ms = 0;
};

std::string EncodeMember(const MemberRecord& record);
// Errors: "member_record" (not JSON, a field missing or of the wrong type, the key and the
// record's instance differing, a partition out of range).
Result<MemberRecord> DecodeMember(std::string_view key, std::string_view value);

struct PartitionOwner {
  std::string instance;
  std::string http;
};

class MemberDirectory {
 public:
  // The record at `offset` of the members topic for `instance` (nullopt: its tombstone, or a
  // record that did not decode). Records are applied in offset order; a later one replaces the
  // instance's earlier one.
  void Apply(int64_t offset, const std::string& instance, std::optional<MemberRecord> record);
  // The instance whose latest record claims `partition`; when two do (the old owner's record not
  // yet superseded, e.g. killed before it could say so), the later record wins.
  std::optional<PartitionOwner> OwnerOf(int32_t partition) const;
  // Every instance with a record, by instance id.
  const std::map<std::string, MemberRecord, std::less<>>& members() const { return members_; }

 private:
  std::map<std::string, MemberRecord, std::less<>> members_;
  std::map<std::string, int64_t, std::less<>> offsets_;
};

// Standby replicas (`state.standby_replicas`): the partitions `self` keeps a warm local
// checkpoint of, so that it restores them from the checkpoint and a short tail if they come to
// it. A partition's holders are the `replicas` instances after its owner in the order of their
// ids, round the ring, among those whose record was published within `alive_ms` of `now_ms`
// (`self` always counts); a partition with no owner has none, nor does one `self` owns. Every
// instance that knows the same records gives the same answer: no coordination.
std::set<int32_t> StandbyPartitions(const MemberDirectory& directory, std::string_view self,
                                    int32_t input_partitions, int replicas, int64_t now_ms,
                                    int64_t alive_ms);

// Where a dossier is answered.
struct Placement {
  enum class Kind {
    kHere,           // this instance owns its partition and has restored it
    kRestoringHere,  // this instance owns it and is still restoring it: 503
    kElsewhere,      // `owner` owns it: forward
    kNoOwner,        // no instance claims it (a rebalance under way, its owner stopped): 503
    kNotKnownYet,    // the input's partition count is not known yet (start-up): 503
  };
  Kind kind = Kind::kNotKnownYet;
  int32_t partition = -1;
  PartitionOwner owner;  // kElsewhere only
};

struct LocalPartitions {
  std::string instance;
  int32_t input_partitions = 0;  // 0: not known yet
  streams::Partitioner partitioner = streams::Partitioner::kConsistentRandom;
  std::set<int32_t> assigned;
  std::set<int32_t> restoring;
};

// What this instance knows decides first: a partition it owns is answered here (or is
// restoring here), whatever the directory says; one it does not own goes to the directory's
// owner unless that is this instance itself (its own record is older than its assignment).
Placement PlaceDossier(std::string_view dossier_id, const LocalPartitions& local,
                       const MemberDirectory& directory);

}  // namespace ontime::daemon
