// predicted_late: the quantile sketch against exact quantiles, conditional probabilities on
// hand-built histories, the minimum-history rule, the alert, persistence of the learned history,
// and determinism (replay twice; the live daemon's way of driving the engine against replay's).
// The calendar works around the clock in UTC, so working time is wall time here.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ontime/base/time.h"
#include "ontime/rules/engine.h"
#include "ontime/rules/quantile_sketch.h"

namespace ontime::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// --- the sketch ---------------------------------------------------------------------------------

TEST(QuantileSketch, QuantilesAreWithinTheRelativeErrorOfTheExactOnes) {
  std::mt19937_64 random(14);
  std::lognormal_distribution<double> working_hours(3.0, 1.5);
  std::vector<Duration> values;
  QuantileSketch sketch;
  for (int i = 0; i < 20000; ++i) {
    const auto ms = static_cast<int64_t>(working_hours(random) * 3'600'000.0) + 60'000;
    values.emplace_back(ms);
    sketch.Add(values.back());
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(sketch.count(), values.size());
  EXPECT_LE(sketch.bucket_count(), QuantileSketch::kMaxBuckets);
  for (double q = 0; q <= 1.0; q += 0.01) {
    const auto rank = static_cast<size_t>(q * static_cast<double>(values.size() - 1));
    const double exact = static_cast<double>(values[rank].count());
    const double estimate = static_cast<double>(sketch.Quantile(q)->count());
    EXPECT_LE(std::abs(estimate - exact) / exact, QuantileSketch::kRelativeAccuracy + 1e-6)
        << "q " << q;
  }
}

TEST(QuantileSketch, MergesExactlyAndRoundTripsItsEncoding) {
  QuantileSketch a, b, all;
  for (int i = 0; i < 500; ++i) {
    const Duration v = minutes(1 + (i * 37) % 5000);
    (i % 3 == 0 ? a : b).Add(v);
    all.Add(v);
  }
  a.Add(Duration{200});  // under a second: the zero bucket
  all.Add(Duration{200});
  QuantileSketch merged = a;
  merged.Merge(b);
  EXPECT_EQ(merged, all);
  std::string bytes;
  all.Encode(bytes);
  auto decoded = QuantileSketch::Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, all);
  EXPECT_FALSE(QuantileSketch::Decode(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_FALSE(QuantileSketch::Decode(bytes + "x").ok());
  std::string swapped = bytes;
  std::swap(swapped[12], swapped[22]);  // the first two keys out of order
  EXPECT_FALSE(QuantileSketch::Decode(swapped).ok());
}

TEST(QuantileSketch, MemoryIsBoundedWhateverTheValues) {
  QuantileSketch sketch;
  for (int64_t v = 1; v < (int64_t{1} << 60); v += v / 2 + 1) sketch.Add(Duration{v});
  EXPECT_LE(sketch.bucket_count(), QuantileSketch::kMaxBuckets);
}

// --- the engine ---------------------------------------------------------------------------------

RulesConfig Config(std::optional<PredictConfig> predict) {
  RulesConfig c;
  c.calendar.timezone = "UTC";
  for (auto& day : c.calendar.weekly) day = {TimeRange{0, 1440}};
  c.calendar.day_length = hours(24);
  c.departments.push_back({"D", "Department", {"Head", "Head", "head@example.org"}});
  Procedure p;
  p.code = "P";
  p.name = "Procedure";
  p.department = "D";
  p.sla = hours(100);
  p.at_risk_remaining = Threshold{false, 0, hours(10)};
  c.procedures.push_back(p);
  c.predict = std::move(predict);
  return c;
}

struct Recorder final : EngineListener {
  void OnAlert(const Alert& a) override {
    if (a.kind != AlertKind::kPredictedLate) return;  // the history's own alerts aside
    std::ostringstream line;
    line << a.AlertId() << " at " << a.detected_at.time_since_epoch().count();
    if (a.kind == AlertKind::kPredictedLate) {
      line << " p " << a.probability << " close " << a.expected_close_at.time_since_epoch().count();
    }
    lines.push_back(line.str());
  }
  std::vector<std::string> lines;
};

const Instant kStart = *ParseRfc3339("2026-01-05T00:00:00Z");

class Driver {
 public:
  Driver(const RulesConfig& config, EngineListener* listener)
      : engine_(CompiledRules::Compile(config).value(), listener) {}
  ApplyStatus Send(const std::string& id, EventType type, Duration at,
                   Engine::TimersBefore timers = Engine::TimersBefore::kAll,
                   std::string_view department = {}) {
    ids_.push_back(id + ":" + std::to_string(static_cast<int>(type)) + ":" +
                   std::to_string(at.count()));
    Event e;
    e.event_id = ids_.back();
    e.dossier_id = id;
    e.type = type;
    e.occurred_at = kStart + at;
    e.procedure = "P";
    e.department = department;
    return engine_.Apply(e, timers);
  }
  // A dossier accepted at `at` (by `department`, else the procedure's) that closes after
  // `working` (resolved).
  void Closed(const std::string& id, Duration at, Duration working,
              std::string_view department = {}) {
    Send(id, EventType::kAccepted, at, Engine::TimersBefore::kAll, department);
    Send(id, EventType::kResolved, at + working);
  }
  Engine& engine() { return engine_; }

 private:
  Engine engine_;
  std::deque<std::string> ids_;
};

TEST(Prediction, ConditionalProbabilityOnAHandBuiltHistory) {
  PredictConfig predict;
  predict.min_history = 10;
  Driver d(Config(predict), nullptr);
  // Ten closed dossiers: 10h, 20h, ... 100h... and three beyond the 100h budget.
  const int working_hours[] = {10, 20, 30, 40, 50, 60, 70, 120, 150, 200};
  for (int k = 0; k < 10; ++k) d.Closed("H" + std::to_string(k), hours(k), hours(working_hours[k]));
  d.engine().AdvanceTo(kStart + hours(1000));
  EXPECT_EQ(d.engine().history_count("P"), 10u);
  // Unconditionally 3 of 10 exceed 100h.
  auto at_start = d.engine().PredictFor("P", Duration::zero(), hours(100));
  ASSERT_TRUE(at_start);
  EXPECT_DOUBLE_EQ(at_start->probability, 0.3);
  // Having used 45h: of the 6 longer than 45h, 3 exceed 100h.
  auto at_45 = d.engine().PredictFor("P", hours(45), hours(100));
  ASSERT_TRUE(at_45);
  EXPECT_DOUBLE_EQ(at_45->probability, 0.5);
  // The conditional median of {50, 60, 70, 120, 150, 200}: the lower one, 70h, within 1%.
  EXPECT_NEAR(static_cast<double>(at_45->median.count()), 70 * 3'600'000.0, 0.01 * 70 * 3'600'000);
  // Having used 80h: all 3 longer ones are late.
  EXPECT_DOUBLE_EQ(d.engine().PredictFor("P", hours(80), hours(100))->probability, 1.0);
  // Longer than anything seen: no prediction, never a guess.
  EXPECT_FALSE(d.engine().PredictFor("P", hours(99), hours(300)).has_value() &&
               d.engine().PredictFor("P", hours(250), hours(300)).has_value());
  EXPECT_FALSE(d.engine().PredictFor("P", hours(250), hours(300)));
}

TEST(Prediction, TheDepartmentsOwnHistoryOnceItHasTheMinimum) {
  RulesConfig config = Config(PredictConfig{.threshold = 0.7, .min_history = 3});
  config.departments.push_back({"E", "Experts", {"Head E", "Head", "e@example.org"}});
  Driver d(config, nullptr);
  // In D, quick closes; in E, two slow ones so far.
  for (int k = 0; k < 4; ++k) d.Closed("D" + std::to_string(k), hours(k), hours(10));
  d.Closed("E0", hours(5), hours(150), "E");
  d.Closed("E1", hours(6), hours(160), "E");
  d.engine().AdvanceTo(kStart + hours(1000));
  // E has fewer than min_history closes: the procedure's (2 of 6 late); D has its own (0 of 4).
  EXPECT_DOUBLE_EQ(d.engine().PredictFor("P", Duration::zero(), hours(100), "E")->probability,
                   2.0 / 6);
  EXPECT_DOUBLE_EQ(d.engine().PredictFor("P", Duration::zero(), hours(100), "D")->probability, 0.0);
  // The third in E: E's own history now (3 of 3 late); the procedure's is 3 of 7.
  d.Closed("E2", hours(1000), hours(120), "E");
  d.engine().AdvanceTo(kStart + hours(2000));
  EXPECT_DOUBLE_EQ(d.engine().PredictFor("P", Duration::zero(), hours(100), "E")->probability, 1.0);
  EXPECT_DOUBLE_EQ(d.engine().PredictFor("P", Duration::zero(), hours(100), "D")->probability, 0.0);
  EXPECT_DOUBLE_EQ(d.engine().PredictFor("P", Duration::zero(), hours(100))->probability, 3.0 / 7);
  EXPECT_EQ(d.engine().history_count("P"), 7u);
  EXPECT_FALSE(d.engine().PredictFor("P", Duration::zero(), hours(100), "X"));  // unknown
  // An open dossier in E is alerted at once (P = 1); one in D is not.
  Recorder recorder;
  Driver live(config, &recorder);
  for (int k = 0; k < 4; ++k) live.Closed("D" + std::to_string(k), hours(k), hours(10));
  // Each accepted after the one before closed (E1 and E2 are alerted from the procedure's
  // history once they outlast D's quick closes).
  for (int k = 0; k < 3; ++k) {
    live.Closed("E" + std::to_string(k), hours(200 * k), hours(150), "E");
  }
  live.engine().AdvanceTo(kStart + hours(700));
  live.Send("NE", EventType::kAccepted, hours(700), Engine::TimersBefore::kAll, "E");
  live.Send("ND", EventType::kAccepted, hours(701), Engine::TimersBefore::kAll, "D");
  ASSERT_FALSE(recorder.lines.empty());
  EXPECT_EQ(recorder.lines.back().substr(0, 23), "NE:predicted_late:1 at ");
  EXPECT_NE(recorder.lines.back().find(" at 1770091200000 "), std::string::npos)  // 700 h
      << recorder.lines.back();
  live.engine().AdvanceTo(kStart + hours(800));  // past ND's fractions up to 0.9
  for (const std::string& line : recorder.lines) EXPECT_NE(line.substr(0, 2), "ND") << line;
}

TEST(Prediction, ARestoredEngineCountsAPendingCloseOnlyAfterItsInstant) {
  PredictConfig predict;
  predict.min_history = 3;
  predict.threshold = 0.25;
  Recorder original;
  Driver d(Config(predict), &original);
  d.engine().TrackChanges(true);
  for (int k = 0; k < 3; ++k) d.Closed("H" + std::to_string(k), hours(k), hours(10));
  d.engine().AdvanceTo(kStart + hours(50));
  // S closes at 400 h after 300 h of work; the engine has not passed 400 h: a pending close.
  d.Send("S", EventType::kAccepted, hours(100));
  d.Send("S", EventType::kResolved, hours(400));
  std::stringstream snapshot;
  d.engine().Save(snapshot);
  Recorder loaded_alerts, restored_alerts;
  Driver loaded(Config(predict), &loaded_alerts);
  ASSERT_TRUE(loaded.engine().Load(snapshot).ok());
  Driver restored(Config(predict), &restored_alerts);
  d.engine().DrainChanges([&](const Engine::DossierChange& c) {
    ASSERT_TRUE(restored.engine().RestoreDossier(c.partition, c.record).ok());
  });
  EXPECT_EQ(restored.engine().history_count("P"), 4u);
  // A, accepted at 399 h (another partition's event, say): S's close is not known as of then, so
  // P(T > 100 h | T > 0) = 0 of 3; at 10 % of its budget (409 h) it is: 1 of 1.
  for (Driver* engine : {&d, &loaded, &restored}) {
    engine->Send("A", EventType::kAccepted, hours(399));
    engine->engine().AdvanceTo(kStart + hours(420));
  }
  ASSERT_EQ(original.lines.size(), 1u);
  EXPECT_NE(original.lines[0].find(" at 1769043600000 "), std::string::npos)  // 409 h
      << original.lines[0];
  EXPECT_EQ(loaded_alerts.lines, original.lines);
  EXPECT_EQ(restored_alerts.lines, original.lines);
}

TEST(Prediction, NoPredictionBelowTheMinimumHistory) {
  PredictConfig predict;
  predict.min_history = 4;
  predict.threshold = 0.5;
  Recorder recorder;
  Driver d(Config(predict), &recorder);
  for (int k = 0; k < 3; ++k) d.Closed("H" + std::to_string(k), hours(k), hours(150));
  d.Send("A", EventType::kAccepted, hours(200));
  EXPECT_FALSE(d.engine().PredictFor("P", Duration::zero(), hours(100)));
  d.engine().AdvanceTo(kStart + hours(289));  // A: at risk at 290h, not before
  EXPECT_TRUE(recorder.lines.empty()) << recorder.lines.front();
  // The fourth closes: every one so far was late, and so will A be.
  d.Closed("H3", hours(3), hours(289) - hours(3));
  d.engine().AdvanceTo(kStart + hours(289) + minutes(1));
  EXPECT_TRUE(d.engine().PredictFor("P", Duration::zero(), hours(100)));
  // A is evaluated at its fractions of budget: 0.9 x 100h = 290h.
  d.engine().AdvanceTo(kStart + hours(291));
  ASSERT_EQ(recorder.lines.size(), 1u);
  EXPECT_EQ(recorder.lines[0].substr(0, 22), "A:predicted_late:1 at ");
  EXPECT_NE(recorder.lines[0].find(" p 1 "), std::string::npos) << recorder.lines[0];
  EXPECT_EQ(d.engine().predicted_late_counts()[0], 1);
}

TEST(Prediction, OneAlertPerCycleAtAnEventOrAFractionOfTheBudget) {
  PredictConfig predict;
  predict.min_history = 5;
  predict.threshold = 0.6;
  predict.fractions = {0.25, 0.5, 0.75};
  Recorder recorder;
  Driver d(Config(predict), &recorder);
  // 5 history dossiers: 20h, 30h, 110h, 120h, 130h (budget 100h).
  int k = 0;
  for (int h : {20, 30, 110, 120, 130}) {
    d.Closed("H" + std::to_string(k), hours(k), hours(h));
    ++k;
  }
  d.Send("A", EventType::kAccepted, hours(500));
  // At acceptance P = 3/5 = 0.6: alerted at once.
  d.Send("B", EventType::kAccepted, hours(500));
  d.engine().AdvanceTo(kStart + hours(550));
  const std::string expected_a =
      "A:predicted_late:1 at " + std::to_string((kStart + hours(500)).time_since_epoch().count());
  ASSERT_GE(recorder.lines.size(), 2u);
  EXPECT_EQ(recorder.lines[0].substr(0, expected_a.size()), expected_a);
  EXPECT_EQ(recorder.lines[1].substr(0, 19), "B:predicted_late:1 ");
  for (size_t n = 2; n < recorder.lines.size(); ++n) {
    EXPECT_EQ(recorder.lines[n].find("predicted_late"), std::string::npos) << recorder.lines[n];
  }
  EXPECT_EQ(d.engine().predicted_late_counts()[0], 2);
  d.Send("A", EventType::kResolved, hours(560));
  EXPECT_EQ(d.engine().predicted_late_counts()[0], 1);
  d.engine().AdvanceTo(kStart + hours(601));  // B's first due passes: overdue, no more predicted
  EXPECT_EQ(d.engine().predicted_late_counts()[0], 0);
}

TEST(Prediction, EvaluatedAtFractionsOfTheBudgetWhenTheOddsChange) {
  PredictConfig predict;
  predict.min_history = 4;
  predict.threshold = 0.7;
  predict.fractions = {0.25, 0.5, 0.75};
  Recorder recorder;
  Driver d(Config(predict), &recorder);
  // 10h, 20h, 60h, 150h: P(T > 100h) = 1/4 at the start, 1/2 after 30h, 1 after 60h.
  int k = 0;
  for (int h : {10, 20, 60, 150}) {
    d.Closed("H" + std::to_string(k), hours(k), hours(h));
    ++k;
  }
  d.Send("A", EventType::kAccepted, hours(200));
  d.engine().AdvanceTo(kStart + hours(274));
  EXPECT_TRUE(recorder.lines.empty());
  d.engine().AdvanceTo(kStart + hours(276));  // 0.75 x 100h = 75h after acceptance: P = 1
  ASSERT_EQ(recorder.lines.size(), 1u);
  EXPECT_EQ(
      recorder.lines[0].substr(0, 22 + 13),
      "A:predicted_late:1 at " + std::to_string((kStart + hours(275)).time_since_epoch().count()));
}

TEST(Prediction, OffWithoutPredictAndLearnsNothing) {
  Recorder recorder;
  Driver d(Config(std::nullopt), &recorder);
  for (int k = 0; k < 50; ++k) d.Closed("H" + std::to_string(k), hours(k), hours(150));
  d.Send("A", EventType::kAccepted, hours(200));
  d.engine().AdvanceTo(kStart + hours(400));
  EXPECT_EQ(d.engine().history_count("P"), 0u);
  for (const auto& line : recorder.lines) EXPECT_EQ(line.find("predicted"), std::string::npos);
  std::ostringstream snapshot;
  d.engine().Save(snapshot);
  EXPECT_EQ(snapshot.str().substr(8, 1), std::string(1, '\3')) << "format 3 without history";
}

TEST(Prediction, TheHistoryIsSavedLoadedAndInTheChangelog) {
  PredictConfig predict;
  predict.min_history = 3;
  Driver d(Config(predict), nullptr);
  d.engine().TrackChanges(true);
  for (int k = 0; k < 5; ++k) d.Closed("H" + std::to_string(k), hours(k), hours(20 + 30 * k));
  d.Send("A", EventType::kAccepted, hours(300));
  d.engine().AdvanceTo(kStart + hours(330));
  const auto before = d.engine().PredictFor("P", hours(30), hours(100));
  ASSERT_TRUE(before);

  std::stringstream snapshot;
  d.engine().Save(snapshot);
  EXPECT_EQ(snapshot.str().substr(8, 1), std::string(1, '\4'));
  Driver loaded(Config(predict), nullptr);
  ASSERT_TRUE(loaded.engine().Load(snapshot).ok());
  EXPECT_EQ(loaded.engine().history_count("P"), 5u);
  EXPECT_DOUBLE_EQ(loaded.engine().PredictFor("P", hours(30), hours(100))->probability,
                   before->probability);
  std::string corrupt = snapshot.str();
  corrupt[corrupt.size() - 20] ^= 1;
  std::stringstream bad(corrupt);
  EXPECT_FALSE(loaded.engine().Load(bad).ok());

  // The changelog: two history records under their reserved keys (the procedure's, and the
  // procedure's in department D where they closed), restored into another engine.
  Driver restored(Config(predict), nullptr);
  std::vector<std::string> histories;
  d.engine().DrainChanges([&](const Engine::DossierChange& c) {
    if (c.dossier_id.starts_with(Engine::kHistoryKeyPrefix)) {
      histories.emplace_back(c.dossier_id.substr(Engine::kHistoryKeyPrefix.size()));
    }
    ASSERT_TRUE(restored.engine().RestoreDossier(c.partition, c.record).ok());
  });
  EXPECT_EQ(histories, (std::vector<std::string>{"P",
                                                 "P\x1f"
                                                 "D"}));
  EXPECT_EQ(restored.engine().history_count("P"), 5u);
  EXPECT_DOUBLE_EQ(restored.engine().PredictFor("P", hours(30), hours(100))->probability,
                   before->probability);
  EXPECT_EQ(restored.engine().DropPartition(0), 6u);
  EXPECT_EQ(restored.engine().history_count("P"), 0u);
}

// --- determinism --------------------------------------------------------------------------------

struct Script {
  struct Step {
    std::string id;
    EventType type;
    Duration at;
  };
  std::vector<Step> steps;
};

// Dossiers every 2h, each closing after a pseudo-random working time, some long ones late.
Script MakeScript() {
  Script s;
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int> working(5, 160);
  std::vector<Script::Step> closes;
  for (int k = 0; k < 300; ++k) {
    const std::string id = "D" + std::to_string(k);
    const Duration at = hours(2 * k);
    s.steps.push_back({id, EventType::kAccepted, at});
    closes.push_back({id, EventType::kResolved, at + hours(working(random)) + minutes(k % 7)});
  }
  s.steps.insert(s.steps.end(), closes.begin(), closes.end());
  std::stable_sort(s.steps.begin(), s.steps.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  return s;
}

std::vector<std::string> Replay(const Script& script, bool live) {
  PredictConfig predict;
  predict.min_history = 20;
  predict.threshold = 0.4;
  Recorder recorder;
  Driver d(Config(predict), &recorder);
  for (const auto& step : script.steps) {
    if (live) {
      // The daemon: the event's own dossier's timers, then the others up to the watermark.
      d.Send(step.id, step.type, step.at, Engine::TimersBefore::kDossier);
      d.engine().AdvanceTo(kStart + step.at);
    } else {
      d.Send(step.id, step.type, step.at);
    }
  }
  d.engine().AdvanceTo(kStart + hours(2000));
  std::vector<std::string> predicted;
  for (const auto& line : recorder.lines) {
    if (line.find("predicted_late") != std::string::npos) predicted.push_back(line);
  }
  std::sort(predicted.begin(), predicted.end());
  return predicted;
}

TEST(Prediction, ReplayTwiceAndLiveVersusReplayPredictTheSame) {
  const Script script = MakeScript();
  const auto first = Replay(script, false);
  EXPECT_GT(first.size(), 20u);
  EXPECT_EQ(Replay(script, false), first);
  EXPECT_EQ(Replay(script, true), first);
}

}  // namespace
}  // namespace ontime::rules
