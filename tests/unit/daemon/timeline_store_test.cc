#include "ontime/daemon/timeline_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fakes/small_rules.h"
#include "ontime/daemon/pages.h"
#include "ontime/streams/json_writer.h"

namespace ontime::daemon {
namespace {

using testing::At;
using testing::Compile;
using testing::SmallRules;

// The engine with the timeline as its listener, and events handed to both as the live path does
// (Apply, then OnEvent with the status).
class TimelineTest : public ::testing::Test {
 protected:
  TimelineTest() : rules_(Compile(SmallRules())), timeline_(32), engine_(rules_, &timeline_) {}

  void Apply(rules::EventType type, const std::string& at, std::string_view department = {},
             std::string_view reason = {}, std::string_view procedure = {}) {
    ids_.push_back(std::make_unique<std::string>("e" + std::to_string(ids_.size())));
    rules::Event e;
    e.event_id = *ids_.back();
    e.dossier_id = "D1";
    e.type = type;
    e.occurred_at = At(at);
    e.department = department;
    e.reason = reason;
    e.procedure = procedure;
    const rules::ApplyStatus status = engine_.Apply(e);
    timeline_.OnEvent(e, status);
  }

  // "type@local-time department reason #n" per entry.
  std::vector<std::string> Story() {
    std::vector<std::string> lines;
    for (const TimelineEntry& t : timeline_.Get("D1")) {
      std::string line = std::string(t.type) + "@" + FormatRfc3339(t.at, std::chrono::hours(7));
      if (!t.department.empty()) line += " " + std::string(t.department);
      if (!t.reason.empty()) line += " \"" + std::string(t.reason) + "\"";
      if (t.number != 0) line += " #" + std::to_string(t.number);
      lines.push_back(line);
    }
    return lines;
  }

  std::shared_ptr<const rules::CompiledRules> rules_;
  TimelineStore timeline_;
  rules::Engine engine_;
  std::vector<std::unique_ptr<std::string>> ids_;
};

TEST_F(TimelineTest, AcceptTransferSupplementResumeBreachAndLetter) {
  // P4H: 4 working hours, at risk with 1 hour left, held by UBND.
  Apply(rules::EventType::kAccepted, "2026-03-02T08:00:00", "UBND", {}, "P4H");
  Apply(rules::EventType::kTransferred, "2026-03-02T09:00:00", "SXD");
  Apply(rules::EventType::kSupplementRequested, "2026-03-02T10:00:00", {}, "thiếu bản vẽ");
  Apply(rules::EventType::kSupplementReceived, "2026-03-03T08:00:00");
  // Two working hours were left at the pause: due 10:00, at risk from 09:00.
  Apply(rules::EventType::kAccepted, "2026-03-03T08:30:00", "UBND", {}, "P4H");  // refused
  engine_.AdvanceTo(At("2026-03-03T11:00:00"));
  EXPECT_EQ(Story(), (std::vector<std::string>{
                         "accepted@2026-03-02T08:00:00+07:00 UBND",
                         "transferred@2026-03-02T09:00:00+07:00 SXD",
                         "supplement_requested@2026-03-02T10:00:00+07:00 \"thiếu bản vẽ\"",
                         "supplement_received@2026-03-03T08:00:00+07:00",
                         "at_risk@2026-03-03T09:00:00+07:00 SXD #1",
                         "overdue@2026-03-03T10:00:00+07:00 SXD #1",
                         "apology_letter@2026-03-03T10:00:00+07:00 SXD #1",
                     }));
  // The second `accepted` was refused by the engine (already accepted): not in the story.

  std::string json;
  streams::JsonWriter w(json);
  WriteTimelineJson(w, "D1", timeline_.Get("D1"), rules_->calendar());
  EXPECT_NE(
      json.find(
          R"({"kind":"event","type":"supplement_requested","at":"2026-03-02T10:00:00+07:00","reason":"thiếu bản vẽ"})"),
      std::string::npos)
      << json;
  EXPECT_NE(
      json.find(
          R"({"kind":"letter","type":"apology_letter","at":"2026-03-03T10:00:00+07:00","department":"SXD","cycle":1,"letter_id":"D1:apology:1"})"),
      std::string::npos)
      << json;
  EXPECT_EQ(timeline_.dossiers(), 1u);
  EXPECT_EQ(timeline_.entries(), 7u);
}

TEST_F(TimelineTest, BoundedPerDossierKeepingTheAcceptance) {
  TimelineStore small(3);
  small.RecordEvent("D2", rules::EventType::kAccepted, At("2026-03-02T08:00:00"), "SXD", {});
  for (int hour = 9; hour <= 12; ++hour) {
    small.RecordEvent(
        "D2", rules::EventType::kRated,
        At("2026-03-02T" + std::string(hour < 10 ? "0" : "") + std::to_string(hour) + ":00:00"), {},
        {});
  }
  const std::vector<TimelineEntry> kept = small.Get("D2");
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].type, "accepted");
  EXPECT_EQ(kept[1].at, At("2026-03-02T11:00:00"));
  EXPECT_EQ(kept[2].at, At("2026-03-02T12:00:00"));
  EXPECT_EQ(small.entries(), 3u);

  small.Forget("D2");
  EXPECT_TRUE(small.Get("D2").empty());
  EXPECT_EQ(small.entries(), 0u);
  EXPECT_EQ(small.dossiers(), 0u);
}

rules::Alert Predicted(std::string_view dossier, int cycle, const std::string& at, double p,
                       const std::string& close) {
  rules::Alert a;
  a.kind = rules::AlertKind::kPredictedLate;
  a.dossier_id = dossier;
  a.department = "UBND";
  a.cycle = cycle;
  a.detected_at = At(at);
  a.probability = p;
  a.expected_close_at = At(close);
  return a;
}

TEST_F(TimelineTest, PredictedLateOddsKeptBesideTheEntryOneACycle) {
  TimelineStore store(32);
  store.RecordEvent("D3", rules::EventType::kAccepted, At("2026-03-02T08:00:00"), "UBND", {});
  EXPECT_FALSE(store.LatestPrediction("D3").has_value());
  store.RecordAlert(Predicted("D3", 1, "2026-03-02T09:00:00", 0.75, "2026-03-03T10:00:00"));
  store.RecordAlert(Predicted("D3", 2, "2026-03-04T09:00:00", 0.9, "2026-03-05T11:00:00"));
  std::optional<PredictedLate> latest = store.LatestPrediction("D3");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->cycle, 2);
  EXPECT_EQ(latest->probability, 0.9);
  EXPECT_EQ(latest->expected_close_at, At("2026-03-05T11:00:00"));

  // Each predicted_late entry carries its own cycle's odds.
  const std::vector<TimelineEntry> story = store.Get("D3");
  ASSERT_EQ(story.size(), 3u);
  EXPECT_FALSE(story[0].probability.has_value());
  EXPECT_EQ(story[1].type, "predicted_late");
  EXPECT_EQ(story[1].probability, 0.75);
  EXPECT_EQ(story[1].expected_close_at, At("2026-03-03T10:00:00"));
  EXPECT_EQ(story[2].probability, 0.9);
  std::string json;
  streams::JsonWriter w(json);
  WriteTimelineJson(w, "D3", story, rules_->calendar());
  EXPECT_NE(json.find(R"("cycle":1,"alert_id":"D3:predicted_late:1","probability":0.75,)"
                      R"("expected_close_at":"2026-03-03T10:00:00+07:00"})"),
            std::string::npos)
      << json;

  // The same cycle's alert derived again replaces its odds; other alerts carry none.
  store.RecordAlert(Predicted("D3", 2, "2026-03-04T09:00:00", 0.8, "2026-03-05T10:00:00"));
  EXPECT_EQ(store.LatestPrediction("D3")->probability, 0.8);
  EXPECT_EQ(store.predictions(), 1u);
  rules::Alert overdue = Predicted("D3", 2, "2026-03-05T09:00:00", 0, "2026-03-05T09:00:00");
  overdue.kind = rules::AlertKind::kOverdue;
  store.RecordAlert(overdue);
  EXPECT_FALSE(store.Get("D3").back().probability.has_value());

  store.Forget("D3");
  EXPECT_FALSE(store.LatestPrediction("D3").has_value());
  EXPECT_EQ(store.predictions(), 0u);

  // No timeline kept (limit 0): no odds either.
  TimelineStore none(0);
  none.RecordAlert(Predicted("D3", 1, "2026-03-02T09:00:00", 0.75, "2026-03-03T10:00:00"));
  EXPECT_FALSE(none.LatestPrediction("D3").has_value());
}

TEST_F(TimelineTest, InvalidDuplicateAndOrphanEventsAreNotPartOfTheStory) {
  rules::Event orphan;
  orphan.event_id = "x";
  orphan.dossier_id = "NOBODY";
  orphan.type = rules::EventType::kResolved;
  orphan.occurred_at = At("2026-03-02T08:00:00");
  timeline_.OnEvent(orphan, rules::ApplyStatus::kOrphan);
  timeline_.OnEvent(orphan, rules::ApplyStatus::kDuplicate);
  timeline_.OnEvent(orphan, rules::ApplyStatus::kUnknownProcedure);
  EXPECT_TRUE(timeline_.Get("NOBODY").empty());
  timeline_.OnEvent(orphan, rules::ApplyStatus::kAfterClose);  // a late `returned`, say
  EXPECT_EQ(timeline_.Get("NOBODY").size(), 1u);
}

}  // namespace
}  // namespace ontime::daemon
