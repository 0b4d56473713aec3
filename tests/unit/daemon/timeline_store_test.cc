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
