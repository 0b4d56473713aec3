// The live path in-process, on simulated time: messages go onto fake partitions, the loop runs
// for a while, outputs are delivered or held, an instance is killed and another restored. No
// broker and no sleep; the real-broker tests in tests/integration stay the proof on top.
// Rules: a 24/7 calendar in UTC; procedure P has a 2h budget, is at risk 20m before its due, and
// a breach proposes a new due 1h later.

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "fakes/live_fakes.h"
#include "ontime/daemon/listeners.h"
#include "ontime/daemon/live_processor.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/output_writer.h"
#include "ontime/daemon/state_persistence.h"
#include "ontime/rules/engine.h"

namespace ontime::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const Instant kT0 = *ParseRfc3339("2026-03-02T09:00:00Z");

std::shared_ptr<const rules::CompiledRules> Rules() {
  rules::RulesConfig c;
  c.calendar.timezone = "UTC";
  for (auto& day : c.calendar.weekly) day = {{0, 1440}};
  c.defaults.at_risk_remaining = {false, 0, 20min};
  c.defaults.apology_extension = 1h;
  c.departments = {{"D", "Department", {"Head", "Director", "head@example.gov.vn"}}};
  rules::Procedure p;
  p.code = "P";
  p.department = "D";
  p.sla = 2h;
  c.procedures = {p};
  return rules::CompiledRules::Compile(std::move(c)).value();
}

std::string Utc(Instant t) { return FormatRfc3339(t, std::chrono::seconds(0)); }

std::string Accepted(const std::string& dossier, Instant at) {
  return R"({"event_id":")" + dossier + R"(-a","type":"accepted","dossier_id":")" + dossier +
         R"(","occurred_at":")" + Utc(at) + R"(","procedure":"P"})";
}
std::string Resolved(const std::string& dossier, Instant at) {
  return R"({"event_id":")" + dossier + R"(-r","type":"resolved","dossier_id":")" + dossier +
         R"(","occurred_at":")" + Utc(at) + R"("})";
}

// What outlives a daemon instance: the wall clock, the output topics, the state directory.
class World {
 public:
  World()
      : state_dir(fs::temp_directory_path() /
                  ("ontime-live-" + std::to_string(getpid()) + "-" + std::to_string(++count))) {
    fs::remove_all(state_dir);
    fs::create_directories(state_dir);
  }
  ~World() { fs::remove_all(state_dir); }

  // One running instance of the live path over the fakes, as the Daemon wires it.
  struct Instance {
    Instance(World& t, Duration max_age)
        : metrics(registry, ONTIME_TEST_VERSION),
          engine_metrics(registry, *t.rules),
          writer(t.sink, offsets, t.loop.clock(), log, [](const std::string&) {}),
          fresh(t.loop.clock(), log, metrics, writer),
          store(t.state_dir),
          persistence(store, t.output_log, t.loop.clock(), log, "events", daemon::OutputTopics{}) {
      writer.set_calendar(&t.rules->calendar());
      fresh.set_max_age(max_age);
      listeners.Add(&engine_metrics);
      listeners.Add(&fresh);
      engine = std::make_unique<rules::Engine>(t.rules, &listeners);
      processor = std::make_unique<daemon::LiveProcessor>(
          t.loop, *engine, t.sink, offsets, writer, metrics, log,
          daemon::LiveProcessor::Hooks{[this] { writer.EndSuppression(); },
                                       [](const std::string&) {}});
      processor->set_max_clock_skew(5min);
      t.deliver_to = &offsets;
    }
    // Restores what the state directory and the output topics hold, then consumes `source`
    // from where the restored state ends.
    void Start(FakeEventSource& source) {
      auto restored = persistence.Restore(*engine);
      ASSERT_TRUE(restored.ok());
      mode = restored->mode;
      offsets.set_next_offsets(restored->next_offsets);
      writer.Suppress(std::move(restored->already_produced));
      source.StartAt(offsets.next_offsets());
      processor->Start(source);
    }

    std::stringstream log_text;
    daemon::Logger log{log_text, "debug"};
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics;
    daemon::EngineMetrics engine_metrics;
    daemon::OffsetTracker offsets;
    daemon::OutputWriter writer;
    daemon::FreshOutputs fresh;
    daemon::ListenerFanOut listeners;
    daemon::SnapshotStore store;
    daemon::StatePersistence persistence;
    std::unique_ptr<rules::Engine> engine;
    std::unique_ptr<daemon::LiveProcessor> processor;
    std::string mode;
  };

  std::unique_ptr<Instance> Launch(Duration max_age = std::chrono::hours(24 * 365)) {
    return std::make_unique<Instance>(*this, max_age);
  }

  std::vector<std::string> Ids(const std::string& topic, std::string_view field) const {
    return sink.DeliveredIds(topic, field);
  }
  // Alert and letter ids produced (delivered or in flight), in order.
  std::vector<std::string> AllIds() const {
    std::vector<std::string> ids;
    for (const Produced& p : sink.AllProduced()) {
      std::string id =
          JsonField(p.value, p.topic == "dossier.sla.alerts" ? "alert_id" : "letter_id");
      if (!id.empty()) ids.push_back(std::move(id));
    }
    return ids;
  }

  static inline int count = 0;
  std::string state_dir;
  std::shared_ptr<const rules::CompiledRules> rules = Rules();
  SimulatedEventLoop loop{kT0};
  daemon::OffsetTracker* deliver_to = nullptr;
  FakeOutputSink sink{[this](const streams::Delivery& d) {
    if (deliver_to) deliver_to->OnDelivered(d.tag);
  }};
  FakeOutputLog output_log{sink};
};

class LivePathTest : public ::testing::Test, public World {};

TEST_F(LivePathTest, OffsetsAreStoredOnlyOnceEveryOutputIsDelivered) {
  FakeEventSource source(1);
  source.Add(0, "A", Accepted("A", kT0 - 150min));  // due 08:30, at risk 08:10: both past
  source.Add(0, "B", Accepted("B", kT0 - 10min));   // the watermark passes A's timers here
  source.Add(0, "X", "{bad json");
  sink.hold = true;
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(10ms);
  EXPECT_EQ(source.stored, (std::map<int32_t, int64_t>{{0, 1}}))
      << "A caused nothing; B's outputs (A's alerts, fired at B) and X's dead letter in flight";
  EXPECT_EQ(sink.in_flight(), 4u);

  sink.hold = false;
  loop.RunFor(10ms);
  EXPECT_EQ(source.stored, (std::map<int32_t, int64_t>{{0, 3}}));
  EXPECT_EQ(Ids("dossier.sla.alerts", "alert_id"),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1"}));
  EXPECT_EQ(Ids("dossier.apology-letters", "letter_id"), std::vector<std::string>{"A:apology:1"});
  auto dead = sink.Delivered("dossier.events.dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "{bad json");
  EXPECT_EQ(dead[0].Header("error.reason"), "invalid_json");
  EXPECT_EQ(dead[0].Header("source.offset"), "2");
  EXPECT_TRUE(daemon->processor->caught_up_once());
}

TEST_F(LivePathTest, TheWallClockFiresEachTimerAtItsInstant) {
  FakeEventSource source(1);
  source.Add(0, "A", Accepted("A", kT0));  // at risk 10:40, due 11:00
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunUntil(kT0 + 100min);
  EXPECT_TRUE(AllIds().empty()) << "timers fire strictly after their instant";
  loop.RunFor(1ms);
  EXPECT_EQ(AllIds(), std::vector<std::string>{"A:at_risk:1"});
  EXPECT_EQ(JsonField(sink.AllProduced()[0].value, "detected_at"), "2026-03-02T10:40:00+00:00");
  loop.RunUntil(kT0 + 2h + 1ms);
  EXPECT_EQ(AllIds(), (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1"}));
}

TEST_F(LivePathTest, AFutureEventIsDeadLetteredAndMovesNoClock) {
  FakeEventSource source(1);
  source.Add(0, "F", Accepted("F", kT0 + 1h));
  source.Add(0, "G", Accepted("G", kT0 + 4min));  // within ingest.max_clock_skew
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(10ms);
  auto dead = sink.Delivered("dossier.events.dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].Header("error.reason"), "future_event");
  EXPECT_EQ(daemon->engine->dossiers_tracked(), 1u);
  EXPECT_EQ(daemon->engine->clock(), kT0 + 4min) << "G moved it, F did not";
}

// A first start on ten days of history: each cycle advances, but only what is younger than
// output.max_age (here 1 day) reaches the topics; the rest is counted as stale.
TEST_F(LivePathTest, OutputsOlderThanMaxAgeAreCountedNotProduced) {
  FakeEventSource source(1);
  source.Add(0, "OLD", Accepted("OLD", kT0 - std::chrono::hours(240)));
  auto daemon = Launch(std::chrono::hours(24));
  daemon->Start(source);
  loop.RunFor(10ms);
  const std::vector<std::string> ids = AllIds();
  ASSERT_FALSE(ids.empty());
  for (const Produced& p : sink.delivered) {
    const std::string at =
        JsonField(p.value, p.topic == "dossier.sla.alerts" ? "detected_at" : "issued_at");
    EXPECT_LE(kT0 - *ParseRfc3339(at), std::chrono::hours(24)) << p.value;
  }
  auto view = daemon->engine->Find("OLD", kT0);
  ASSERT_TRUE(view);
  EXPECT_GT(view->cycle, 200) << "every cycle advanced in the state";
  const std::string metrics = daemon::SerializeMetrics(daemon->registry);
  EXPECT_EQ(metrics.find("ontime_outputs_stale_total{kind=\"apology_letter\"} 0"),
            std::string::npos);
  EXPECT_NE(daemon->log_text.str().find("older than output.max_age"), std::string::npos);
}

// Killed after a snapshot and more work, then restored: the new instance re-derives the work
// after the snapshot and suppresses what the topics already hold, so every id is there exactly
// once, and the whole equals what one uninterrupted instance produces.
TEST_F(LivePathTest, KillAndRestoreProduceEveryIdExactlyOnce) {
  std::vector<std::pair<std::string, std::string>> first;
  std::vector<std::pair<std::string, std::string>> second;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "K" + std::to_string(i);
    auto& batch = i < 10 ? first : second;
    batch.emplace_back(id, Accepted(id, kT0 - std::chrono::minutes(300 - 10 * i)));
    if (i % 3 == 0) batch.emplace_back(id, Resolved(id, kT0 - std::chrono::minutes(200 - 10 * i)));
  }
  FakeEventSource source(1);
  for (const auto& [key, value] : first) source.Add(0, key, value);
  {
    auto daemon = Launch();
    daemon->Start(source);
    loop.RunFor(10ms);
    ASSERT_TRUE(daemon->persistence.Snapshot(*daemon->engine, sink, daemon->offsets, 1s,
                                             daemon::LogLevel::kInfo));
    for (const auto& [key, value] : second) source.Add(0, key, value);
    loop.RunFor(1s);
    daemon->processor->Stop();  // SIGKILL: no final snapshot
  }
  const size_t before_restart = AllIds().size();
  FakeEventSource again(1);
  for (const auto& [key, value] : first) again.Add(0, key, value);
  for (const auto& [key, value] : second) again.Add(0, key, value);
  auto restored = Launch();
  restored->Start(again);
  loop.RunFor(10ms);
  EXPECT_EQ(restored->mode, "snapshot");
  EXPECT_GT(restored->writer.suppressed(), 0u) << "the work after the snapshot was re-derived";
  std::vector<std::string> ids = AllIds();
  EXPECT_EQ(ids.size(), before_restart) << "nothing new was due; nothing doubled";
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());

  // One uninterrupted instance over the same events, on its own sink and state.
  World reference;
  reference.loop.RunUntil(loop.clock().Now());
  FakeEventSource all(1);
  for (const auto& [key, value] : first) all.Add(0, key, value);
  for (const auto& [key, value] : second) all.Add(0, key, value);
  auto one = reference.Launch();
  one->Start(all);
  reference.loop.RunFor(10ms);
  std::vector<std::string> expected = reference.AllIds();
  EXPECT_EQ(unique, std::set<std::string>(expected.begin(), expected.end()));
}

TEST(EventTimeWatermarkTest, IsTheSlowestPartitionWithABacklog) {
  FakeEventSource source(2);
  for (int i = 0; i < 2; ++i) {
    source.Add(0, "a", "a");
    source.Add(1, "b", "b");
  }
  daemon::EventTimeWatermark watermark;
  EXPECT_EQ(watermark.Value(source), std::nullopt);
  watermark.Observe(0, kT0);
  EXPECT_EQ(watermark.Value(source), std::nullopt) << "partition 1 has shown nothing yet";
  watermark.Observe(1, kT0 + 1h);
  EXPECT_EQ(watermark.Value(source), kT0);
  source.Poll(2, [](const streams::KafkaMessage&) {});  // one from each
  source.Poll(1, [](const streams::KafkaMessage&) {});  // partition 0 is at its end
  EXPECT_EQ(watermark.Value(source), kT0 + 1h) << "a partition at its end holds nobody back";
  source.Poll(1, [](const streams::KafkaMessage&) {});
  EXPECT_EQ(watermark.Value(source), std::nullopt) << "no backlog: the wall clock takes over";
}

}  // namespace
}  // namespace ontime::testing
