#include "ontime/daemon/members.h"

#include <simdjson.h>

#include <algorithm>

#include "ontime/streams/json_writer.h"

namespace ontime::daemon {

std::string EncodeMember(const MemberRecord& record) {
  std::string out;
  streams::JsonWriter w(out);
  w.BeginObject().Field("instance", record.instance).Field("http", record.http);
  w.Key("partitions").BeginArray();
  for (int32_t p : record.partitions) w.Int(p);
  w.EndArray();
  w.Key("input_partitions").Int(record.input_partitions);
  w.Key("published_at").Int(record.published_at_ms);
  w.EndObject();
  return out;
}

Result<MemberRecord> DecodeMember(std::string_view key, std::string_view value) {
  auto fail = [&](const std::string& why) {
    return Error{"member_record", "members record \"" + std::string(key) + "\": " + why};
  };
  simdjson::dom::parser parser;
  simdjson::dom::element top;
  const simdjson::padded_string padded(value);
  if (auto error = parser.parse(padded).get(top); error != simdjson::SUCCESS) {
    return fail(std::string("not JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (top.get(object) != simdjson::SUCCESS) return fail("not a JSON object");
  MemberRecord record;
  std::string_view text;
  if (object["instance"].get(text) != simdjson::SUCCESS) return fail("no string \"instance\"");
  record.instance = std::string(text);
  if (record.instance != key) return fail("its instance is \"" + record.instance + "\"");
  if (object["http"].get(text) != simdjson::SUCCESS || text.empty()) {
    return fail("no string \"http\"");
  }
  record.http = std::string(text);
  int64_t count = 0;
  if (object["input_partitions"].get(count) != simdjson::SUCCESS || count < 0 ||
      count > (1 << 20)) {
    return fail("no count \"input_partitions\"");
  }
  record.input_partitions = static_cast<int32_t>(count);
  simdjson::dom::array partitions;
  if (object["partitions"].get(partitions) != simdjson::SUCCESS) {
    return fail("no array \"partitions\"");
  }
  for (simdjson::dom::element element : partitions) {
    int64_t p = 0;
    if (element.get(p) != simdjson::SUCCESS || p < 0 || p >= count) {
      return fail("a partition is not an integer from 0 to input_partitions - 1");
    }
    record.partitions.push_back(static_cast<int32_t>(p));
  }
  std::sort(record.partitions.begin(), record.partitions.end());
  int64_t at = 0;
  if (object["published_at"].get(at) == simdjson::SUCCESS) record.published_at_ms = at;
  return record;
}

void MemberDirectory::Apply(int64_t offset, const std::string& instance,
                            std::optional<MemberRecord> record) {
  if (!record) {
    members_.erase(instance);
    offsets_.erase(instance);
    return;
  }
  members_[instance] = std::move(*record);
  offsets_[instance] = offset;
}

std::optional<PartitionOwner> MemberDirectory::OwnerOf(int32_t partition) const {
  std::optional<PartitionOwner> owner;
  int64_t newest = -1;
  for (const auto& [instance, record] : members_) {
    if (!std::binary_search(record.partitions.begin(), record.partitions.end(), partition)) {
      continue;
    }
    const int64_t offset = offsets_.find(instance)->second;
    if (offset > newest) {
      newest = offset;
      owner = PartitionOwner{instance, record.http};
    }
  }
  return owner;
}

std::set<int32_t> StandbyPartitions(const MemberDirectory& directory, std::string_view self,
                                    int32_t input_partitions, int replicas, int64_t now_ms,
                                    int64_t alive_ms) {
  std::set<int32_t> standby;
  if (replicas <= 0) return standby;
  std::set<std::string, std::less<>> alive = {std::string(self)};
  for (const auto& [instance, record] : directory.members()) {
    if (now_ms - record.published_at_ms <= alive_ms) alive.insert(instance);
  }
  for (int32_t p = 0; p < input_partitions; ++p) {
    std::optional<PartitionOwner> owner = directory.OwnerOf(p);
    if (!owner || owner->instance == self) continue;
    std::set<std::string, std::less<>> ring = alive;
    ring.insert(owner->instance);  // a dead owner still has its place: its successors hold p
    auto it = ring.find(owner->instance);
    for (int n = 0; n < replicas && ring.size() > 1; ++n) {
      if (++it == ring.end()) it = ring.begin();
      if (*it == owner->instance) break;  // round the ring: fewer instances than replicas
      if (*it == self) {
        standby.insert(p);
        break;
      }
    }
  }
  return standby;
}

Placement PlaceDossier(std::string_view dossier_id, const LocalPartitions& local,
                       const MemberDirectory& directory) {
  Placement placement;
  std::optional<int32_t> partition =
      streams::PartitionForKey(dossier_id, local.input_partitions, local.partitioner);
  if (!partition) return placement;  // kNotKnownYet
  placement.partition = *partition;
  if (local.assigned.contains(*partition)) {
    placement.kind = local.restoring.contains(*partition) ? Placement::Kind::kRestoringHere
                                                          : Placement::Kind::kHere;
    return placement;
  }
  std::optional<PartitionOwner> owner = directory.OwnerOf(*partition);
  if (!owner || owner->instance == local.instance) {
    placement.kind = Placement::Kind::kNoOwner;
    return placement;
  }
  placement.kind = Placement::Kind::kElsewhere;
  placement.owner = std::move(*owner);
  return placement;
}

}  // namespace ontime::daemon
