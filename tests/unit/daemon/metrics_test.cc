#include "ontime/daemon/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "fakes/small_rules.h"
#include "ontime/daemon/listeners.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {
namespace {

using std::chrono::hours;
using testing::At;
using testing::Compile;
using testing::SmallRules;

rules::Event Make(std::string_view id, std::string_view dossier, rules::EventType type,
                  const std::string& local) {
  rules::Event e;
  e.event_id = id;
  e.dossier_id = dossier;
  e.type = type;
  e.occurred_at = At(local);
  return e;
}

class CountingListener : public rules::EngineListener {
 public:
  void OnAlert(const rules::Alert&) override { ++alerts; }
  void OnApologyLetter(const rules::ApologyLetter&) override { ++letters; }
  void OnAccepted(uint32_t, rules::Channel, std::optional<double>) override { ++accepted; }
  void OnClosed(uint32_t, rules::Outcome, double, double) override { ++closed; }
  int alerts = 0;
  int letters = 0;
  int accepted = 0;
  int closed = 0;
};

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

class EngineMetricsTest : public ::testing::Test {
 protected:
  EngineMetricsTest()
      : rules_(Compile(SmallRules())), metrics_(registry_, *rules_), engine_(rules_, &fan_out_) {}

  void Feed() {
    rules::Event d1 = Make("e1", "D1", rules::EventType::kAccepted, "2026-03-02T09:00:00");
    d1.procedure = "1.004227";
    d1.channel = rules::Channel::kOnline;
    d1.reception_seconds = 250;
    ASSERT_EQ(engine_.Apply(d1), rules::ApplyStatus::kApplied);
    rules::Event d2 = Make("e2", "D2", rules::EventType::kAccepted, "2026-03-02T09:00:00");
    d2.procedure = "P4H";
    ASSERT_EQ(engine_.Apply(d2), rules::ApplyStatus::kApplied);
    ASSERT_EQ(engine_.Apply(
                  Make("e3", "D1", rules::EventType::kSupplementRequested, "2026-03-02T10:00:00")),
              rules::ApplyStatus::kApplied);
    rules::Event fee = Make("e4", "D1", rules::EventType::kFeePaid, "2026-03-02T10:30:00");
    fee.method = rules::PaymentMethod::kCash;
    engine_.Apply(fee);
    rules::Event rated = Make("e5", "D1", rules::EventType::kRated, "2026-03-02T10:40:00");
    rated.rating = rules::Rating::kSatisfied;
    engine_.Apply(rated);
    // D2 is due Mon 14:00 (4 working hours with the lunch break); resolved late at 15:00.
    ASSERT_EQ(engine_.Apply(Make("e6", "D2", rules::EventType::kResolved, "2026-03-02T15:00:00")),
              rules::ApplyStatus::kApplied);
    rules::Event returned = Make("e7", "D2", rules::EventType::kReturned, "2026-03-02T16:00:00");
    returned.return_channel = rules::ReturnChannel::kPostal;
    engine_.Apply(returned);
  }

  prometheus::Registry registry_;
  std::shared_ptr<const rules::CompiledRules> rules_;
  EngineMetrics metrics_;
  CountingListener next_;
  // The engine reports to both, side by side.
  ListenerFanOut fan_out_ = [this] {
    ListenerFanOut f;
    f.Add(&metrics_);
    f.Add(&next_);
    return f;
  }();
  rules::Engine engine_;
};

TEST_F(EngineMetricsTest, EveryLabelCombinationExistsBeforeAnyEvent) {
  const std::string text = SerializeMetrics(registry_);
  for (const char* dept : {"SXD", "UBND"}) {
    const std::string d = std::string("department=\"") + dept + "\"";
    for (const char* channel : {"direct", "online", "postal"}) {
      EXPECT_TRUE(
          Has(text, "dossier_accepted_total{channel=\"" + std::string(channel) + "\"," + d + "} 0"))
          << channel;
    }
    for (const char* outcome : {"on_time", "late", "withdrawn", "refused"}) {
      EXPECT_TRUE(Has(text, "dossier_closed_total{" + d + ",outcome=\"" + outcome + "\"} 0"));
    }
    for (const char* state : {"on_track", "at_risk", "overdue", "paused"}) {
      EXPECT_TRUE(Has(text, "dossier_open{" + d + ",state=\"" + state + "\"} 0"));
    }
    for (const char* kind : {"at_risk", "overdue", "step_overdue"}) {
      EXPECT_TRUE(Has(text, "dossier_alerts_total{" + d + ",kind=\"" + kind + "\"} 0"));
    }
    for (const char* channel : {"counter", "postal", "online"}) {
      EXPECT_TRUE(Has(
          text, "dossier_returned_total{channel=\"" + std::string(channel) + "\"," + d + "} 0"));
    }
    for (const char* method : {"online", "cash"}) {
      EXPECT_TRUE(Has(text, "dossier_fee_payments_total{" + d + ",method=\"" + method + "\"} 0"));
    }
    for (const char* rating : {"very_satisfied", "satisfied", "dissatisfied"}) {
      EXPECT_TRUE(Has(text, "dossier_ratings_total{" + d + ",rating=\"" + rating + "\"} 0"));
    }
    EXPECT_TRUE(Has(text, "dossier_supplement_requests_total{" + d + "} 0"));
    EXPECT_TRUE(Has(text, "dossier_apology_letters_total{" + d + "} 0"));
    EXPECT_TRUE(Has(text, "dossier_resolution_seconds_count{" + d + "} 0"));
    EXPECT_TRUE(Has(text, "dossier_resolution_working_seconds_bucket{" + d + ",le=\"2592000\"} 0"));
    EXPECT_TRUE(Has(text, "dossier_reception_seconds_bucket{" + d + ",le=\"2700\"} 0"));
  }
  EXPECT_EQ(text.find("rating=\"none\""), std::string::npos);
  EXPECT_EQ(text.find("method=\"none\""), std::string::npos);
}

TEST_F(EngineMetricsTest, CountsWhatTheEngineReports) {
  Feed();
  const std::string text = SerializeMetrics(registry_);
  EXPECT_TRUE(Has(text, "dossier_accepted_total{channel=\"online\",department=\"SXD\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_accepted_total{channel=\"direct\",department=\"UBND\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_accepted_total{channel=\"direct\",department=\"SXD\"} 0"));
  EXPECT_TRUE(Has(text, "dossier_reception_seconds_bucket{department=\"SXD\",le=\"120\"} 0"));
  EXPECT_TRUE(Has(text, "dossier_reception_seconds_bucket{department=\"SXD\",le=\"300\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_reception_seconds_sum{department=\"SXD\"} 250"));
  EXPECT_TRUE(Has(text, "dossier_supplement_requests_total{department=\"SXD\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_fee_payments_total{department=\"SXD\",method=\"cash\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_ratings_total{department=\"SXD\",rating=\"satisfied\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_alerts_total{department=\"UBND\",kind=\"at_risk\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_alerts_total{department=\"UBND\",kind=\"overdue\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_apology_letters_total{department=\"UBND\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_closed_total{department=\"UBND\",outcome=\"late\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_returned_total{channel=\"postal\",department=\"UBND\"} 1"));
  // 09:00 -> 15:00: six hours of wall clock, five of working time (lunch 12-13).
  EXPECT_TRUE(Has(text, "dossier_resolution_seconds_sum{department=\"UBND\"} 21600"));
  EXPECT_TRUE(Has(text, "dossier_resolution_working_seconds_sum{department=\"UBND\"} 18000"));
  EXPECT_TRUE(Has(text, "dossier_resolution_seconds_bucket{department=\"UBND\",le=\"14400\"} 0"));
  EXPECT_TRUE(Has(text, "dossier_resolution_seconds_bucket{department=\"UBND\",le=\"28800\"} 1"));

  EXPECT_EQ(next_.accepted, 2);
  EXPECT_EQ(next_.alerts, 2);
  EXPECT_EQ(next_.letters, 1);
  EXPECT_EQ(next_.closed, 1);
}

TEST_F(EngineMetricsTest, RefreshGaugesReadsOpenCounts) {
  Feed();
  rules::Event d3 = Make("e8", "D3", rules::EventType::kAccepted, "2026-03-02T16:00:00");
  d3.procedure = "1.004227";
  engine_.Apply(d3);
  metrics_.RefreshGauges(engine_);
  const std::string text = SerializeMetrics(registry_);
  EXPECT_TRUE(Has(text, "dossier_open{department=\"SXD\",state=\"paused\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_open{department=\"SXD\",state=\"on_track\"} 1"));
  EXPECT_TRUE(Has(text, "dossier_open{department=\"UBND\",state=\"on_track\"} 0"));
  EXPECT_TRUE(Has(text, "dossier_open_within_time{department=\"SXD\"} 2"));
}

TEST_F(EngineMetricsTest, RebindAddsDepartmentsAndKeepsCounts) {
  Feed();
  rules::RulesConfig config = SmallRules();
  config.departments.insert(config.departments.begin(),
                            rules::Department{"STP", "Justice", {"Le C", "Director", "stp@x"}});
  auto reloaded = Compile(config);
  ASSERT_TRUE(engine_.Reconfigure(reloaded).ok());
  metrics_.Rebind(*reloaded);
  rules::Event d4 = Make("e9", "D4", rules::EventType::kAccepted, "2026-03-03T09:00:00");
  d4.procedure = "1.004227";
  d4.channel = rules::Channel::kOnline;
  ASSERT_EQ(engine_.Apply(d4), rules::ApplyStatus::kApplied);
  metrics_.RefreshGauges(engine_);
  const std::string text = SerializeMetrics(registry_);
  // SXD moved from index 0 to 1: its series still count, under its code.
  EXPECT_TRUE(Has(text, "dossier_accepted_total{channel=\"online\",department=\"SXD\"} 2"));
  EXPECT_TRUE(Has(text, "dossier_accepted_total{channel=\"online\",department=\"STP\"} 0"));
  EXPECT_TRUE(Has(text, "dossier_open{department=\"STP\",state=\"on_track\"} 0"));
  EXPECT_TRUE(Has(text, "dossier_open{department=\"SXD\",state=\"on_track\"} 1"));
}

TEST_F(EngineMetricsTest, PredictedLateIsExportedOnlyWhilePredictIsConfigured) {
  metrics_.RefreshGauges(engine_);
  EXPECT_EQ(SerializeMetrics(registry_).find("dossier_predicted_late{"), std::string::npos)
      << "no predict: section, no series (a 0 would read as a measurement)";
  rules::RulesConfig config = SmallRules();
  config.predict.emplace();
  auto predicting = Compile(config);
  ASSERT_TRUE(engine_.Reconfigure(predicting).ok());
  metrics_.Rebind(*predicting);
  metrics_.RefreshGauges(engine_);
  EXPECT_TRUE(Has(SerializeMetrics(registry_), "dossier_predicted_late{department=\"SXD\"} 0"));
  auto plain = Compile(SmallRules());
  ASSERT_TRUE(engine_.Reconfigure(plain).ok());
  metrics_.Rebind(*plain);
  metrics_.RefreshGauges(engine_);
  EXPECT_EQ(SerializeMetrics(registry_).find("dossier_predicted_late{"), std::string::npos)
      << "a reload that turns prediction off removes them";
}

TEST(DaemonMetricsTest, SeriesAndCounts) {
  prometheus::Registry registry;
  DaemonMetrics metrics(registry, "1.2.3");
  auto rules = Compile(SmallRules());
  std::string text = SerializeMetrics(registry);
  EXPECT_TRUE(Has(text, "ontime_build_info{version=\"1.2.3\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_events_total{type=\"rated\"} 0"));
  EXPECT_TRUE(Has(text, "ontime_events_invalid_total{reason=\"missing_field\"} 0"));
  EXPECT_TRUE(Has(text, "ontime_restarts_total{mode=\"empty\"} 0"));
  EXPECT_TRUE(Has(text, "ontime_ready 0"));

  metrics.CountEvent(rules::EventType::kAccepted);
  metrics.CountEvent(rules::EventType::kAccepted);
  metrics.CountEvent(rules::EventType::kUnknown);
  metrics.CountInvalid("invalid_json");
  metrics.CountInvalid("something new");
  metrics.CountDeadLetter("unknown_procedure");
  metrics.SetReady(true);
  metrics.CountRestart("changelog");
  metrics.SetEngineSizes(12, 7);
  metrics.SetEventLag(1.5);
  metrics.SetConsumerLag(3, 42);
  metrics.SetConsumerLag(3, 40);
  metrics.SetConsumerLagSeconds(2.25);
  metrics.CountAlertmanagerPush(true);
  metrics.CountAlertmanagerPush(false);
  metrics.CountReload(true);
  metrics.CountReload(false);
  metrics.CountRecomputations(5);
  metrics.SetOnTimeTargets(*rules);
  text = SerializeMetrics(registry);
  EXPECT_TRUE(Has(text, "ontime_events_total{type=\"accepted\"} 2"));
  EXPECT_TRUE(Has(text, "ontime_events_total{type=\"unknown\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_events_invalid_total{reason=\"invalid_json\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_events_invalid_total{reason=\"other\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_dead_letters_total{reason=\"unknown_procedure\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_ready 1"));
  EXPECT_TRUE(Has(text, "ontime_restarts_total{mode=\"changelog\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_dossiers_tracked 12"));
  EXPECT_TRUE(Has(text, "ontime_timers_pending 7"));
  EXPECT_TRUE(Has(text, "ontime_event_lag_seconds 1.5"));
  EXPECT_TRUE(Has(text, "ontime_kafka_consumer_lag{partition=\"3\"} 40"));
  EXPECT_TRUE(Has(text, "ontime_kafka_consumer_lag_seconds 2.25"));
  EXPECT_TRUE(Has(text, "ontime_alertmanager_pushes_total 2"));
  EXPECT_TRUE(Has(text, "ontime_alertmanager_push_failures_total 1"));
  EXPECT_TRUE(Has(text, "ontime_reloads_total{result=\"success\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_reloads_total{result=\"failure\"} 1"));
  EXPECT_TRUE(Has(text, "ontime_deadline_recomputations_total 5"));
  EXPECT_TRUE(Has(text, "ontime_department_on_time_target{department=\"UBND\"} 0.95"));
  EXPECT_TRUE(Has(text, "ontime_department_on_time_target{department=\"SXD\"} 0.998"));

  // A reload replaces the targets: a vanished department's series goes.
  rules::RulesConfig config = SmallRules();
  config.departments.pop_back();
  config.procedures.pop_back();
  metrics.SetOnTimeTargets(*Compile(config));
  text = SerializeMetrics(registry);
  EXPECT_EQ(text.find("ontime_department_on_time_target{department=\"UBND\"}"), std::string::npos);
  EXPECT_TRUE(Has(text, "ontime_department_on_time_target{department=\"SXD\"} 0.998"));
}

}  // namespace
}  // namespace ontime::daemon
