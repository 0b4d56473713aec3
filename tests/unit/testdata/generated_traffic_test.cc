// The generator's output is what the daemon eats: fed line by line through the decoder and the
// engine (streams::EventPipeline, as `ontimed replay` does), every line it meant to be valid is
// applied, every line it broke is rejected for the reason its breakage gives, and the engine
// measures the province the generator imitates.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "generator_fixtures.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/event_decoder.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/testdata/generate.h"

namespace ontime::testdata {
namespace {

using rules::ApplyStatus;
using rules::EventType;

// What the metrics would see: channels and reception times at acceptance, outcomes at close.
struct Tally final : rules::EngineListener {
  void OnAccepted(uint32_t, rules::Channel channel, std::optional<double> reception) override {
    ++accepted;
    online += channel == rules::Channel::kOnline;
    if (reception) {
      ++receptions;
      reception_seconds += *reception;
    }
  }
  void OnClosed(uint32_t, rules::Outcome outcome, double, double) override { ++closed[outcome]; }

  int accepted = 0;
  int online = 0;
  int receptions = 0;
  double reception_seconds = 0;
  std::map<rules::Outcome, int> closed;
};

// One generated stream and what the pipeline made of each of its lines.
struct Replay {
  std::vector<std::string> lines;
  std::vector<streams::ProcessedEvent> results;  // by line
  Tally tally;
  rules::Summary summary;

  int Count(ApplyStatus status) const {
    int n = 0;
    for (const auto& r : results) n += !r.invalid && r.status == status;
    return n;
  }
  int Invalid() const {
    int n = 0;
    for (const auto& r : results) n += r.invalid;
    return n;
  }
};

Replay GenerateAndReplay(const GenerateOptions& options) {
  Replay replay;
  std::ostringstream out;
  Result<size_t> written = GenerateEvents(TestRules(), options, out);
  EXPECT_TRUE(written.ok());
  replay.lines = Lines(out.str());
  EXPECT_EQ(written.ok() ? *written : 0, replay.lines.size());
  auto compiled = rules::CompiledRules::Compile(TestRules());
  EXPECT_TRUE(compiled.ok());
  rules::Engine engine(*compiled, &replay.tally);
  streams::EventPipeline pipeline(engine);
  for (const std::string& line : replay.lines) replay.results.push_back(pipeline.Process(line));
  if (engine.clock()) replay.summary = engine.Summarize(*engine.clock());
  return replay;
}

// What a line means, read from its unbroken form.
struct Meaning {
  std::string dossier_id;
  EventType type = EventType::kUnknown;
};

std::vector<Meaning> Meanings(const std::vector<std::string>& lines) {
  std::vector<Meaning> meanings;
  streams::EventDecoder decoder;
  for (const std::string& line : lines) {
    auto event = decoder.Decode(line);
    EXPECT_TRUE(event.ok()) << line;
    meanings.push_back(event.ok() ? Meaning{std::string(event->dossier_id), event->type}
                                  : Meaning{});
  }
  return meanings;
}

// The reasons a broken line may be rejected for, from what the generator did to it.
std::set<std::string_view> ExpectedReasons(const std::string& line) {
  if (!line.ends_with('}')) return {streams::kInvalidJson};  // truncated
  if (line.find(R"("dossier_id")") == std::string::npos) return {streams::kMissingField};
  if (line.find(R"("procedure":"9.999999")") != std::string::npos) {
    return {rules::ToString(ApplyStatus::kUnknownProcedure)};
  }
  // occurred_at is no timestamp, or empty
  return {streams::kInvalidField, streams::kMissingField};
}

TEST(GeneratedTrafficTest, EveryCleanLineIsAppliedAndTheProvinceIsWhatItImitates) {
  GenerateOptions options = Options(28, 300, 11, 0.0);
  const Replay r = GenerateAndReplay(options);
  ASSERT_GT(r.lines.size(), 20000u);

  for (size_t i = 0; i < r.lines.size(); ++i) {
    const streams::ProcessedEvent& e = r.results[i];
    ASSERT_FALSE(e.invalid) << e.reason << " " << e.message << "\n" << r.lines[i];
    // After resolution only the return and the rating come, which the engine counts.
    if (e.status == ApplyStatus::kAfterClose) {
      EXPECT_TRUE(e.type == EventType::kReturned || e.type == EventType::kRated) << r.lines[i];
    } else {
      EXPECT_EQ(e.status, ApplyStatus::kApplied) << rules::ToString(e.status) << "\n" << r.lines[i];
    }
  }
  EXPECT_EQ(r.Count(ApplyStatus::kDuplicate), 0);
  EXPECT_EQ(r.Count(ApplyStatus::kOrphan), 0);

  // Four weeks from a Monday: 20 working days of 300 +- 10%, every one closed by the end.
  const rules::Summary& s = r.summary;
  EXPECT_GT(s.accepted, 20 * 300 * 0.9);
  EXPECT_LT(s.accepted, 20 * 300 * 1.1);
  EXPECT_EQ(s.open, 0);
  EXPECT_EQ(r.tally.accepted, s.accepted);
  // 99.8% on time: a few late dossiers, not none and not many.
  EXPECT_GT(s.on_time_rate, 0.995);
  EXPECT_LT(s.on_time_rate, 0.9999);
  EXPECT_GT(s.closed_late, 0);
  EXPECT_GT(s.apology_letters, 0);
  // 85% filed online; direct receptions of 13.3 minutes on average.
  const double online = static_cast<double>(r.tally.online) / r.tally.accepted;
  EXPECT_GT(online, 0.83);
  EXPECT_LT(online, 0.87);
  ASSERT_GT(r.tally.receptions, 300);
  const double reception_minutes = r.tally.reception_seconds / r.tally.receptions / 60;
  EXPECT_GT(reception_minutes, 12.0);
  EXPECT_LT(reception_minutes, 14.5);
  // Refused, withdrawn or stopped: about 2%.
  const int judged = s.closed_on_time + s.closed_late;
  EXPECT_GT(judged, s.accepted * 0.97);
  EXPECT_LT(judged, s.accepted * 0.995);
}

TEST(GeneratedTrafficTest, BrokenLinesAreRejectedForTheirBreakageAndOrphanOnlyTheirDossier) {
  const GenerateOptions clean_options = Options(10, 300, 5, 0.0);
  GenerateOptions broken_options = clean_options;
  broken_options.invalid_fraction = 0.03;
  const Replay clean = GenerateAndReplay(clean_options);
  const Replay broken = GenerateAndReplay(broken_options);
  // The same events line for line: only the broken lines differ.
  ASSERT_EQ(broken.lines.size(), clean.lines.size());
  const std::vector<Meaning> meaning = Meanings(clean.lines);

  std::set<std::string> lost;  // dossiers whose `accepted` line was broken
  std::map<std::string_view, int> reasons;
  int broken_lines = 0;
  int orphans = 0;
  for (size_t i = 0; i < broken.lines.size(); ++i) {
    const std::string& line = broken.lines[i];
    const streams::ProcessedEvent& e = broken.results[i];
    const Meaning& m = meaning[i];
    if (line != clean.lines[i]) {
      ++broken_lines;
      ASSERT_TRUE(e.invalid) << line;
      EXPECT_TRUE(ExpectedReasons(line).contains(e.reason)) << e.reason << "\n" << line;
      ++reasons[e.reason];
      if (m.type == EventType::kAccepted) lost.insert(m.dossier_id);
      continue;
    }
    ASSERT_FALSE(e.invalid) << e.reason << " " << e.message << "\n" << line;
    // A dossier never accepted: its later events are orphans (`submitted` comes first and
    // creates nothing); every other dossier's events are applied as in the clean stream.
    const bool orphan = lost.contains(m.dossier_id) && m.type != EventType::kSubmitted;
    if (orphan) {
      EXPECT_EQ(e.status, ApplyStatus::kOrphan) << line;
      ++orphans;
    } else {
      EXPECT_TRUE(e.status == ApplyStatus::kApplied || e.status == ApplyStatus::kAfterClose)
          << rules::ToString(e.status) << "\n"
          << line;
    }
  }
  EXPECT_EQ(broken.Invalid(), broken_lines);
  EXPECT_EQ(broken.Count(ApplyStatus::kOrphan), orphans);
  EXPECT_EQ(broken.Count(ApplyStatus::kDuplicate), 0);
  const double share = static_cast<double>(broken_lines) / static_cast<double>(broken.lines.size());
  EXPECT_GT(share, 0.02);
  EXPECT_LT(share, 0.04);
  // Every kind of breakage, and dossiers lost with their `accepted`.
  EXPECT_GT(reasons[streams::kInvalidJson], 0);
  EXPECT_GT(reasons[streams::kMissingField], 0);
  EXPECT_GT(reasons[streams::kInvalidField], 0);
  EXPECT_GT(reasons[rules::ToString(ApplyStatus::kUnknownProcedure)], 0);
  EXPECT_FALSE(lost.empty());
  EXPECT_GT(orphans, 0);
  EXPECT_EQ(broken.summary.accepted, clean.summary.accepted - static_cast<int64_t>(lost.size()));
}

}  // namespace
}  // namespace ontime::testdata
