// The engine's state as the live daemon keeps it on Kafka: per-dossier change records (the
// changelog), restored into a fresh engine, dropped by partition, and closed dossiers leaving
// after the retention, with duplicate detection per dossier.

#include <map>
#include <random>
#include <sstream>

#include "fakes/engine_harness.h"
#include "ontime/base/crc32c.h"

namespace ontime::testing {
namespace {

using namespace std::chrono_literals;

struct Change {
  int32_t partition;
  std::string id;
  std::string record;  // empty: the dossier left
};

class PartitionedState : public EngineHarness {
 protected:
  PartitionedState() { engine_->TrackChanges(true); }

  std::vector<Change> Drain(rules::Engine& engine) {
    std::vector<Change> changes;
    engine.DrainChanges([&](const rules::Engine::DossierChange& c) {
      changes.push_back({c.partition, std::string(c.dossier_id), std::string(c.record)});
    });
    return changes;
  }
  std::vector<Change> Drain() { return Drain(*engine_); }

  // A fresh engine of the same rules with `records` restored, reporting to `recorder`.
  std::unique_ptr<rules::Engine> Restored(const std::vector<Change>& records,
                                          rules::EngineListener* recorder) {
    auto engine = std::make_unique<rules::Engine>(rules_, recorder);
    for (const Change& c : records) {
      if (c.record.empty()) {
        engine->ForgetDossier(c.id);
      } else {
        Status restored = engine->RestoreDossier(c.partition, c.record);
        EXPECT_TRUE(restored.ok()) << restored.error().message;
      }
    }
    return engine;
  }

  // Up to 3,000 dossiers accepted Monday 09:00 on partitions 0-2 at random: id -> partition.
  std::map<std::string, int32_t> AcceptedOnThreePartitions(uint32_t seed) {
    std::mt19937 random(seed);
    std::map<std::string, int32_t> model;
    for (int n = 0; n < 3000; ++n) {
      const std::string id = "M" + std::to_string(random() % 100000);
      const int32_t partition = static_cast<int32_t>(random() % 3);
      if (model.count(id)) continue;
      Send(id, "accepted", "Mon 09:00",
           {{"procedure", "P2D"}, {"partition", std::to_string(partition)}});
      model[id] = partition;
    }
    return model;
  }

  static std::string Resealed(std::string record) {
    const size_t crc_at = record.size() - 4;
    const uint32_t crc = Crc32c::Of(std::string_view(record).substr(0, crc_at));
    for (int i = 0; i < 4; ++i) record[crc_at + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    return record;
  }
};

TEST_F(PartitionedState, EachChangedDossierIsDrainedOnceWithItsPartition) {
  Send("D1", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"partition", "3"}});
  Send("D2", "accepted", "Mon 09:10", {{"procedure", "P4H"}, {"partition", "1"}});
  Send("D1", "transferred", "Mon 10:00", {{"department", "UBND"}, {"partition", "3"}});
  EXPECT_EQ(engine_->changes_pending(), 2u);
  auto changes = Drain();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].id, "D1");
  EXPECT_EQ(changes[0].partition, 3);
  EXPECT_EQ(changes[1].id, "D2");
  EXPECT_EQ(changes[1].partition, 1);
  EXPECT_FALSE(changes[0].record.empty());
  EXPECT_TRUE(Drain().empty()) << "drained once";
  AdvanceTo("Mon 14:00");  // D2's at-risk alert (20% of 4h, at 13:52) fires: D2 changed
  changes = Drain();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].id, "D2");
}

TEST_F(PartitionedState, ARestoredDossierIsTheSameDossierAndItsTimersFireAsBefore) {
  Send("D1", "accepted", "Mon 09:00",
       {{"procedure", "P2D"}, {"applicant", "Nguyễn Văn A"}, {"event_id", "a-1"}});
  Send("D1", "supplement_requested", "Mon 10:00", {{"event_id", "a-2"}});
  Send("D1", "supplement_received", "Tue 09:00", {{"event_id", "a-3"}});
  Send("D1", "transferred", "Tue 10:00", {{"department", "UBND"}, {"event_id", "a-4"}});
  const auto records = Drain();
  Recorder restored_recorder;
  auto restored = Restored(records, &restored_recorder);
  ASSERT_EQ(restored->dossiers_tracked(), 1u);

  const auto before = View("D1", "Tue 11:00");
  const auto after = restored->Find("D1", LocalTime("Tue 11:00"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->due_at, before.due_at);
  EXPECT_EQ(after->original_due_at, before.original_due_at);
  EXPECT_EQ(after->department, "UBND");
  EXPECT_EQ(after->supplements, 1);
  EXPECT_EQ(after->step, 2);
  EXPECT_EQ(after->working_time, before.working_time);
  ASSERT_TRUE(after->applicant.has_value());
  EXPECT_EQ(after->applicant->name, "Nguyễn Văn A");

  // Both engines run on to the same instant: the same alerts and letter, at the same instants.
  AdvanceTo("2026-03-12 09:00");
  restored->AdvanceTo(LocalTime("2026-03-12 09:00"));
  EXPECT_FALSE(recorder_.emitted.empty());
  EXPECT_EQ(restored_recorder.emitted, recorder_.emitted);

  // The event ids it had seen came along: a redelivery is a duplicate there too.
  rules::Event again;
  again.event_id = "a-4";
  again.dossier_id = "D1";
  again.type = rules::EventType::kTransferred;
  again.department = "SXD";
  again.occurred_at = LocalTime("2026-03-12 09:00");
  EXPECT_EQ(restored->Apply(again), rules::ApplyStatus::kDuplicate);
}

TEST_F(PartitionedState, EveryFlippedByteAndEveryCutOfARecordIsAnError) {
  Accept("D2", "Mon 09:00", "PFEE");
  Send("D2", "supplement_requested", "Mon 10:00");
  const std::string record = Drain().at(0).record;
  rules::Engine fresh(rules_, nullptr);
  for (size_t at = 0; at < record.size(); ++at) {
    std::string flipped = record;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x20);
    EXPECT_FALSE(fresh.RestoreDossier(0, flipped).ok()) << "byte " << at;
  }
  for (size_t size = 0; size < record.size(); ++size) {
    EXPECT_FALSE(fresh.RestoreDossier(0, record.substr(0, size)).ok()) << "cut at " << size;
  }
  EXPECT_EQ(fresh.dossiers_tracked(), 0u) << "nothing half-restored";
  EXPECT_TRUE(fresh.RestoreDossier(0, record).ok());
}

TEST_F(PartitionedState, AFieldOutOfRangeIsRefusedEvenWithAGoodChecksum) {
  Accept("D4", "Mon 09:00", "PFEE");
  const std::string record = Drain().at(0).record;
  rules::Engine fresh(rules_, nullptr);
  ASSERT_TRUE(fresh.RestoreDossier(0, Resealed(record)).ok());
  // format, id, no applicant, procedure "PFEE", department "SXD", 8 instants, 4 durations,
  // 5 counters: then the state byte.
  const size_t state_at = 1 + (4 + 2) + 1 + (4 + 4) + (4 + 3) + 8 * 8 + 4 * 8 + 5 * 2;
  std::string bad = record;
  bad[state_at] = 9;
  Status restored = fresh.RestoreDossier(0, Resealed(bad));
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message.find("D4"), std::string::npos) << restored.error().message;
  std::string unknown = record;
  unknown.replace(1 + 6 + 1 + 4, 4, "PXXX");  // a procedure this configuration lacks
  restored = fresh.RestoreDossier(0, Resealed(unknown));
  ASSERT_FALSE(restored.ok());
  EXPECT_NE(restored.error().message.find("PXXX"), std::string::npos) << restored.error().message;
}

TEST_F(PartitionedState, AClosedDossierLeavesAfterTheRetentionWithATombstone) {
  engine_->set_retention(std::chrono::duration_cast<Duration>(24h * 30));
  Accept("D1", "Mon 09:00");
  Send("D1", "resolved", "Mon 10:00", {{"event_id", "r-1"}});
  Accept("D2", "Mon 09:30");
  Drain();
  AdvanceTo("2026-04-01 10:00");  // 30 days after the close: not yet
  EXPECT_EQ(engine_->dossiers_tracked(), 2u);
  AdvanceTo("2026-04-01 10:01");
  EXPECT_EQ(engine_->dossiers_tracked(), 1u);
  EXPECT_FALSE(engine_->Find("D1", LocalTime("2026-04-01 10:01")).has_value());
  auto changes = Drain();
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes[0].id, "D1");
  EXPECT_TRUE(changes[0].record.empty()) << "a tombstone";
  // The partition has moved on: the close redelivered is after the retention; a recent event of a
  // dossier never seen is an orphan as ever.
  EXPECT_EQ(Send("D2", "transferred", "2026-04-01 11:00", {{"department", "UBND"}}),
            rules::ApplyStatus::kApplied);
  EXPECT_EQ(Send("D1", "resolved", "Mon 10:00", {{"event_id", "r-1"}}),
            rules::ApplyStatus::kAfterRetention);
  EXPECT_EQ(Send("D1", "accepted", "Mon 09:00", {{"procedure", "P2D"}}),
            rules::ApplyStatus::kAfterRetention);
  EXPECT_EQ(Send("D9", "rated", "2026-04-01 11:00"), rules::ApplyStatus::kOrphan);
}

TEST_F(PartitionedState, WithoutRetentionClosedDossiersStay) {
  Accept("D1", "Mon 09:00");
  Send("D1", "resolved", "Mon 10:00");
  AdvanceTo("2027-03-01 10:00");
  EXPECT_EQ(engine_->dossiers_tracked(), 1u);
  EXPECT_EQ(engine_->timers_pending(), 0u);
}

TEST_F(PartitionedState, AYearOfTrafficLevelsOffInsteadOfGrowing) {
  engine_->set_retention(std::chrono::duration_cast<Duration>(24h * 30));
  std::vector<size_t> tracked_by_month;
  Instant day = LocalTime("Mon 08:00");
  int n = 0;
  for (int d = 0; d < 365; ++d, day += 24h) {
    for (int k = 0; k < 20; ++k) {
      const std::string id = "Y" + std::to_string(++n);
      rules::Event e;
      storage_.push_back(id);
      e.dossier_id = storage_.back();
      storage_.push_back("a" + id);
      e.event_id = storage_.back();
      e.type = rules::EventType::kAccepted;
      e.procedure = "P4H";
      e.occurred_at = day + std::chrono::minutes(k);
      ASSERT_EQ(engine_->Apply(e), rules::ApplyStatus::kApplied);
      storage_.push_back("r" + id);
      e.event_id = storage_.back();
      e.type = rules::EventType::kResolved;
      e.occurred_at = day + std::chrono::minutes(60 + k);
      ASSERT_EQ(engine_->Apply(e), rules::ApplyStatus::kApplied);
    }
    if (d % 30 == 29) tracked_by_month.push_back(engine_->dossiers_tracked());
    Drain();
  }
  ASSERT_EQ(tracked_by_month.size(), 12u);
  // 20 a day, kept 30 days after their close: about 620 at any time, month after month.
  for (size_t m = 1; m < tracked_by_month.size(); ++m) {
    EXPECT_LE(tracked_by_month[m], 20u * 32) << "month " << m;
    EXPECT_GE(tracked_by_month[m], 20u * 29) << "month " << m;
  }
  EXPECT_EQ(engine_->timers_pending(), engine_->dossiers_tracked()) << "one retire timer each";
}

TEST_F(PartitionedState, DroppingAPartitionForgetsOnlyItsDossiers) {
  const std::map<std::string, int32_t> model = AcceptedOnThreePartitions(7);
  const size_t on_one = engine_->dossiers_in(1);
  EXPECT_EQ(engine_->DropPartition(1), on_one);
  const Instant now = LocalTime("Mon 10:00");
  size_t open = 0;
  for (const auto& [id, partition] : model) {
    EXPECT_EQ(engine_->Find(id, now).has_value(), partition != 1) << id;
    open += partition != 1;
  }
  EXPECT_EQ(engine_->dossiers_tracked(), open);
  EXPECT_EQ(engine_->timers_pending(), open);
  int64_t gauge = 0;
  for (const auto& by_state : engine_->open_counts()) {
    for (int64_t c : by_state) gauge += c;
  }
  EXPECT_EQ(gauge, static_cast<int64_t>(open)) << "dossier_open counts only what is held";
  // Restored again (a partition coming back): the slots freed are reused, the ids found.
  Send("M-new", "accepted", "Mon 09:30", {{"procedure", "P2D"}, {"partition", "1"}});
  EXPECT_TRUE(engine_->Find("M-new", now).has_value());
}

// A partition given away during a rebalance: its dossiers vanish at once for every reader and
// timer, and are freed a budget at a time (no walk over millions of dossiers in one loop turn).
TEST_F(PartitionedState, AReleasedPartitionIsGoneAtOnceAndFreedOnABudget) {
  const std::map<std::string, int32_t> model = AcceptedOnThreePartitions(11);
  Drain();
  const size_t on_one = engine_->dossiers_in(1);
  const size_t others = model.size() - on_one;
  ASSERT_GT(on_one, 500u);
  engine_->ReleasePartition(1);
  EXPECT_TRUE(engine_->releasing());
  EXPECT_EQ(engine_->dossiers_in(1), on_one) << "nothing freed yet";
  const Instant now = LocalTime("Mon 10:00");
  for (const auto& [id, partition] : model) {
    EXPECT_EQ(engine_->Find(id, now).has_value(), partition != 1) << id;
  }
  size_t visited = 0;
  engine_->ForEachDossier(now, [&](const rules::DossierView& d) {
    ++visited;
    EXPECT_NE(model.at(std::string(d.dossier_id)), 1) << d.dossier_id;
  });
  EXPECT_EQ(visited, others);
  std::stringstream snapshot;
  engine_->Save(snapshot);
  rules::Engine saved(rules_, nullptr);
  ASSERT_TRUE(saved.Load(snapshot).ok());
  EXPECT_EQ(saved.dossiers_tracked(), others) << "a released dossier is not saved";

  EXPECT_FALSE(engine_->DropReleased(100)) << "a small budget frees a few";
  const size_t left = engine_->dossiers_in(1);
  EXPECT_LT(left, on_one);
  EXPECT_GE(left, on_one - 100);

  AdvanceTo("Thu 17:00");  // every due (Wed 09:00) passed
  size_t overdue = 0;
  for (const Emitted& e : TakeEmitted()) {  // ids "M123:overdue:1"
    const std::string dossier = e.id.substr(0, e.id.find(':'));
    EXPECT_NE(model.at(dossier), 1) << "a released dossier's timer fired: " << e.id;
    overdue += e.id == dossier + ":overdue:1";
  }
  EXPECT_EQ(overdue, others);
  for (const Change& c : Drain()) {
    EXPECT_NE(c.partition, 1) << "a released dossier's change was drained: " << c.id;
  }
  EXPECT_EQ(engine_->dossiers_in(1), 0u) << "their timers freed them as they fell due";
  EXPECT_TRUE(engine_->DropReleased(1));
  EXPECT_FALSE(engine_->releasing());
  EXPECT_EQ(engine_->dossiers_tracked(), others);
  int64_t gauge = 0;
  for (const auto& by_state : engine_->open_counts()) {
    for (int64_t c : by_state) gauge += c;
  }
  EXPECT_EQ(gauge, static_cast<int64_t>(others));
}

TEST_F(PartitionedState, AReleasedDossiersIdStartsAfreshAndADropEndsTheRelease) {
  Send("A", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"partition", "1"}});
  Send("B", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"partition", "1"}});
  Send("C", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"partition", "0"}});
  engine_->ReleasePartition(1);
  EXPECT_EQ(Send("A", "transferred", "Mon 10:00", {{"department", "UBND"}, {"partition", "2"}}),
            rules::ApplyStatus::kOrphan)
      << "its old state is gone";
  EXPECT_EQ(engine_->dossiers_in(1), 1u) << "A freed on the way";
  EXPECT_EQ(Send("A", "accepted", "Mon 10:00", {{"procedure", "P4H"}, {"partition", "2"}}),
            rules::ApplyStatus::kApplied);
  ASSERT_TRUE(engine_->Find("A", LocalTime("Mon 10:00")).has_value());
  EXPECT_EQ(engine_->dossiers_in(2), 1u);
  EXPECT_EQ(engine_->DropPartition(1), 1u) << "assigned again: the rest freed at once";
  EXPECT_FALSE(engine_->releasing());
  EXPECT_EQ(engine_->dossiers_tracked(), 2u);
}

TEST_F(PartitionedState, DuplicateDetectionIsPerDossier) {
  Send("D1", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"event_id", "same"}});
  Send("D2", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"event_id", "same"}});
  EXPECT_EQ(engine_->dossiers_tracked(), 2u) << "another dossier's event with the same id";
  for (int k = 0; k < 40; ++k) {
    EXPECT_EQ(Send("D1", "rated", "Mon 10:00", {{"event_id", "r" + std::to_string(k)}}),
              rules::ApplyStatus::kApplied);
  }
  for (int k = 0; k < 40; ++k) {
    EXPECT_EQ(Send("D1", "rated", "Mon 10:00", {{"event_id", "r" + std::to_string(k)}}),
              rules::ApplyStatus::kDuplicate);
  }
  EXPECT_EQ(Send("D1", "accepted", "Mon 09:00", {{"procedure", "P2D"}, {"event_id", "same"}}),
            rules::ApplyStatus::kDuplicate);
}

}  // namespace
}  // namespace ontime::testing
