// Several instances: the members record each publishes, the directory every instance keeps of
// them, and where a request for a dossier goes.
#include "ontime/daemon/members.h"

#include <gtest/gtest.h>

#include <tuple>

namespace ontime::daemon {
namespace {

using Kind = Placement::Kind;

MemberRecord Record(std::string instance, std::string http, std::vector<int32_t> partitions) {
  MemberRecord r;
  r.instance = std::move(instance);
  r.http = std::move(http);
  r.partitions = std::move(partitions);
  r.input_partitions = 4;
  r.published_at_ms = 1764626400000;
  return r;
}

TEST(MemberRecordTest, EncodesAsJsonAndDecodesBack) {
  const std::string json = EncodeMember(Record("ontime-2", "10.0.0.12:9464", {0, 3}));
  EXPECT_EQ(json, R"({"instance":"ontime-2","http":"10.0.0.12:9464","partitions":[0,3],)"
                  R"("input_partitions":4,"published_at":1764626400000})");
  Result<MemberRecord> back = DecodeMember("ontime-2", json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->instance, "ontime-2");
  EXPECT_EQ(back->http, "10.0.0.12:9464");
  EXPECT_EQ(back->partitions, (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(back->input_partitions, 4);
  EXPECT_EQ(back->published_at_ms, 1764626400000);
}

TEST(MemberRecordTest, AnInstanceOwningNothingSaysSo) {
  Result<MemberRecord> back = DecodeMember("a", EncodeMember(Record("a", "h:1", {})));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->partitions.empty());
}

TEST(MemberRecordTest, WhatDoesNotDecodeIsAnErrorNamingTheRecord) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"a", "not json"},
           {"a", "[1,2]"},
           {"a", R"({"http":"h:1","partitions":[],"input_partitions":4})"},
           {"b", EncodeMember(Record("a", "h:1", {1}))},  // the key is not its instance
           {"a", R"({"instance":"a","http":"h:1","partitions":[4],"input_partitions":4})"},
           {"a", R"({"instance":"a","http":"h:1","partitions":["1"],"input_partitions":4})"},
           {"a", R"({"instance":"a","http":"","partitions":[],"input_partitions":4})"},
           {"a", R"({"instance":"a","http":"h:1","partitions":[]})"},
       }) {
    Result<MemberRecord> decoded = DecodeMember(key, value);
    ASSERT_FALSE(decoded.ok()) << value;
    EXPECT_EQ(decoded.error().code, "member_record");
    EXPECT_NE(decoded.error().message.find("\"" + key + "\""), std::string::npos)
        << decoded.error().message;
  }
}

// Each partition's standby holders are the next instances after its owner, by id, round the
// ring of the live ones; a dead owner's partitions stay with its successors.
TEST(StandbyPartitionsTest, TheNextInstancesAfterTheOwnerHoldItsPartitions) {
  const int64_t now = 1764626400000 + 10000;
  MemberDirectory directory;
  directory.Apply(0, "a", Record("a", "a:1", {0, 1}));
  directory.Apply(1, "b", Record("b", "b:1", {2}));
  directory.Apply(2, "c", Record("c", "c:1", {3}));
  EXPECT_EQ(StandbyPartitions(directory, "a", 4, 1, now, 90000), (std::set<int32_t>{3}));
  EXPECT_EQ(StandbyPartitions(directory, "b", 4, 1, now, 90000), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(StandbyPartitions(directory, "c", 4, 1, now, 90000), (std::set<int32_t>{2}));
  EXPECT_EQ(StandbyPartitions(directory, "c", 4, 2, now, 90000), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(StandbyPartitions(directory, "a", 4, 5, now, 90000), (std::set<int32_t>{2, 3}))
      << "more replicas than instances: every partition it does not own";
  EXPECT_TRUE(StandbyPartitions(directory, "a", 4, 0, now, 90000).empty());

  // b's record is old (b is dead, its claim not yet taken over): b keeps its place in the ring
  // for its own partition, and its successor c takes its share of a's.
  for (auto [offset, instance, partitions] : {std::tuple{3, "a", std::vector<int32_t>{0, 1}},
                                              std::tuple{4, "c", std::vector<int32_t>{3}}}) {
    MemberRecord fresh = Record(instance, "x:1", partitions);
    fresh.published_at_ms = now + 190000;
    directory.Apply(offset, instance, fresh);
  }
  EXPECT_EQ(StandbyPartitions(directory, "c", 4, 1, now + 200000, 90000),
            (std::set<int32_t>{0, 1, 2}));
  // A partition nobody claims has no holders.
  directory.Apply(5, "c", Record("c", "c:1", {}));
  EXPECT_EQ(StandbyPartitions(directory, "a", 4, 1, now, 90000), (std::set<int32_t>{}));
}

TEST(MemberDirectoryTest, TheLaterClaimOfAPartitionWins) {
  MemberDirectory directory;
  directory.Apply(0, "a", Record("a", "a:1", {0, 1, 2, 3}));
  EXPECT_EQ(directory.OwnerOf(2)->instance, "a");
  // b joins and claims 2 and 3 before a says it gave them away (or a was killed).
  directory.Apply(1, "b", Record("b", "b:1", {2, 3}));
  EXPECT_EQ(directory.OwnerOf(1)->instance, "a");
  EXPECT_EQ(directory.OwnerOf(2)->instance, "b");
  EXPECT_EQ(directory.OwnerOf(3)->http, "b:1");
  // a says so; then b leaves (owns nothing) and a takes everything back.
  directory.Apply(2, "a", Record("a", "a:1", {0, 1}));
  directory.Apply(3, "b", Record("b", "b:1", {}));
  EXPECT_EQ(directory.OwnerOf(3), std::nullopt);
  directory.Apply(4, "a", Record("a", "a:2", {0, 1, 2, 3}));
  EXPECT_EQ(directory.OwnerOf(3)->instance, "a");
  EXPECT_EQ(directory.OwnerOf(3)->http, "a:2");  // restarted on another port
  EXPECT_EQ(directory.members().size(), 2u);
  directory.Apply(5, "b", std::nullopt);  // its tombstone
  EXPECT_EQ(directory.members().size(), 1u);
}

class PlaceDossierTest : public ::testing::Test {
 protected:
  PlaceDossierTest() {
    local_.instance = "a";
    local_.input_partitions = 4;
    local_.assigned = {0, 1};
  }
  // A dossier id of each partition (librdkafka's default partitioner).
  std::string IdIn(int32_t partition) const {
    for (int i = 0;; ++i) {
      std::string id = "D" + std::to_string(i);
      if (streams::PartitionForKey(id, 4, local_.partitioner) == partition) return id;
    }
  }
  LocalPartitions local_;
  MemberDirectory directory_;
};

TEST_F(PlaceDossierTest, AnsweredHereWhenItsPartitionIsOwnedHere) {
  const Placement place = PlaceDossier(IdIn(1), local_, directory_);
  EXPECT_EQ(place.kind, Kind::kHere);
  EXPECT_EQ(place.partition, 1);
  local_.restoring = {1};
  EXPECT_EQ(PlaceDossier(IdIn(1), local_, directory_).kind, Kind::kRestoringHere);
}

TEST_F(PlaceDossierTest, ForwardedToTheOwnerTheDirectoryNames) {
  directory_.Apply(0, "b", Record("b", "10.0.0.2:9464", {2, 3}));
  const Placement place = PlaceDossier(IdIn(3), local_, directory_);
  EXPECT_EQ(place.kind, Kind::kElsewhere);
  EXPECT_EQ(place.partition, 3);
  EXPECT_EQ(place.owner.instance, "b");
  EXPECT_EQ(place.owner.http, "10.0.0.2:9464");
}

TEST_F(PlaceDossierTest, WhatThisInstanceKnowsOfItselfWinsOverItsOwnOldRecord) {
  // a's record still claims 2 (published before it gave 2 away); no one else does yet.
  directory_.Apply(0, "a", Record("a", "a:1", {0, 1, 2}));
  EXPECT_EQ(PlaceDossier(IdIn(2), local_, directory_).kind, Kind::kNoOwner);
  // And its directory lagging behind an assignment does not send its own dossiers away.
  directory_.Apply(1, "b", Record("b", "b:1", {0, 1, 2, 3}));
  EXPECT_EQ(PlaceDossier(IdIn(0), local_, directory_).kind, Kind::kHere);
}

TEST_F(PlaceDossierTest, NoOwnerOrNoPartitionCountYet) {
  EXPECT_EQ(PlaceDossier(IdIn(2), local_, directory_).kind, Kind::kNoOwner);
  EXPECT_EQ(PlaceDossier(IdIn(2), local_, directory_).partition, 2);
  local_.input_partitions = 0;
  EXPECT_EQ(PlaceDossier("D1", local_, directory_).kind, Kind::kNotKnownYet);
}

}  // namespace
}  // namespace ontime::daemon
