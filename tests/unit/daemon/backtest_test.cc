// `ontimed backtest` on a fixture small enough to score by hand. The calendar works round the
// clock (working time = wall time), the procedure's budget is 10 days (240 h), at_risk fires when
// 2 days remain (at 192 h) and predicted_late is evaluated at acceptance and at half the budget.
//
// First part (accepted first, split 0.5 of 8 dossiers): H1..H4, no history to predict from.
//   H1 closes after 48 h, H2 after 72 h (on time); H3 after 288 h, H4 after 336 h (late).
//   at_risk: H3 and H4 (both late), 48 h before their due.
// Second part: S1..S4, accepted at 480 h, after the four have closed, with history {48, 72, 288,
// 336} h (and S1's 24 h once it closes at 504 h):
//   at acceptance P(T > 240 | T > 0) = 2/4 = 0.5;   at 120 h P(T > 240 | T > 120) = 2/2 = 1.
//   S1 closes after 24 h, S2 after 200 h (on time), S3 after 260 h, S4 after 300 h (late).
//   threshold 0.5: S1..S4 alerted at acceptance: precision 2/4, recall 2/2, lead 240 h.
//   threshold 0.7: S2..S4 alerted at 120 h:      precision 2/3, recall 2/2, lead 120 h.
//   at_risk:       S2..S4 at 192 h:              precision 2/3, recall 2/2, lead  48 h.

#include "ontime/daemon/backtest.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ontime/base/time.h"

namespace ontime::daemon {
namespace {

using std::chrono::hours;

constexpr const char* kConfig = R"(
calendar:
  timezone: UTC
  working_hours:
    mon-sun: ["00:00-24:00"]
  day_length: 24h
defaults:
  at_risk_remaining: 2d
  apology_extension: 5d
departments:
  - code: D
    name: "Department"
    head: {name: "Head", title: "Head", email: "head@example.org"}
procedures:
  - code: P
    name: "Procedure"
    department: D
    sla: 10d
predict:
  min_history: 4
  fractions: [0.5]
)";

const Instant kStart = *ParseRfc3339("2026-01-05T00:00:00Z");

struct Fixture {
  std::vector<std::string> lines;
  void Event(const std::string& dossier, const std::string& type, Duration at) {
    lines.push_back(R"({"event_id":")" + dossier + ":" + type + R"(","type":")" + type +
                    R"(","dossier_id":")" + dossier + R"(","occurred_at":")" +
                    FormatRfc3339(kStart + at, std::chrono::seconds(0)) + R"(","procedure":"P"})");
  }
};

std::vector<std::string> History() {
  Fixture f;
  // Chronological, as a log is.
  f.Event("H1", "accepted", hours(0));
  f.Event("H2", "accepted", hours(1));
  f.Event("H3", "accepted", hours(2));
  f.Event("H4", "accepted", hours(3));
  f.Event("H1", "resolved", hours(0 + 48));
  f.Event("H2", "resolved", hours(1 + 72));
  f.Event("H3", "resolved", hours(2 + 288));
  f.Event("H4", "resolved", hours(3 + 336));
  f.Event("S1", "accepted", hours(480));
  f.Event("S2", "accepted", hours(481));
  f.Event("S3", "accepted", hours(482));
  f.Event("S4", "accepted", hours(483));
  f.Event("S1", "resolved", hours(480 + 24));
  f.Event("S2", "resolved", hours(481 + 200));
  f.Event("S3", "resolved", hours(482 + 260));
  f.Event("S4", "resolved", hours(483 + 300));
  return f.lines;
}

Config Load() {
  ConfigResult config = LoadConfigString(kConfig);
  EXPECT_TRUE(config.ok()) << (config.errors.empty() ? "" : config.errors[0].ToString());
  return config.config.value_or(Config{});
}

void ExpectScore(const AlertScore& s, int64_t dossiers, int64_t late, int64_t alerted,
                 int64_t alerted_late, std::optional<Duration> median_lead) {
  EXPECT_EQ(s.dossiers, dossiers);
  EXPECT_EQ(s.late, late);
  EXPECT_EQ(s.alerted, alerted);
  EXPECT_EQ(s.alerted_late, alerted_late);
  EXPECT_DOUBLE_EQ(s.precision, alerted ? static_cast<double>(alerted_late) / alerted : 0);
  EXPECT_DOUBLE_EQ(s.recall, late ? static_cast<double>(alerted_late) / late : 0);
  EXPECT_EQ(s.median_lead, median_lead);
}

TEST(Backtest, ScoresAHandComputedFixture) {
  BacktestOptions options;
  options.thresholds = {0.5, 0.7};
  options.split = 0.5;
  auto result = Backtest(Load(), History(), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const BacktestResult& r = *result;
  EXPECT_EQ(r.events, 16u);
  EXPECT_EQ(r.invalid, 0u);

  // at_risk.
  ExpectScore(r.at_risk_first.at(""), 4, 2, 2, 2, hours(48));
  ExpectScore(r.at_risk_second.at(""), 4, 2, 3, 2, hours(48));
  ExpectScore(r.at_risk_all.at(""), 8, 4, 5, 4, hours(48));
  ExpectScore(r.at_risk_second.at("P"), 4, 2, 3, 2, hours(48));  // per procedure: the only one

  ASSERT_EQ(r.sweep.size(), 2u);
  // predicted_late at 0.5: the second part alerted at acceptance, 240 h before its due.
  EXPECT_EQ(r.sweep[0].threshold, 0.5);
  ExpectScore(r.sweep[0].first.at(""), 4, 2, 0, 0, std::nullopt);
  ExpectScore(r.sweep[0].second.at(""), 4, 2, 4, 2, hours(240));
  // at 0.7: only the three still open at half their budget, 120 h before it.
  EXPECT_EQ(r.sweep[1].threshold, 0.7);
  ExpectScore(r.sweep[1].first.at(""), 4, 2, 0, 0, std::nullopt);
  ExpectScore(r.sweep[1].second.at(""), 4, 2, 3, 2, hours(120));
  ExpectScore(r.sweep[1].all.at(""), 8, 4, 3, 2, hours(120));

  // Neither threshold alerted on the first part: the most precise, the first of equals.
  EXPECT_EQ(r.chosen, 0u);
}

TEST(Backtest, WithoutAThresholdAsPreciseAsAtRiskChoosesTheMostPrecise) {
  // The whole log as the first part: at_risk's precision there is 4/5; neither 0.5 (2/4) nor
  // 0.7 (2/3) reaches it, so the choice falls to the more precise of them, 0.7.
  BacktestOptions options;
  options.thresholds = {0.5, 0.7};
  options.split = 1.0;
  auto result = Backtest(Load(), History(), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ExpectScore(result->at_risk_first.at(""), 8, 4, 5, 4, hours(48));
  EXPECT_EQ(result->at_risk_second.count(""), 0u);  // nothing left for the second part
  ExpectScore(result->sweep[0].first.at(""), 8, 4, 4, 2, hours(240));
  ExpectScore(result->sweep[1].first.at(""), 8, 4, 3, 2, hours(120));
  EXPECT_EQ(result->chosen, 1u);
}

TEST(Backtest, ReportsRulesThatDoNotCompile) {
  Config config = Load();
  config.rules.predict->fractions = {0.7, 0.2};  // not increasing
  auto result = Backtest(config, History(), BacktestOptions{});
  EXPECT_FALSE(result.ok());
}

}  // namespace
}  // namespace ontime::daemon
