// The live path in-process, on simulated time, wired as the Daemon wires it: messages go onto fake
// partitions, the loop runs for a while, transactions commit (or are retried, or aborted), an
// instance is killed and another restores the state from the changelog. No broker and no sleep;
// the real-broker tests in tests/integration stay the proof on top.
// Rules: a 24/7 calendar in UTC; procedure P has a 2h budget, is at risk 20m before its due, and
// a breach proposes a new due 1h later.

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <stdexcept>

#include "fakes/live_fakes.h"
#include "ontime/daemon/changelog_state.h"
#include "ontime/daemon/checkpoint.h"
#include "ontime/daemon/checkpoint_refresher.h"
#include "ontime/daemon/letter_store.h"
#include "ontime/daemon/listeners.h"
#include "ontime/daemon/live_processor.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/output_writer.h"
#include "ontime/daemon/transactor.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/streams/partitioner.h"

namespace ontime::testing {
namespace {

using namespace std::chrono_literals;

const Instant kT0 = *ParseRfc3339("2026-03-02T09:00:00Z");

std::shared_ptr<const rules::CompiledRules> Rules(
    std::optional<rules::PredictConfig> predict = std::nullopt) {
  rules::RulesConfig c;
  c.predict = std::move(predict);
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

constexpr std::string_view kChangelog = "ontimed.dossier-state";
constexpr std::string_view kAlerts = "dossier.sla.alerts";
constexpr std::string_view kLetters = "dossier.apology-letters";

// What outlives a daemon instance: the wall clock, the broker (outputs, changelog, the group's
// offsets), the input partitions.
class World {
 public:
  // One running instance of the live path over the fakes, as the Daemon wires it.
  struct Instance {
    Instance(World& t, Duration max_age)
        : world(t),
          work(t.loop),
          metrics(registry, ONTIME_TEST_VERSION),
          engine_metrics(registry, *t.rules),
          transactor(t.loop, t.kafka, work, metrics, log,
                     daemon::Transactor::Hooks{[this] { return state->Collect(); },
                                               [this](const std::string& why) { Recover(why); },
                                               [this](const std::string& why) { fatal = why; },
                                               [this] { return LettersWritten(); }}),
          writer(transactor, t.loop.clock(), log, [](const std::string&) {}),
          fresh(t.loop.clock(), log, metrics, writer),
          reader(t.kafka, std::string(kChangelog)) {
      writer.set_calendar(&t.rules->calendar());
      fresh.set_max_age(max_age);
      letters = daemon::LetterStore::Open(t.letters_file, 100).value();
      letters->set_calendar(&t.rules->calendar());
      listeners.Add(&engine_metrics);
      listeners.Add(&fresh);
      listeners.Add(letters.get());
      engine = std::make_unique<rules::Engine>(t.rules, &listeners);
      engine->TrackChanges(true);
      engine->set_retention(std::chrono::hours(24 * 30));
      processor = std::make_unique<daemon::LiveProcessor>(
          t.loop, *engine, transactor, writer, metrics, log,
          daemon::LiveProcessor::Hooks{
              [] {}, [this](const std::string& why) { fatal = why; },
              [this](int32_t p, int64_t next) { transactor.Consumed(p, next); },
              [this] { return transactor.accepting(); }, [this] { state->Collect(); },
              [this](std::chrono::steady_clock::time_point at) {
                transactor.set_input_taken_at(at);
              }});
      processor->set_max_clock_skew(5min);
      state = std::make_unique<daemon::ChangelogState>(
          t.loop, *engine, transactor, reader, work, metrics, log, std::string(kChangelog),
          daemon::ChangelogState::Hooks{[this](int32_t p) { source->Pause(p); },
                                        [this](int32_t p) { source->Resume(p); },
                                        [this](int32_t p) { processor->ForgetPartition(p); },
                                        {},
                                        {},
                                        {}});
      if (!t.checkpoint_dir.empty()) {
        checkpoints = std::make_unique<daemon::CheckpointStore>(
            t.checkpoint_dir, std::string(kChangelog), std::chrono::hours(24));
        state->set_checkpoints(checkpoints.get());
        refresher = std::make_unique<daemon::CheckpointRefresher>(
            t.loop, *checkpoints, reader, work, metrics, log,
            [this] { return state->restored_partitions(); });
      }
    }
    // Consumes `input` from the group's committed offsets, once each partition's state is
    // restored from the changelog.
    void Start(FakeEventSource& input) {
      source = &input;
      std::map<int32_t, int64_t> from;
      for (int32_t p : input.assignment()) {
        auto it = world.kafka.group_offsets.find(p);
        from[p] = it == world.kafka.group_offsets.end() ? 0 : it->second;
      }
      input.StartAt(from);
      ASSERT_TRUE(transactor.Start().ok());
      state->OnAssigned(input.assignment());  // as a consumer's first poll does, before messages
      processor->Start(input);
    }
    // What the Daemon does after an aborted transaction: drop, seek back to the committed
    // offsets, restore.
    void Recover(const std::string& why) {
      aborted = why;
      std::vector<int32_t> partitions(state->assigned().begin(), state->assigned().end());
      state->Drop(partitions);
      std::map<int32_t, int64_t> from;
      for (int32_t p : partitions) {
        auto it = world.kafka.group_offsets.find(p);
        from[p] = it == world.kafka.group_offsets.end() ? 0 : it->second;
      }
      source->StartAt(from);
      state->Restore(partitions);
    }
    // The transaction's wait for the letters, as the Daemon hooks it; each records the commits
    // done when it returned.
    std::function<void()> LettersWritten() {
      return [this, written = letters->WrittenBarrier()] {
        written();
        letters_written_at.push_back(world.kafka.commits);
      };
    }
    // SIGKILL: the open transaction is lost with the process.
    void Kill() {
      processor->Stop();
      transactor.Stop();
      world.kafka.Crash();
    }

    World& world;
    InlineWork work;
    std::stringstream log_text;
    daemon::Logger log{log_text, "debug"};
    prometheus::Registry registry;
    daemon::DaemonMetrics metrics;
    daemon::EngineMetrics engine_metrics;
    daemon::Transactor transactor;
    daemon::OutputWriter writer;
    daemon::FreshOutputs fresh;
    daemon::ListenerFanOut listeners;
    std::unique_ptr<daemon::LetterStore> letters;
    std::vector<int> letters_written_at;
    FakeChangelogReader reader;
    std::unique_ptr<rules::Engine> engine;
    std::unique_ptr<daemon::LiveProcessor> processor;
    std::unique_ptr<daemon::ChangelogState> state;
    std::unique_ptr<daemon::CheckpointStore> checkpoints;  // with World::checkpoint_dir
    std::unique_ptr<daemon::CheckpointRefresher> refresher;
    FakeEventSource* source = nullptr;
    std::string aborted;
    std::string fatal;
  };

  std::unique_ptr<Instance> Launch(Duration max_age = std::chrono::hours(24 * 365)) {
    return std::make_unique<Instance>(*this, max_age);
  }

  // Alert and letter ids as a read_committed consumer sees them, in order.
  std::vector<std::string> CommittedIds() const {
    std::vector<std::string> ids;
    for (const Produced& p : kafka.committed) {
      if (p.topic == kAlerts) ids.push_back(JsonField(p.value, "alert_id"));
      if (p.topic == kLetters) ids.push_back(JsonField(p.value, "letter_id"));
    }
    return ids;
  }

  std::shared_ptr<const rules::CompiledRules> rules = Rules();
  std::string letters_file;    // the instances' letters on disk; empty: in memory
  std::string checkpoint_dir;  // the instances' local checkpoints; empty: none
  SimulatedEventLoop loop{kT0};
  FakeKafka kafka;
};

class LivePathTest : public ::testing::Test, public World {};

TEST_F(LivePathTest, OutputsChangelogAndOffsetsAreCommittedTogether) {
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0 - 150min));  // due 08:30, at risk 08:10: both past
  source.Add(1, "B", Accepted("B", kT0 - 10min));
  source.Add(0, "X", "{bad json");
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(50ms);
  EXPECT_TRUE(kafka.committed.empty()) << "nothing is visible before the first commit";
  EXPECT_EQ(daemon->engine->dossiers_tracked(), 2u);

  loop.RunFor(100ms);
  EXPECT_EQ(kafka.commits, 1);
  EXPECT_EQ(kafka.group_offsets, (std::map<int32_t, int64_t>{{0, 2}, {1, 1}}));
  EXPECT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1"}));
  auto dead = kafka.Committed("dossier.events.dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, "{bad json");
  EXPECT_EQ(dead[0].Header("error.reason"), "invalid_json");
  EXPECT_EQ(dead[0].Header("source.offset"), "1");
  // Records of the dossiers changed, on the partition their events came on (a dossier's record is
  // written again when it changes again: compaction keeps the last).
  auto records = kafka.Committed(std::string(kChangelog));
  std::map<std::string, int32_t> partition_of;
  for (const Produced& r : records) partition_of[r.key] = r.partition;
  EXPECT_EQ(partition_of, (std::map<std::string, int32_t>{{"A", 0}, {"B", 1}}));
  EXPECT_GE(records.size(), 2u);
  EXPECT_LE(records.size(), 4u);

  loop.RunFor(1s);
  EXPECT_EQ(kafka.commits, 1) << "nothing happened: no empty transactions";
}

TEST_F(LivePathTest, TheWallClockFiresEachTimerAtItsInstant) {
  FakeEventSource source(1);
  source.Add(0, "A", Accepted("A", kT0));  // at risk 10:40, due 11:00
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunUntil(kT0 + 100min);
  EXPECT_TRUE(CommittedIds().empty()) << "timers fire strictly after their instant";
  loop.RunFor(101ms);  // the timer, then the next commit
  EXPECT_EQ(CommittedIds(), std::vector<std::string>{"A:at_risk:1"});
  EXPECT_EQ(JsonField(kafka.Committed(std::string(kAlerts))[0].value, "detected_at"),
            "2026-03-02T10:40:00+00:00");
  loop.RunUntil(kT0 + 2h + 101ms);
  EXPECT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1"}));
}

TEST_F(LivePathTest, AFutureEventIsDeadLetteredAndMovesNoClock) {
  FakeEventSource source(1);
  source.Add(0, "F", Accepted("F", kT0 + 1h));
  source.Add(0, "G", Accepted("G", kT0 + 4min));  // within ingest.max_clock_skew
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(150ms);
  auto dead = kafka.Committed("dossier.events.dlq");
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
  loop.RunFor(150ms);
  ASSERT_FALSE(CommittedIds().empty());
  for (const Produced& p : kafka.committed) {
    if (p.topic != kAlerts && p.topic != kLetters) continue;
    const std::string at = JsonField(p.value, p.topic == kAlerts ? "detected_at" : "issued_at");
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

// A commit the broker cannot take yet is retried; what the loop derives meanwhile is held and
// goes into the next transaction: nothing lost, nothing doubled.
TEST_F(LivePathTest, ARetriedCommitHoldsTheNextOutputsAndLosesNothing) {
  FakeEventSource source(1);
  source.Add(0, "A", Accepted("A", kT0 - 150min));
  auto daemon = Launch();
  daemon->Start(source);
  kafka.retry_commits = 3;
  loop.RunFor(150ms);
  EXPECT_TRUE(daemon->transactor.committing());
  source.Add(0, "B", Accepted("B", kT0 - 140min));  // derived while the commit is retried
  loop.RunFor(2s);
  EXPECT_FALSE(daemon->transactor.committing());
  EXPECT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1", "B:at_risk:1",
                                      "B:overdue:1", "B:apology:1"}));
  EXPECT_EQ(kafka.group_offsets, (std::map<int32_t, int64_t>{{0, 2}}));
  const std::string metrics = daemon::SerializeMetrics(daemon->registry);
  EXPECT_NE(metrics.find("ontime_transactions_total{outcome=\"retried\"} 3"), std::string::npos);
  // A's outputs went to the producer as A was applied; B's waited for the retried commit.
  EXPECT_NE(metrics.find("ontime_output_delay_seconds_count 6"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("ontime_output_delay_seconds_bucket{le=\"0.00025\"} 3"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ontime_output_delay_seconds_bucket{le=\"0.1\"} 3"), std::string::npos)
      << metrics;
}

// An aborted transaction is invisible; the instance then drops what it derived, goes back to the
// committed offsets and state, and derives it again: committed once, as if nothing happened.
TEST_F(LivePathTest, AnAbortedTransactionIsInvisibleAndItsWorkIsDoneAgainOnce) {
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0 - 150min));
  source.Add(1, "B", Accepted("B", kT0 - 10min));
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(150ms);
  ASSERT_EQ(kafka.commits, 1);
  source.Add(0, "C", Accepted("C", kT0 - 140min));
  source.Add(1, "B", Resolved("B", kT0 - 5min));
  kafka.abort_next = true;
  loop.RunFor(100ms);
  EXPECT_EQ(daemon->aborted, "the transaction timed out");
  EXPECT_EQ(kafka.group_offsets, (std::map<int32_t, int64_t>{{0, 1}, {1, 1}}))
      << "the aborted transaction's offsets are not committed";
  loop.RunFor(500ms);
  EXPECT_EQ(kafka.group_offsets, (std::map<int32_t, int64_t>{{0, 2}, {1, 2}}));
  EXPECT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1", "C:at_risk:1",
                                      "C:overdue:1", "C:apology:1"}));
  auto view = daemon->engine->Find("B", kT0);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->state, rules::DossierState::kResolved) << "B's close derived again";
}

// A partition comes back from its changelog before any of its input is read: its dossiers, their
// seen event ids and timers; the timers then fire on the wall clock as if it had never moved.
TEST_F(LivePathTest, ARestartRestoresFromTheChangelogAndFiresTimersAsBefore) {
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0 - 10min));  // at risk 10:30, due 10:50
  source.Add(1, "B", Accepted("B", kT0));          // at risk 10:40, due 11:00
  {
    auto daemon = Launch();
    daemon->Start(source);
    loop.RunFor(150ms);
    ASSERT_EQ(kafka.commits, 1);
    daemon->Kill();
  }
  source.Add(1, "B", Accepted("B", kT0));  // an upstream duplicate, after the restart
  auto restored = Launch();
  restored->Start(source);
  EXPECT_EQ(restored->state->restoring(), 2u);
  loop.RunFor(50ms);
  EXPECT_EQ(restored->state->restoring(), 0u);
  EXPECT_EQ(restored->engine->dossiers_tracked(), 2u);
  EXPECT_EQ(restored->state->restored_dossiers(), 2u);
  EXPECT_EQ(restored->processor->events(), 1u) << "only the message after the committed offset";
  EXPECT_NE(daemon::SerializeMetrics(restored->registry)
                .find("ontime_events_skipped_total{reason=\"duplicate\"} 1"),
            std::string::npos);
  loop.RunUntil(kT0 + 2h + 101ms);
  EXPECT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "B:at_risk:1", "A:overdue:1", "A:apology:1",
                                      "B:overdue:1", "B:apology:1"}));
  EXPECT_EQ(JsonField(kafka.Committed(std::string(kAlerts))[0].value, "detected_at"),
            "2026-03-02T10:30:00+00:00");
}

// "The loop never blocks": a large state changelogged and committed (with a commit held up
// meanwhile, so that outputs pile up behind it), then restored by another instance. Counted per
// loop turn, not timed: no turn handles more than a poll batch of events, a thousand records
// into the transaction or a thousand restored dossiers, however large the state.
TEST_F(LivePathTest, NoLoopTurnHandlesTheWholeState) {
  constexpr int kDossiers = 200000;
  constexpr uint64_t kPollBatch = daemon::LiveProcessor::kPollBatch;
  FakeEventSource source(2);
  auto add = [&source](int from, int to) {
    for (int n = from; n < to; ++n) {
      const std::string id = "S" + std::to_string(n);
      source.Add(n % 2, id, Accepted(id, kT0 - 1min));
    }
  };
  struct Turns {
    uint64_t events = 0;
    uint64_t produced = 0;
    size_t dossiers = 0;
    uint64_t most_events = 0;
    uint64_t most_produced = 0;
    size_t most_dossiers = 0;
    size_t most_held = 0;
    int count = 0;
  } turns;
  World::Instance* current = nullptr;
  loop.after_turn = [&] {
    const uint64_t events = current->processor->events();
    const size_t dossiers = current->engine->dossiers_tracked();
    turns.most_events = std::max(turns.most_events, events - turns.events);
    turns.most_produced = std::max(turns.most_produced, kafka.produce_calls - turns.produced);
    turns.most_dossiers =
        std::max(turns.most_dossiers,
                 dossiers > turns.dossiers ? dossiers - turns.dossiers : turns.dossiers - dossiers);
    turns.most_held = std::max(turns.most_held, current->transactor.in_flight());
    turns.events = events;
    turns.produced = kafka.produce_calls;
    turns.dossiers = dossiers;
    ++turns.count;
  };

  auto daemon = Launch();
  current = daemon.get();
  add(0, 1000);
  daemon->Start(source);
  kafka.retry_commits = 5;
  loop.RunFor(150ms);  // the first commit began, and waits a second for the broker
  ASSERT_TRUE(daemon->transactor.committing());
  add(1000, kDossiers);
  loop.RunFor(30s);
  EXPECT_EQ(daemon->processor->events(), static_cast<uint64_t>(kDossiers));
  EXPECT_EQ(daemon->engine->dossiers_tracked(), static_cast<size_t>(kDossiers));
  EXPECT_EQ(kafka.group_offsets,
            (std::map<int32_t, int64_t>{{0, kDossiers / 2}, {1, kDossiers / 2}}));
  EXPECT_EQ(daemon->transactor.in_flight(), 0u);
  EXPECT_GE(turns.most_held, daemon::Transactor::kMaxHeld) << "outputs piled up behind the commit";
  EXPECT_LE(turns.most_events, kPollBatch);
  EXPECT_LE(turns.most_produced, daemon::Transactor::kHeldPerTurn);
  EXPECT_LE(turns.most_dossiers, kPollBatch);
  std::set<std::string> in_changelog;
  for (const Produced& p : kafka.Committed(std::string(kChangelog))) in_changelog.insert(p.key);
  EXPECT_EQ(in_changelog.size(), static_cast<size_t>(kDossiers)) << "every dossier committed";
  daemon->Kill();

  auto restored = Launch();
  current = restored.get();
  turns = {};
  turns.produced = kafka.produce_calls;
  restored->Start(source);  // the changelog is read on the (inline) worker, loaded on the loop
  loop.RunFor(1s);
  EXPECT_EQ(restored->engine->dossiers_tracked(), static_cast<size_t>(kDossiers));
  EXPECT_EQ(restored->state->restored_dossiers(), static_cast<uint64_t>(kDossiers));
  EXPECT_EQ(restored->processor->events(), 0u) << "every event was committed with its state";
  EXPECT_LE(turns.most_dossiers, daemon::PartitionRestorer::kRecordsPerTurn);
  EXPECT_GE(turns.count, kDossiers / static_cast<int>(daemon::PartitionRestorer::kRecordsPerTurn));
  EXPECT_EQ(turns.most_produced, 0u) << "restoring is no change to write back";
  loop.after_turn = {};
}

// Local checkpoints (state.checkpoint_interval): each instance's checkpoints in a fresh folder.
class CheckpointedLivePathTest : public LivePathTest {
 protected:
  void SetUp() override {
    checkpoint_dir = (std::filesystem::temp_directory_path() /
                      ("ontime-live-ckpt-" + std::to_string(::getpid()) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                         .string();
    std::filesystem::remove_all(checkpoint_dir);
  }
  void TearDown() override { std::filesystem::remove_all(checkpoint_dir); }

  int64_t ChangelogEnd(int32_t partition) const {
    int64_t end = 0;
    for (const Produced& p : kafka.Committed(std::string(kChangelog)))
      end += p.partition == partition;
    return end;
  }
  // What an engine holds of a dossier, for comparing two restores.
  static std::string Held(const rules::Engine& engine, const std::string& id, Instant now) {
    auto v = engine.Find(id, now);
    if (!v) return id + ": none";
    return id + ": state " + std::to_string(static_cast<int>(v->state)) + " due " + Utc(v->due_at) +
           " closed " + (v->closed_at ? Utc(*v->closed_at) : "-") + " cycle " +
           std::to_string(v->cycle) + (v->at_risk ? " at_risk" : "") +
           (v->overdue ? " overdue" : "");
  }
};

// A checkpoint refreshed, then changes in the changelog's tail (a dossier changed, one that
// leaves the state with a tombstone, a new one): the restart reads the file and the tail only,
// holds what a whole read holds, and fires the same timers.
TEST_F(CheckpointedLivePathTest, ARestoreFromACheckpointAndItsTailEqualsAWholeRead) {
  FakeEventSource source(1);
  source.Add(0, "C", Accepted("C", kT0 - std::chrono::hours(24 * 60)));  // first: not too old
  source.Add(0, "A", Accepted("A", kT0 - 10min));                        // at risk 10:30, due 10:50
  source.Add(0, "B", Accepted("B", kT0));
  auto first = Launch();
  first->Start(source);
  loop.RunFor(150ms);
  ASSERT_EQ(kafka.commits, 1);
  first->refresher->RefreshNow();  // inline work: the tail read and the merge, then done
  loop.RunUntilIdle();
  auto checkpoint = daemon::ReadCheckpointHeader(first->checkpoints->Path(0));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message;
  EXPECT_EQ(checkpoint->offset, ChangelogEnd(0));
  EXPECT_EQ(checkpoint->records, 3u);

  source.Add(0, "B", Resolved("B", kT0));                                // changed
  source.Add(0, "C", Resolved("C", kT0 - std::chrono::hours(24 * 59)));  // leaves
  source.Add(0, "D", Accepted("D", kT0));                                // new
  loop.RunFor(150ms);
  ASSERT_EQ(kafka.commits, 2);
  auto changelog = kafka.Committed(std::string(kChangelog));
  ASSERT_TRUE(std::any_of(changelog.begin(), changelog.end(), [](const Produced& p) {
    return p.key == "C" && p.null_value;
  })) << "C's tombstone is in the tail";
  first->Kill();
  const size_t before_restart = CommittedIds().size();

  auto restored = Launch();
  restored->Start(source);
  loop.RunFor(50ms);
  EXPECT_EQ(restored->state->restoring(), 0u);
  EXPECT_EQ(restored->reader.froms, std::vector<int64_t>{checkpoint->offset}) << "the tail only";
  const std::string metrics = daemon::SerializeMetrics(restored->registry);
  EXPECT_NE(metrics.find("ontime_restore_source_total{source=\"checkpoint\"} 1"),
            std::string::npos);
  EXPECT_NE(restored->log_text.str().find("partition read from its checkpoint"), std::string::npos);

  checkpoint_dir.clear();  // an instance without checkpoints: the whole changelog read
  auto whole = Launch();
  whole->source = &source;
  whole->state->OnAssigned({0});
  loop.RunFor(50ms);
  EXPECT_EQ(whole->reader.froms, std::vector<int64_t>{daemon::ChangelogReader::kBeginning});
  EXPECT_EQ(restored->engine->dossiers_tracked(), 3u);
  EXPECT_EQ(whole->engine->dossiers_tracked(), 3u);
  for (const std::string id : {"A", "B", "C", "D"}) {
    EXPECT_EQ(Held(*restored->engine, id, loop.clock().Now()),
              Held(*whole->engine, id, loop.clock().Now()));
  }
  EXPECT_EQ(Held(*restored->engine, "C", loop.clock().Now()), "C: none");

  loop.RunUntil(kT0 + 2h + 101ms);
  auto ids = CommittedIds();
  EXPECT_EQ(std::vector<std::string>(ids.begin() + static_cast<long>(before_restart), ids.end()),
            (std::vector<std::string>{"A:at_risk:1", "D:at_risk:1", "A:overdue:1", "A:apology:1",
                                      "D:overdue:1", "D:apology:1"}));
}

// A lost checkpoint costs only restore time: cut short, it is refused with its reason and the
// whole partition is read; at an offset the changelog no longer has (records deleted before it),
// the tail read fails and the whole partition is read. Each restore writes a good checkpoint.
TEST_F(CheckpointedLivePathTest, ACheckpointThatCannotBeUsedCostsOnlyAWholeRead) {
  FakeEventSource source(1);
  for (const std::string id : {"A", "B", "C"}) source.Add(0, id, Accepted(id, kT0));
  auto first = Launch();
  first->Start(source);
  loop.RunFor(150ms);
  first->refresher->RefreshNow();
  loop.RunUntilIdle();
  first->Kill();
  const std::string path = first->checkpoints->Path(0);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);

  auto second = Launch();
  second->Start(source);
  loop.RunFor(50ms);
  EXPECT_EQ(second->engine->dossiers_tracked(), 3u);
  EXPECT_EQ(second->reader.froms, std::vector<int64_t>{daemon::ChangelogReader::kBeginning});
  const std::string log = second->log_text.str();
  EXPECT_NE(log.find("checkpoint not used: the whole changelog partition read"), std::string::npos)
      << log;
  EXPECT_NE(log.find("cut short"), std::string::npos) << log;
  EXPECT_NE(daemon::SerializeMetrics(second->registry)
                .find("ontime_restore_source_total{source=\"changelog\"} 1"),
            std::string::npos);
  auto rewritten = daemon::ReadCheckpointHeader(path);
  ASSERT_TRUE(rewritten.ok()) << "the restore's table written as the new checkpoint";
  EXPECT_EQ(rewritten->offset, ChangelogEnd(0));
  EXPECT_EQ(rewritten->records, 3u);
  second->Kill();

  source.Add(0, "D", Accepted("D", kT0));  // after the checkpoint: its tail
  auto fourth_dossier = Launch();
  fourth_dossier->Start(source);
  loop.RunFor(150ms);
  ASSERT_EQ(fourth_dossier->engine->dossiers_tracked(), 4u);
  fourth_dossier->Kill();
  ASSERT_TRUE(daemon::ReadCheckpointHeader(path).ok());
  const int64_t offset = daemon::ReadCheckpointHeader(path)->offset;
  ASSERT_LT(offset, ChangelogEnd(0));

  auto third = Launch();
  third->reader.log_start[0] = offset + 1;  // the records before deleted (kafka-delete-records)
  third->Start(source);
  loop.RunFor(50ms);
  EXPECT_EQ(third->reader.froms,
            (std::vector<int64_t>{offset, daemon::ChangelogReader::kBeginning}));
  EXPECT_NE(third->log_text.str().find("the changelog has no offset"), std::string::npos);
}

// "The loop-stall histogram stays under its bound while a large state is checkpointed": 200 000
// dossiers restored, their checkpoint written, then refreshed after more changes, with the
// worker's work run beside the loop (DeferredWork). Counted, not timed (a timed bound fails on a
// loaded or sanitized build): no loop turn loads more than a turn's budget of records, and the
// checkpoint file is never written during a loop turn (the writes, the sorting and the merge are
// the worker's).
TEST_F(CheckpointedLivePathTest, CheckpointingALargeStateTakesNoLoopTime) {
  constexpr int kDossiers = 200000;
  FakeEventSource source(1);
  for (int n = 0; n < kDossiers; ++n) {
    const std::string id = "S" + std::to_string(n);
    source.Add(0, id, Accepted(id, kT0 - 1min));
  }
  const std::string dir = checkpoint_dir;
  checkpoint_dir.clear();
  auto first = Launch();  // no checkpoints: writes the changelog only
  first->Start(source);
  loop.RunFor(30s);
  ASSERT_EQ(first->engine->dossiers_tracked(), static_cast<size_t>(kDossiers));
  first->Kill();

  // The restorer and refresher as the Daemon wires them, on a worker beside the loop.
  auto log_text = std::make_unique<std::stringstream>();
  daemon::Logger log(*log_text, "info");
  prometheus::Registry registry;
  daemon::DaemonMetrics metrics(registry, ONTIME_TEST_VERSION);
  rules::Engine engine(rules, nullptr);
  DeferredWork work(loop);
  FakeChangelogReader reader(kafka, std::string(kChangelog));
  daemon::CheckpointStore store(dir, std::string(kChangelog), std::chrono::hours(24));
  bool restored = false;
  daemon::PartitionRestorer restorer(loop, engine, reader, work, metrics, log,
                                     {[&restored](int32_t) { restored = true; }, {}, {}});
  restorer.set_checkpoints(&store);
  daemon::CheckpointRefresher refresher(loop, store, reader, work, metrics, log,
                                        [] { return std::set<int32_t>{0}; });
  size_t turns = 0;
  size_t most_loaded = 0;
  size_t held = 0;
  loop.after_turn = [&] {
    ++turns;
    most_loaded = std::max(most_loaded, engine.dossiers_tracked() - held);
    held = engine.dossiers_tracked();
  };
  // What the checkpoint file is (size and time written), to see whether a loop turn wrote it.
  auto file_state = [&] {
    std::error_code error;
    const auto size = std::filesystem::file_size(store.Path(0), error);
    const auto written = std::filesystem::last_write_time(store.Path(0), error);
    return std::make_pair(error ? 0 : size, written);
  };
  size_t checkpoint_written_on_the_loop = 0;
  auto run_loop = [&] {
    const auto before = file_state();
    loop.RunUntilIdle();
    checkpoint_written_on_the_loop += file_state() != before;
  };
  // The loop's turns, then the worker's work, in turn until neither has anything left.
  auto run = [&] {
    do {
      run_loop();
    } while (work.RunAll() > 0);
    run_loop();
  };
  restorer.Restore(0);
  run();
  ASSERT_TRUE(restored);
  EXPECT_EQ(engine.dossiers_tracked(), static_cast<size_t>(kDossiers));
  auto written = daemon::ReadCheckpointHeader(store.Path(0));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->records, static_cast<uint64_t>(kDossiers));

  // More changes in the changelog (one in ten dossiers resolved), then a refresh: the merge.
  ASSERT_TRUE(kafka.Begin().ok());
  for (int n = 0; n < kDossiers; n += 10) {
    ASSERT_TRUE(
        kafka.ProduceState(std::string(kChangelog), 0, "S" + std::to_string(n), std::nullopt).ok());
  }
  ASSERT_EQ(kafka.Commit({}).outcome, daemon::TransactionalProducer::Outcome::kCommitted);
  refresher.RefreshNow();
  run();
  auto refreshed = daemon::ReadCheckpointHeader(store.Path(0));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->records, static_cast<uint64_t>(kDossiers - kDossiers / 10));
  EXPECT_GT(refreshed->offset, written->offset);
  loop.after_turn = {};

  EXPECT_GE(turns, static_cast<size_t>(kDossiers) / daemon::PartitionRestorer::kRecordsPerTurn);
  EXPECT_LE(most_loaded, daemon::PartitionRestorer::kRecordsPerTurn);
  EXPECT_EQ(checkpoint_written_on_the_loop, 0u) << "written twice, both times by the worker";
}

// While the input is not consumed (here a partition paused, as for its restore), a timer already
// due waits for it without spinning the loop on a 0 ms timer: a bounded number of turns.
TEST_F(LivePathTest, ADueTimerWaitsForTheInputWithoutSpinning) {
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0 + 1s - 100min));  // at risk at kT0 + 1 s
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(150ms);
  ASSERT_TRUE(daemon->processor->caught_up_once());
  source.Pause(1);
  int turns = 0;
  loop.after_turn = [&turns] {
    if (++turns > 100000) throw std::runtime_error("the loop spins");
  };
  EXPECT_NO_THROW(loop.RunFor(3s));
  loop.after_turn = {};
  EXPECT_LT(turns, 3000) << "a poll and a timer look every 5 ms, no more";
  EXPECT_TRUE(CommittedIds().empty()) << "the timer waits for the input";
  source.Resume(1);
  loop.RunFor(200ms);
  EXPECT_EQ(CommittedIds(), std::vector<std::string>{"A:at_risk:1"});
  EXPECT_EQ(JsonField(kafka.Committed(std::string(kAlerts))[0].value, "detected_at"),
            "2026-03-02T09:00:01+00:00");
}

TEST_F(LivePathTest, ARevokedPartitionIsCommittedThenDropped) {
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0));
  source.Add(1, "B", Accepted("B", kT0));
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(20ms);
  EXPECT_EQ(kafka.commits, 0);
  daemon->state->OnRevoked({1});
  EXPECT_EQ(kafka.commits, 1) << "committed before it goes";
  EXPECT_EQ(kafka.group_offsets, (std::map<int32_t, int64_t>{{0, 1}, {1, 1}}));
  EXPECT_FALSE(daemon->engine->Find("B", kT0).has_value());
  loop.RunFor(1ms);  // freed in a later turn
  EXPECT_EQ(daemon->engine->dossiers_tracked(), 1u);
  daemon->state->OnAssigned({1});  // back again: restored from its changelog
  loop.RunFor(20ms);
  EXPECT_TRUE(daemon->engine->Find("B", kT0).has_value());
}

// A rebalance giving a large partition away: it is gone at once (no alert of its dossiers, no
// changelog record for them, the API does not find them), and its dossiers are freed over
// several loop turns, never more than a turn's budget in one.
TEST_F(LivePathTest, ARevokedPartitionIsFreedOverSeveralTurns) {
  constexpr size_t kDossiers = 5000;
  const size_t per_turn = daemon::ChangelogState::kReleaseWorkPerTurn / rules::Engine::kFreeCost;
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0));
  for (size_t n = 0; n < kDossiers; ++n) {
    const std::string id = "R" + std::to_string(n);
    source.Add(1, id, Accepted(id, kT0));
  }
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(50ms);
  ASSERT_EQ(daemon->engine->dossiers_in(1), kDossiers);
  daemon->state->OnRevoked({1});  // commits what came before: their accepts
  const size_t records_before = kafka.Committed(std::string(kChangelog)).size();
  EXPECT_FALSE(daemon->engine->Find("R7", kT0).has_value());
  size_t most = 0;
  int turns_freeing = 0;
  size_t held = daemon->engine->dossiers_in(1);
  loop.after_turn = [&] {
    const size_t now_held = daemon->engine->dossiers_in(1);
    most = std::max(most, held - now_held);
    if (now_held < held) ++turns_freeing;
    held = now_held;
  };
  loop.RunUntil(kT0 + 2h + 1s);  // A's at-risk and overdue alerts; none of partition 1's
  loop.after_turn = {};
  EXPECT_EQ(daemon->engine->dossiers_in(1), 0u);
  EXPECT_LE(most, per_turn);
  EXPECT_GE(turns_freeing, static_cast<int>(kDossiers / per_turn));
  loop.RunFor(1s);
  EXPECT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1"}));
  const std::vector<Produced> records = kafka.Committed(std::string(kChangelog));
  for (size_t r = records_before; r < records.size(); ++r) {
    EXPECT_NE(records[r].partition, 1) << "a record for a dossier given away: " << records[r].key;
  }
  EXPECT_GT(records.size(), records_before) << "A's changes";
  daemon->Kill();
}

// Producers that partition differently from kafka.input_partitioner: each event on another
// partition than its key's is counted, the first logged with what to do; the events are still
// applied (their state is right; only the API's forwarding would look elsewhere).
TEST_F(LivePathTest, AnEventOnAnotherPartitionThanItsKeysIsCountedAndLogged) {
  auto key_on = [](int32_t partition, int n) {
    for (;; ++n) {
      const std::string key = "K" + std::to_string(n);
      if (streams::PartitionForKey(key, 2, streams::Partitioner::kConsistentRandom) == partition) {
        return key;
      }
    }
  };
  const std::string right = key_on(0, 0);
  const std::string wrong = key_on(0, 100);
  const std::string also_wrong = key_on(1, 200);
  FakeEventSource source(2);
  source.Add(0, right, Accepted(right, kT0));
  source.Add(1, wrong, Accepted(wrong, kT0));
  source.Add(0, also_wrong, Accepted(also_wrong, kT0));
  auto daemon = Launch();
  daemon->processor->CheckPartitioning(streams::Partitioner::kConsistentRandom, 2);
  daemon->Start(source);
  loop.RunFor(20ms);
  EXPECT_NE(daemon::SerializeMetrics(daemon->registry).find("ontime_events_misrouted_total 2"),
            std::string::npos);
  const std::string log = daemon->log_text.str();
  EXPECT_NE(log.find("an event arrived on another partition than its key's"), std::string::npos)
      << log;
  EXPECT_NE(log.find("key=" + wrong), std::string::npos) << log;
  EXPECT_EQ(log.find("key=" + also_wrong), std::string::npos) << "one line a minute: " << log;
  EXPECT_EQ(log.find("key=" + right), std::string::npos) << log;
  EXPECT_TRUE(daemon->engine->Find(wrong, kT0).has_value()) << "applied all the same";
  daemon->Kill();
}

// A breach wave: thousands of dossiers due in the same millisecond go out over several loop
// turns, never more than a turn's budget of timers in one, each alert still detected at its
// instant, each once.
TEST_F(LivePathTest, ABreachWaveGoesOutOverSeveralTurns) {
  constexpr size_t kDossiers = 5000;
  constexpr size_t kBudget = daemon::LiveProcessor::kTimersPerTurn;
  FakeEventSource source(1);
  for (size_t n = 0; n < kDossiers; ++n) {
    const std::string id = "W" + std::to_string(n);
    source.Add(0, id, Accepted(id, kT0));
  }
  struct Counter : rules::EngineListener {
    void OnAlert(const rules::Alert&) override { ++alerts; }
    size_t alerts = 0;
  } counter;
  auto daemon = Launch();
  daemon->listeners.Add(&counter);
  size_t seen = 0;
  size_t most = 0;
  int turns_with_alerts = 0;
  loop.after_turn = [&] {
    most = std::max(most, counter.alerts - seen);
    if (counter.alerts > seen) ++turns_with_alerts;
    seen = counter.alerts;
  };
  daemon->Start(source);
  loop.RunUntil(kT0 + 2h + 1s);  // at risk at 10:40, overdue at 11:00, for all of them
  loop.after_turn = {};
  EXPECT_EQ(counter.alerts, 2 * kDossiers);
  EXPECT_LE(most, kBudget);
  EXPECT_GE(turns_with_alerts, static_cast<int>(2 * kDossiers / kBudget));
  loop.RunFor(1s);  // the last commit
  std::set<std::string> overdue;
  for (const Produced& p : kafka.Committed(std::string(kAlerts))) {
    if (JsonField(p.value, "kind") != "overdue") continue;
    EXPECT_EQ(JsonField(p.value, "detected_at"), "2026-03-02T11:00:00+00:00") << p.value;
    overdue.insert(JsonField(p.value, "alert_id"));
  }
  EXPECT_EQ(overdue.size(), kDossiers);
  EXPECT_EQ(kafka.Committed(std::string(kLetters)).size(), kDossiers);
  daemon->Kill();
}

// The letters' store writes on its own thread; every commit first waits for the letters derived
// before it, so a letter a committed transaction carries is on disk (GET /letters/{id} after a
// SIGKILL).
TEST_F(LivePathTest, ALetterIsOnDiskBeforeTheTransactionCarryingItCommits) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("ontime-live-letters-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  letters_file = dir + "/letters.jsonl";
  FakeEventSource source(1);
  source.Add(0, "A", Accepted("A", kT0));
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(2h + 1s);  // due at 11:00: overdue, and its letter
  ASSERT_EQ(CommittedIds(),
            (std::vector<std::string>{"A:at_risk:1", "A:overdue:1", "A:apology:1"}));
  ASSERT_GE(kafka.commits, 1);
  std::vector<int> expected(static_cast<size_t>(kafka.commits));
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(daemon->letters_written_at, expected) << "before each commit, not after";
  std::ifstream file(dir + "/letters.000001.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(file, line));
  EXPECT_EQ(JsonField(line, "letter_id"), "A:apology:1");
  daemon.reset();  // its letters' writer done with the directory first
  std::filesystem::remove_all(dir);
}

// At stop the consumer's close revokes everything: the work is committed as on any revocation,
// but the dossiers are not dropped one by one (the process ends; the next owner restores them
// from the changelog just the same).
TEST_F(LivePathTest, PartitionsRevokedAtStopAreCommittedAndKept) {
  FakeEventSource source(2);
  source.Add(0, "A", Accepted("A", kT0));
  source.Add(1, "B", Accepted("B", kT0));
  auto daemon = Launch();
  daemon->Start(source);
  loop.RunFor(20ms);
  daemon->state->Close();
  daemon->state->OnRevoked({0, 1});
  EXPECT_EQ(kafka.commits, 1) << "committed before it goes";
  EXPECT_EQ(kafka.group_offsets, (std::map<int32_t, int64_t>{{0, 1}, {1, 1}}));
  EXPECT_EQ(daemon->engine->dossiers_tracked(), 2u) << "left to the process's exit";
  EXPECT_TRUE(daemon->state->assigned().empty());
  EXPECT_FALSE(daemon->state->restored()) << "nothing owned any more";
}

// Killed at many moments of a stream (before and after commits, with timers falling due in
// between), each time restarted on the same broker: a read_committed reader sees every id exactly
// once, and the whole equals one uninterrupted instance's over the same events.
TEST_F(LivePathTest, KillsAtAnyMomentLeaveEveryIdExactlyOnce) {
  struct Fed {
    int32_t partition;
    std::string key;
    std::string value;
  };
  std::vector<Fed> fed;
  FakeEventSource source(2);
  int n = 0;
  for (int life = 0; life < 8; ++life) {
    auto daemon = Launch();
    daemon->Start(source);
    // Six dossiers accepted a little before now (at risk in 0..5 min, due in 20..25 min), one in
    // three resolved at once; keyed by dossier, as Kafka partitions them.
    const Instant now = loop.clock().Now();
    for (int k = 0; k < 6; ++k, ++n) {
      const std::string id = "K" + std::to_string(n);
      std::vector<std::string> values = {Accepted(id, now - 100min + std::chrono::minutes(k))};
      if (n % 3 == 0) values.push_back(Resolved(id, now - 1min));
      for (const std::string& value : values) {
        fed.push_back({n % 2, id, value});
        source.Add(n % 2, id, value);
      }
    }
    // Lives of 30 ms to 17 min: some die before their first commit, some after timers fired.
    loop.RunFor(std::chrono::milliseconds(30 + 150000 * life));
    daemon->Kill();
  }
  const Instant last_fed = loop.clock().Now();
  auto last = Launch();
  last->Start(source);
  loop.RunFor(3h);
  std::vector<std::string> ids = CommittedIds();
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "no id twice";

  World reference;
  reference.loop.RunUntil(last_fed);
  FakeEventSource all(2);
  for (const Fed& f : fed) all.Add(f.partition, f.key, f.value);
  auto one = reference.Launch();
  one->Start(all);
  reference.loop.RunUntil(loop.clock().Now());
  std::vector<std::string> expected = reference.CommittedIds();
  EXPECT_GT(expected.size(), 40u);
  const std::set<std::string> want(expected.begin(), expected.end());
  std::vector<std::string> missing;
  std::vector<std::string> extra;
  std::set_difference(want.begin(), want.end(), unique.begin(), unique.end(),
                      std::back_inserter(missing));
  std::set_difference(unique.begin(), unique.end(), want.begin(), want.end(),
                      std::back_inserter(extra));
  EXPECT_TRUE(missing.empty() && extra.empty()) << "missing " << ::testing::PrintToString(missing)
                                                << ", extra " << ::testing::PrintToString(extra);
}

// A year of traffic through the live path, in virtual time (occurred_at), 30 dossiers a day each
// closed an hour after acceptance: with a 30-day retention the dossiers held and the changelog's
// live records (its size once compacted) level off instead of growing month after month.
TEST(LivePathSoakTest, AYearOfTrafficLevelsOffInMemoryAndInTheChangelog) {
  // The wall clock stays at the year's start: event time alone moves the state (a clock skew
  // allowance of a year lets those "future" events in).
  const Instant year_start = kT0;
  World world;
  FakeEventSource source(3);
  auto daemon = world.Launch(std::chrono::hours(24 * 400));
  daemon->processor->set_max_clock_skew(std::chrono::hours(24 * 400));
  daemon->Start(source);
  std::vector<size_t> held;
  std::vector<size_t> changelog_live;
  int n = 0;
  for (int day = 0; day < 360; ++day) {
    const Instant at = year_start + std::chrono::hours(24 * day);
    for (int k = 0; k < 30; ++k, ++n) {
      const std::string id = "Y" + std::to_string(n);
      source.Add(n % 3, id, Accepted(id, at + std::chrono::minutes(k)));
      source.Add(n % 3, id, Resolved(id, at + std::chrono::minutes(60 + k)));
    }
    if (day % 30 != 29) continue;
    world.loop.RunFor(150ms);
    held.push_back(daemon->engine->dossiers_tracked());
    std::map<std::string, bool> live;  // latest record per key: a state, or a tombstone
    for (const Produced& p : world.kafka.Committed(std::string(kChangelog))) {
      live[p.key] = !p.null_value;
    }
    changelog_live.push_back(static_cast<size_t>(
        std::count_if(live.begin(), live.end(), [](const auto& e) { return e.second; })));
  }
  ASSERT_EQ(held.size(), 12u);
  EXPECT_EQ(daemon->processor->events(), 2u * 30 * 360);
  for (size_t m = 2; m < held.size(); ++m) {
    // 30 a day kept 30 days after their close (the slowest partition's events hold retirement
    // back a little): about 900 to 1000, whatever the month.
    EXPECT_GE(held[m], 30u * 29) << "month " << m;
    EXPECT_LE(held[m], 30u * 34) << "month " << m;
    EXPECT_EQ(changelog_live[m], held[m]) << "month " << m << ": the changelog holds the state";
  }
  EXPECT_GT(n, 10000);
}

// predicted_late through the live path, events arriving as they happen on three partitions, an
// instance killed halfway (before its commit) and a successor restoring the learned histories
// and their pending closes from the changelog: the same predictions as replay of the same events
// in time order (ids and probabilities).
TEST(LivePathPredictionTest, AKilledAndRestoredInstancePredictsWhatReplayPredicts) {
  World world;
  world.rules = Rules(rules::PredictConfig{.threshold = 0.5, .min_history = 5});
  // 90 dossiers, one every 20 minutes from now on; one in three closes after 150 min (late: the
  // budget is 2h), the others after 30 to 90 min. Sorted by time, keyed by dossier.
  struct Line {
    Instant at;
    int32_t partition;
    std::string key, value;
  };
  std::vector<Line> lines;
  for (int n = 0; n < 90; ++n) {
    const std::string id = "Q" + std::to_string(n);
    const Instant accepted = kT0 + std::chrono::minutes(1 + 20 * n);
    const Instant closed = accepted + std::chrono::minutes(n % 3 == 0 ? 150 : 30 + 10 * (n % 7));
    lines.push_back({accepted, n % 3, id, Accepted(id, accepted)});
    lines.push_back({closed, n % 3, id, Resolved(id, closed)});
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.at < b.at; });
  FakeEventSource source(3);
  auto daemon = world.Launch();
  daemon->Start(source);
  for (size_t k = 0; k < lines.size(); ++k) {
    world.loop.RunUntil(lines[k].at);
    source.Add(lines[k].partition, lines[k].key, lines[k].value);
    if (k == lines.size() / 2) {
      world.loop.RunFor(30ms);  // applied, not committed
      daemon->Kill();
      daemon = world.Launch();
      daemon->Start(source);
    }
  }
  world.loop.RunFor(4h);

  std::map<std::string, double> live;
  for (const Produced& p : world.kafka.Committed(std::string(kAlerts))) {
    if (JsonField(p.value, "kind") != "predicted_late") continue;
    const size_t at = p.value.find("\"probability\":");
    ASSERT_NE(at, std::string::npos) << p.value;
    const double probability = std::strtod(p.value.c_str() + at + 14, nullptr);
    EXPECT_TRUE(live.emplace(JsonField(p.value, "alert_id"), probability).second) << "once each";
  }
  struct Predictions final : rules::EngineListener {
    void OnAlert(const rules::Alert& a) override {
      if (a.kind == rules::AlertKind::kPredictedLate) alerts[a.AlertId()] = a.probability;
    }
    std::map<std::string, double> alerts;
  } replayed;
  rules::Engine engine(world.rules, &replayed);
  streams::EventPipeline pipeline(engine);
  for (const Line& line : lines) ASSERT_FALSE(pipeline.Process(line.value).invalid);
  engine.AdvanceTo(world.loop.clock().Now());

  EXPECT_GE(replayed.alerts.size(), 20u) << "the late third, and some more";
  for (const auto& [id, probability] : live) {
    EXPECT_TRUE(replayed.alerts.count(id)) << "live only: " << id << " " << probability;
  }
  for (const auto& [id, probability] : replayed.alerts) {
    ASSERT_TRUE(live.count(id)) << id;
    EXPECT_NEAR(live[id], probability, 1e-4) << id;  // written to 4 decimals
  }
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
