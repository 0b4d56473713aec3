#include "ontime/daemon/daemon.h"

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include "ontime/daemon/alertmanager.h"
#include "ontime/daemon/blocking_work.h"
#include "ontime/daemon/board.h"
#include "ontime/daemon/changelog_state.h"
#include "ontime/daemon/checkpoint.h"
#include "ontime/daemon/checkpoint_refresher.h"
#include "ontime/daemon/dossier_api.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/http_client.h"
#include "ontime/daemon/http_server.h"
#include "ontime/daemon/kafka_state.h"
#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/letter_store.h"
#include "ontime/daemon/listeners.h"
#include "ontime/daemon/live_processor.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/members.h"
#include "ontime/daemon/members_topic.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/notify.h"
#include "ontime/daemon/output_writer.h"
#include "ontime/daemon/timeline_store.h"
#include "ontime/daemon/transactor.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"
#include "ontime/streams/partition_reader.h"

#ifndef ONTIME_VERSION
#define ONTIME_VERSION "dev"
#endif

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// The stall probe: a timer every 5 ms, its lateness the loop's stall; the longest of each 100 ms
// goes into ontime_loop_stall_seconds (so any stall longer than the period is seen, at most one
// period short).
constexpr auto kStallProbe = std::chrono::milliseconds(5);
constexpr auto kStallWindow = std::chrono::milliseconds(100);
constexpr size_t kRestoreThreads = 4;
constexpr int kRestoreNice = 5;  // restores yield the cores to the event loop
// The members topic: read every so often (each read waits at most kMembersWait for news), this
// instance's record published at each assignment change and every kMembersRefresh.
constexpr auto kMembersWait = std::chrono::milliseconds(200);
constexpr auto kMembersPoll = std::chrono::milliseconds(300);
constexpr auto kMembersRefresh = std::chrono::seconds(30);
// An instance whose record is older than this is taken for dead when standby holders are chosen.
constexpr auto kMembersAlive = 3 * kMembersRefresh;
// Standby replicas' checkpoints are refreshed this often: a takeover's tail is a few seconds.
constexpr auto kStandbyRefresh = std::chrono::milliseconds(5000);
constexpr auto kForwardTimeout = std::chrono::milliseconds(2000);
// A reload's deadlines recomputed per loop turn (about 150 ns each: a couple of milliseconds).
constexpr size_t kRecomputePerTurn = 10000;

streams::KafkaSettings Settings(const KafkaConfig& kafka) {
  streams::KafkaSettings s;
  s.brokers = kafka.brokers;
  s.client_id = kafka.client_id;
  s.group_id = kafka.group_id;
  s.properties = kafka.properties;
  return s;
}

OutputTopics Topics(const KafkaConfig& kafka) {
  return {kafka.topics.alerts, kafka.topics.letters, kafka.topics.dead_letters};
}

bool SameKafka(const KafkaConfig& a, const KafkaConfig& b) {
  return a.brokers == b.brokers && a.group_id == b.group_id && a.client_id == b.client_id &&
         a.instance_id == b.instance_id && a.commit_interval == b.commit_interval &&
         a.topics.changelog == b.topics.changelog && a.topics.events == b.topics.events &&
         a.topics.alerts == b.topics.alerts && a.topics.letters == b.topics.letters &&
         a.topics.dead_letters == b.topics.dead_letters && a.properties == b.properties;
}

// The Alertmanager pusher as one listener among the outputs: active alerts in, resolved when the
// engine says a dossier's alerts ended.
class AlertmanagerListener final : public rules::EngineListener {
 public:
  explicit AlertmanagerListener(AlertmanagerPusher& pusher) : pusher_(pusher) {}
  void OnAlert(const rules::Alert& alert) override { pusher_.OnAlert(alert); }
  void OnAlertsEnded(std::string_view dossier_id, Instant at) override {
    pusher_.ResolveDossier(dossier_id, at);
  }

 private:
  AlertmanagerPusher& pusher_;
};

}  // namespace

// Wiring and lifecycle: what the daemon is made of, in the order things start and stop. HTTP and
// signals come first, so that /healthz answers and SIGTERM stops it in every phase; the broker is
// reached only from worker threads (topics, transactions, restores), never on the loop. The
// live path itself is LiveProcessor's; the state on Kafka ChangelogState's and the Transactor's.
struct Daemon::Impl {
  Impl(Config c, std::string path, std::ostream& log_stream)
      : config(std::move(c)),
        config_path(std::move(path)),
        log(log_stream, config.log.level),
        loop(io),
        signals(io, SIGTERM, SIGINT),
        hangup(io, SIGHUP),
        setup_timer(loop.CreateTimer()),
        watchdog_timer(loop.CreateTimer()),
        stats_timer(loop.CreateTimer()),
        stall_timer(loop.CreateTimer()),
        members_timer(loop.CreateTimer()),
        members_refresh_timer(loop.CreateTimer()),
        http_client(io, kForwardTimeout) {}

  int Run() {
    started_at = loop.clock().Monotonic();
    auto compiled = rules::CompiledRules::Compile(config.rules);
    if (!compiled.ok()) {
      log.Error("rules do not compile", {{"error", compiled.error().message}});
      return kExitConfig;
    }
    rules = compiled.value();
    engine_metrics = std::make_unique<EngineMetrics>(*registry, *rules);
    daemon_metrics = std::make_unique<DaemonMetrics>(*registry, ONTIME_VERSION);
    daemon_metrics->SetOnTimeTargets(*rules);
    instance_id = InstanceId(config.kafka);
    changelog_topic = ChangelogTopic(config.kafka);
    partitioner = streams::ParsePartitioner(config.kafka.input_partitioner)
                      .value_or(streams::Partitioner::kConsistentRandom);
    log.Info("starting", {{"version", ONTIME_VERSION},
                          {"brokers", config.kafka.brokers},
                          {"group", config.kafka.group_id},
                          {"instance", instance_id},
                          {"input", config.kafka.topics.events},
                          {"changelog", changelog_topic}});

    streams::KafkaSettings producer_settings = Settings(config.kafka);
    producer_settings.transactional_id = config.kafka.group_id + "-" + instance_id;
    auto made = streams::KafkaProducer::Create(producer_settings, [](const streams::Delivery&) {});
    if (!made.ok()) {
      log.Error("kafka producer", {{"error", made.error().message}});
      return made.error().code == "kafka_config" ? kExitConfig : 1;
    }
    producer = std::move(made.value());
    auto post = [this](std::function<void()> f) { asio::post(io, std::move(f)); };
    setup_work = std::make_unique<WorkerThread>(post);
    transaction_work = std::make_unique<WorkerThread>(post);
    members_work = std::make_unique<WorkerThread>(post);
    members_topic =
        std::make_unique<KafkaMembers>(Settings(config.kafka), MembersTopic(config.kafka));
    // Partitions restore in parallel: each read waits mostly on the broker.
    restore_work = std::make_unique<WorkerPool>(kRestoreThreads, post, kRestoreNice);
    transactions = std::make_unique<KafkaTransactions>(*producer, config.kafka.topics.events);
    transactor = std::make_unique<Transactor>(
        loop, *transactions, *transaction_work, *daemon_metrics, log,
        Transactor::Hooks{[this] { return state ? state->Collect() : 0; },
                          [this](const std::string& why) { RecoverFromAbort(why); },
                          [this](const std::string& why) { Fatal(why); },
                          [this] {
                            // A letter is on disk before the transaction carrying it commits.
                            return letters ? letters->WrittenBarrier() : std::function<void()>();
                          }});
    transactor->set_interval(config.kafka.commit_interval);

    // The engine reports to its metrics and to the fresh outputs, side by side; the fresh ones go
    // to Kafka (in the open transaction) and to Alertmanager, side by side.
    writer = std::make_unique<OutputWriter>(*transactor, loop.clock(), log,
                                            [this](const std::string& why) { Fatal(why); });
    writer->set_topics(Topics(config.kafka));
    writer->set_calendar(&rules->calendar());
    outputs.Add(writer.get());
    if (!config.alertmanager.url.empty()) {
      pusher = std::make_unique<AlertmanagerPusher>(io, config.alertmanager, daemon_metrics.get());
      alertmanager_listener = std::make_unique<AlertmanagerListener>(*pusher);
      outputs.Add(alertmanager_listener.get());
    }
    fresh = std::make_unique<FreshOutputs>(loop.clock(), log, *daemon_metrics, outputs);
    fresh->set_max_age(config.output.max_age);
    engine_listeners.Add(engine_metrics.get());
    engine_listeners.Add(fresh.get());
    if (!StartViews()) return 1;
    engine = std::make_unique<rules::Engine>(rules, &engine_listeners);
    engine->set_retention(config.retention.closed);
    engine->TrackChanges(true);
    processor = std::make_unique<LiveProcessor>(
        loop, *engine, *transactor, *writer, *daemon_metrics, log,
        LiveProcessor::Hooks{[this] { OnCaughtUp(); },
                             [this](const std::string& why) { Fatal(why); },
                             [this](int32_t p, int64_t next) { transactor->Consumed(p, next); },
                             [this] { return transactor->accepting(); },
                             [this] { daemon_metrics->CountChangelogRecords(state->Collect()); },
                             [this](std::chrono::steady_clock::time_point at) {
                               transactor->set_input_taken_at(at);
                             }});
    processor->set_max_clock_skew(config.ingest.max_clock_skew);
    processor->set_applied(
        [this](const rules::Event& e, rules::ApplyStatus status) { timeline->OnEvent(e, status); });
    changelog_reader =
        std::make_unique<KafkaChangelogReader>(Settings(config.kafka), changelog_topic);
    state = std::make_unique<ChangelogState>(
        loop, *engine, *transactor, *changelog_reader, *restore_work, *daemon_metrics, log,
        changelog_topic,
        ChangelogState::Hooks{
            [this](int32_t p) { consumer->Pause(p); }, [this](int32_t p) { consumer->Resume(p); },
            [this](int32_t p) { processor->ForgetPartition(p); },
            [this](const std::string& why) { Fatal(why); }, [this](int32_t p) { ViewsSeeded(p); },
            [this](std::string_view id) { SeedView(id); }});
    if (config.state.checkpoint_interval > std::chrono::milliseconds::zero()) {
      checkpoints = std::make_unique<CheckpointStore>(config.state_dir + "/checkpoints",
                                                      changelog_topic, std::chrono::hours(24));
      state->set_checkpoints(checkpoints.get());
      checkpoint_work = std::make_unique<WorkerThread>(post, kRestoreNice);
      refresher = std::make_unique<CheckpointRefresher>(
          loop, *checkpoints, *changelog_reader, *checkpoint_work, *daemon_metrics, log,
          [this] { return state->restored_partitions(); });
      refresher->Start(config.state.checkpoint_interval);
      if (config.state.standby_replicas > 0) {
        standby = std::make_unique<CheckpointRefresher>(loop, *checkpoints, *changelog_reader,
                                                        *checkpoint_work, *daemon_metrics, log,
                                                        [this] { return StandbyNow(); });
        standby->Start(kStandbyRefresh);
      }
    }

    if (pusher) pusher->Start();
    router = std::make_unique<Router>(
        *engine, *registry, *engine_metrics, *daemon_metrics, health,
        [this] { return loop.clock().Now(); },
        RouterViews{letters.get(), timeline.get(), attention.get(), figures.get(), &config.letters,
                    config.http.token, config.http.token_for_health,
                    RouterCluster{[this] { return LocalView(); }, &directory,
                                  [this](OutgoingRequest out,
                                         std::function<void(Result<HttpResponse>)> done) {
                                    http_client.Get(std::move(out), std::move(done));
                                  }}});
    auto server = HttpServer::Start(io, config.http.listen, [this](const HttpRequest& request) {
      return router->Handle(request);
    });
    if (!server.ok()) {
      log.Error("http server", {{"listen", config.http.listen}, {"error", server.error().message}});
      return 1;
    }
    http = std::move(server.value());
    advertised = AdvertisedAddress(config.http, http->port());
    log.Info("http listening", {{"address", config.http.listen},
                                {"port", std::to_string(http->port())},
                                {"advertised", advertised}});

    WaitSignals();
    ArmWatchdog();
    ArmStats();
    ArmStallProbe();
    CheckTopics();
    io.run();
    // Workers first: their `done` callbacks would reach into what is destroyed below.
    setup_work.reset();
    restore_work.reset();
    checkpoint_work.reset();
    transaction_work.reset();
    members_work.reset();
    return exit_code;
  }

  // --- what people see: letters, timelines, the board (every letter and alert the engine
  // derives, fresh or not, so a replay after restart refills them) ---

  bool StartViews() {
    auto opened = LetterStore::Open(config.state_dir + "/letters.jsonl", config.letters.keep);
    if (!opened.ok()) {
      log.Error("letter store", {{"error", opened.error().message}});
      return false;
    }
    letters = std::move(opened.value());
    letters->set_calendar(&rules->calendar());
    timeline = std::make_unique<TimelineStore>(config.http.timeline_limit);
    attention = std::make_unique<AttentionIndex>();
    figures = std::make_unique<BoardFigures>(rules->department_count());
    for (rules::EngineListener* view : std::initializer_list<rules::EngineListener*>{
             letters.get(), timeline.get(), attention.get(), figures.get()}) {
      engine_listeners.Add(view);
    }
    return true;
  }

  // One walk over a partition's restored dossiers: the board's index and figures, and the alerts
  // still active re-sent to Alertmanager (which would otherwise forget them until they fire
  // again).
  // Called for each dossier as it is restored (a thousand per loop turn), so that a large
  // state never stalls the loop here.
  void SeedView(std::string_view dossier_id) {
    const auto view = engine->Find(dossier_id, loop.clock().Now());
    if (!view) return;
    const rules::DossierView& d = *view;
    attention->Seed(d);
    figures->Seed(d, *rules);
    if (!pusher || d.state != rules::DossierState::kOpen || !(d.overdue || d.at_risk)) return;
    {
      std::optional<LetterFields> last_letter;
      if (d.apology_letters > 0) {
        std::vector<std::string> ids = letters->IdsOf(d.dossier_id);
        if (!ids.empty()) {
          if (auto json = letters->Find(ids.back())) {
            if (auto parsed = ParseLetterJson(*json); parsed.ok()) last_letter = *parsed;
          }
        }
      }
      alerts_resent += pusher->RestoreDossier(d, *rules, last_letter ? &*last_letter : nullptr,
                                              loop.clock().Now());
    }
  }

  void ViewsSeeded(int32_t partition) {
    log.Info("views seeded", {{"partition", std::to_string(partition)},
                              {"letters", std::to_string(letters->size())},
                              {"attention", std::to_string(attention->candidates())},
                              {"alerts_resent", std::to_string(alerts_resent)}});
  }

  // --- start-up: topics, transactions, the consumer; each wait off the loop ---

  void CheckTopics() {
    notifier.Status("checking Kafka topics");
    TopicPlan plan{
        config.kafka.topics.events,
        changelog_topic,
        {config.kafka.topics.alerts, config.kafka.topics.letters, config.kafka.topics.dead_letters},
        config.kafka.create_topics,
        MembersTopic(config.kafka)};
    auto result = std::make_shared<Result<int>>(0);
    auto facts = std::make_shared<TopicFacts>();
    setup_work->Submit(
        [this, plan, result, facts] {
          *result = EnsureTopics(Settings(config.kafka), plan, std::chrono::milliseconds(2s),
                                 facts.get());
        },
        [this, result, facts] {
          if (stopping) return;
          if (result->ok()) {
            input_partitions = result->value();
            processor->CheckPartitioning(partitioner, input_partitions);
            if (checkpoints) checkpoints->set_max_age(facts->changelog_delete_retention);
            log.Info("kafka: topics ready",
                     {{"changelog", changelog_topic},
                      {"members", members_topic->topic()},
                      {"input_partitions", std::to_string(input_partitions)}});
            PollMembers();
            RefreshMember();
            InitTransactions();
            return;
          }
          const std::string& code = result->error().code;
          if (code == "topic_missing" || code == "changelog_foreign") {
            log.Error("kafka: cannot use the topics", {{"error", result->error().message}});
            exit_code = kExitConfig;
            Fatal(result->error().message);
            return;
          }
          LogSetupTrouble(result->error().message);
          setup_timer->Arm(std::chrono::milliseconds(2s), [this] { CheckTopics(); });
        });
  }

  void InitTransactions() {
    notifier.Status("registering the transactional producer");
    auto result = std::make_shared<TransactionalProducer::Result>();
    setup_work->Submit(
        [this, result] { *result = transactions->Init(); },
        [this, result] {
          if (stopping) return;
          if (result->outcome == TransactionalProducer::Outcome::kCommitted) {
            StartConsuming();
          } else if (result->outcome == TransactionalProducer::Outcome::kRetry) {
            LogSetupTrouble(result->message);
            setup_timer->Arm(std::chrono::milliseconds(1s), [this] { InitTransactions(); });
          } else {
            Fatal("kafka: cannot register the transactional producer: " + result->message);
          }
        });
  }

  void LogSetupTrouble(const std::string& message) {
    const auto now = loop.clock().Monotonic();
    if (now - last_setup_log < 10s) return;
    last_setup_log = now;
    log.Warning("kafka: not ready yet, retrying", {{"error", message}});
    notifier.Status("waiting for Kafka: " + message);
  }

  void StartConsuming() {
    if (Status begun = transactor->Start(); !begun.ok()) {
      Fatal("kafka: cannot begin a transaction: " + begun.error().message);
      return;
    }
    streams::KafkaConsumer::Options options;
    options.transactional_offsets = true;
    options.group_instance_id = instance_id;
    options.pause_on_assign = true;
    options.on_assigned = [this](const std::vector<int32_t>& added) {
      state->OnAssigned(added);
      PublishMember();
    };
    options.on_revoked = [this](const std::vector<int32_t>& revoked, bool lost) {
      if (lost) log.Warning("kafka: partitions lost (this member was too slow or away)");
      state->OnRevoked(revoked);
      PublishMember();
    };
    auto made = streams::KafkaConsumer::Create(Settings(config.kafka), config.kafka.topics.events,
                                               std::move(options));
    if (!made.ok()) {
      log.Error("kafka consumer", {{"error", made.error().message}});
      exit_code = made.error().code == "kafka_config" ? kExitConfig : 1;
      Fatal(made.error().message);
      return;
    }
    consumer = std::move(made.value());
    transactions->set_consumer(consumer.get());
    notifier.Status("waiting for partitions");
    processor->Start(*consumer);
  }

  // An aborted transaction leaves the engine ahead of what Kafka holds: its partitions' dossiers
  // are dropped, their input sought back to the offsets committed with their state, and the
  // state restored from the changelog, all without a restart.
  void RecoverFromAbort(const std::string& why) {
    std::vector<int32_t> partitions(state->assigned().begin(), state->assigned().end());
    log.Warning("kafka: transaction aborted; restoring the state Kafka holds",
                {{"error", why}, {"partitions", std::to_string(partitions.size())}});
    state->Drop(partitions);
    SeekToCommittedAndRestore(partitions);
  }

  // The group's committed offsets asked off the loop, until the coordinator answers (it may be
  // the very reason the transaction failed: a broker restarting).
  void SeekToCommittedAndRestore(const std::vector<int32_t>& partitions) {
    auto committed =
        std::make_shared<Result<streams::PartitionOffsets>>(streams::PartitionOffsets{});
    setup_work->Submit(
        [this, partitions, committed] {
          *committed = consumer->Committed(partitions, std::chrono::milliseconds(10s));
        },
        [this, partitions, committed] {
          if (stopping) return;
          if (!committed->ok()) {
            LogSetupTrouble("committed offsets: " + committed->error().message);
            setup_timer->Arm(std::chrono::milliseconds(1s),
                             [this, partitions] { SeekToCommittedAndRestore(partitions); });
            return;
          }
          for (int32_t p : partitions) {
            auto it = committed->value().find(p);
            consumer->Seek(p,
                           it == committed->value().end() ? streams::kOffsetBeginning : it->second);
          }
          state->Restore(partitions);
        });
  }

  // --- the group's members: who owns which partition, at which HTTP address ---

  // The partitions of others this instance keeps a warm checkpoint of (standby replicas), as the
  // members topic says now; logged when they change.
  std::set<int32_t> StandbyNow() {
    std::set<int32_t> now = StandbyPartitions(
        directory, instance_id, input_partitions, config.state.standby_replicas,
        loop.clock().Now().time_since_epoch().count(),
        std::chrono::duration_cast<std::chrono::milliseconds>(kMembersAlive).count());
    for (int32_t p : state->assigned()) now.erase(p);
    if (now != standby_partitions) {
      std::string list;
      for (int32_t p : now) list += (list.empty() ? "" : ",") + std::to_string(p);
      log.Info("standby replicas: checkpoints kept warm", {{"partitions", list}});
      standby_partitions = now;
      daemon_metrics->SetStandbyPartitions(now.size());
    }
    return now;
  }

  LocalPartitions LocalView() const {
    LocalPartitions local;
    local.instance = instance_id;
    local.input_partitions = input_partitions;
    local.partitioner = partitioner;
    if (state) {
      local.assigned = state->assigned();
      local.restoring = state->restoring_partitions();
    }
    return local;
  }

  // This instance's record: its address, and its partitions unless it is leaving.
  MemberRecord OwnRecord(bool leaving) const {
    MemberRecord record;
    record.instance = instance_id;
    record.http = advertised;
    if (!leaving && state) {
      record.partitions.assign(state->assigned().begin(), state->assigned().end());
    }
    record.input_partitions = input_partitions;
    record.published_at_ms = loop.clock().Now().time_since_epoch().count();
    return record;
  }

  // This instance's record, as it is now, queued after the ones before it (the worker keeps
  // their order, and so the topic does).
  void PublishMember() {
    if (stopping || input_partitions == 0) return;
    const MemberRecord record = OwnRecord(/*leaving=*/false);
    auto status = std::make_shared<Status>(Ok{});
    members_work->Submit(
        [this, status, value = EncodeMember(record)] {
          *status = members_topic->Publish(instance_id, value, std::chrono::milliseconds(5s));
        },
        [this, status, partitions = record.partitions.size()] {
          if (!status->ok()) {
            log.Warning("members: cannot publish this instance's record",
                        {{"topic", members_topic->topic()}, {"error", status->error().message}});
            return;
          }
          members_published = true;
          log.Debug("members: published", {{"partitions", std::to_string(partitions)}});
        });
  }

  void RefreshMember() {
    PublishMember();
    members_refresh_timer->Arm(
        std::chrono::duration_cast<std::chrono::milliseconds>(kMembersRefresh),
        [this] { RefreshMember(); });
  }

  void PollMembers() {
    auto records = std::make_shared<Result<std::vector<KafkaMembers::Record>>>(
        std::vector<KafkaMembers::Record>{});
    members_work->Submit([this, records] { *records = members_topic->Poll(kMembersWait); },
                         [this, records] {
                           if (stopping) return;
                           if (records->ok()) {
                             ApplyMembers(records->value());
                           } else {
                             LogSetupTrouble("members: " + records->error().message);
                           }
                           members_timer->Arm(kMembersPoll, [this] { PollMembers(); });
                         });
  }

  void ApplyMembers(const std::vector<KafkaMembers::Record>& records) {
    for (const KafkaMembers::Record& r : records) {
      if (!r.value) {
        directory.Apply(r.offset, r.key, std::nullopt);
        continue;
      }
      Result<MemberRecord> decoded = DecodeMember(r.key, *r.value);
      if (!decoded.ok()) {
        log.Warning("members: a record is not readable", {{"error", decoded.error().message}});
        directory.Apply(r.offset, r.key, std::nullopt);
        continue;
      }
      const auto& known = directory.members();
      const auto before = known.find(r.key);
      const bool changed = before == known.end() || before->second.http != decoded->http ||
                           before->second.partitions != decoded->partitions;
      if (r.key != instance_id && changed) {
        std::string list;
        for (int32_t p : decoded->partitions) list += (list.empty() ? "" : ",") + std::to_string(p);
        log.Info("members: an instance's partitions",
                 {{"instance", r.key}, {"http", decoded->http}, {"partitions", list}});
      }
      directory.Apply(r.offset, r.key, std::move(decoded).value());
    }
  }

  // At a graceful stop: the others stop forwarding here (they answer 503 for these partitions
  // until their next owner says so, rather than waiting for a connection that is refused).
  void SayOwnsNothing() {
    if (!members_published || input_partitions == 0) return;
    members_work.reset();  // joins: the topic's clients are the loop's from here
    Status s = members_topic->Publish(instance_id, EncodeMember(OwnRecord(/*leaving=*/true)),
                                      std::chrono::milliseconds(2s));
    if (!s.ok())
      log.Warning("members: cannot say this instance leaves", {{"error", s.error().message}});
  }

  // The backlog is consumed for the first time: from here on the wall clock fires timers.
  void OnCaughtUp() {
    log.Info("caught up with the input",
             {{"events", std::to_string(processor->events())},
              {"stale_outputs", std::to_string(fresh->stale())},
              {"dossiers", std::to_string(engine->dossiers_tracked())},
              {"restored", std::to_string(state->restored_dossiers())},
              {"seconds", LogSeconds(loop.clock().Monotonic() - started_at)}});
    fresh->NewCatchUp();
  }

  // --- periodic work ---

  void ArmWatchdog() {
    auto interval = notifier.watchdog_interval();
    if (!interval) return;
    notifier.Watchdog();
    watchdog_timer->Arm(std::chrono::duration_cast<std::chrono::milliseconds>(*interval),
                        [this] { ArmWatchdog(); });
  }

  void ArmStats() {
    daemon_metrics->SetEngineSizes(engine->dossiers_tracked(), engine->timers_pending());
    daemon_metrics->SetEventLag(processor->last_event_lag_seconds());
    daemon_metrics->SetConsumerLagSeconds(processor->last_message_lag_seconds());
    if (consumer) {
      if (auto fatal = consumer->fatal_error()) {
        // After a broker outage longer than the session, librdkafka may fence its own static
        // member; a new process (systemd restarts it) rejoins and restores from Kafka.
        Fatal("kafka consumer: " + *fatal);
        return;
      }
      int64_t behind = 0;
      for (const auto& [p, lag] : consumer->Lag()) {
        if (!state->assigned().contains(p)) continue;  // given away: its owner reports it
        daemon_metrics->SetConsumerLag(p, lag);
        behind = std::max(behind, lag);
      }
      UpdateReadiness(behind);
    }
    stats_timer->Arm(1000ms, [this] { ArmStats(); });
  }

  // Ready once every assigned partition is restored and the input is (nearly) consumed.
  void UpdateReadiness(int64_t behind) {
    const bool now_ready =
        state->restored() && (processor->caught_up_once() || behind <= config.kafka.ready_max_lag);
    if (state->restoring() > 0) {
      notifier.Status("restoring from " + changelog_topic + ": " + state->Progress());
    }
    if (now_ready == ready) return;
    ready = now_ready;
    health.ready = ready;
    daemon_metrics->SetReady(ready);
    if (ready) {
      daemon_metrics->CountRestart(state->restored_dossiers() > 0 ? "changelog" : "empty");
      log.Info("ready", {{"partitions", std::to_string(state->assigned().size())},
                         {"dossiers", std::to_string(engine->dossiers_tracked())},
                         {"seconds", LogSeconds(loop.clock().Monotonic() - started_at)}});
      notifier.Ready();
      notifier.Status("ready: " + std::to_string(state->assigned().size()) + " partitions, " +
                      std::to_string(engine->dossiers_tracked()) + " dossiers");
    }
  }

  // How late the loop runs a timer armed for 5 ms from now (the time a ready handler waits for
  // the loop: the handler before it, or the loop's thread waiting for a core); the longest of
  // each 100 ms is observed.
  void ArmStallProbe() {
    const auto armed = loop.clock().Monotonic();
    if (stall_window_began == std::chrono::steady_clock::time_point{}) {
      stall_window_began = armed;
    }
    stall_timer->Arm(kStallProbe, [this, expected = armed + kStallProbe] {
      const auto now = loop.clock().Monotonic();
      stall_window_max = std::max(stall_window_max, now - expected);
      if (now - stall_window_began >= kStallWindow) {
        daemon_metrics->ObserveLoopStall(
            std::max(0.0, std::chrono::duration<double>(stall_window_max).count()));
        stall_window_max = {};
        stall_window_began = now;
      }
      ArmStallProbe();
    });
  }

  // --- signals and reload ---

  void WaitSignals() {
    signals.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      log.Info("shutting down", {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
      Shutdown();
    });
    WaitHangup();
  }

  void WaitHangup() {
    hangup.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      Reload();
      WaitHangup();
    });
  }

  void Reload() {
    const auto begin = loop.clock().Monotonic();
    ConfigResult loaded = LoadConfigFile(config_path);
    if (!loaded.ok()) {
      for (const ConfigError& e : loaded.errors) {
        log.Error("reload rejected: configuration error", {{"error", e.ToString()}});
      }
      daemon_metrics->CountReload(false);
      return;
    }
    auto compiled = rules::CompiledRules::Compile(loaded.config->rules);
    if (!compiled.ok()) {
      log.Error("reload rejected: rules do not compile", {{"error", compiled.error().message}});
      daemon_metrics->CountReload(false);
      return;
    }
    if (recomputing) FinishRecompute();  // the previous reload's, at once
    notifier.Reloading();
    Status reconfigured = engine->BeginReconfigure(compiled.value());
    if (!reconfigured.ok()) {
      log.Error("reload rejected by the engine", {{"error", reconfigured.error().message}});
      daemon_metrics->CountReload(false);
      notifier.Ready();
      return;
    }
    ++reloads;
    recomputing = true;
    reload_began = begin;
    rules = compiled.value();
    writer->set_calendar(&rules->calendar());
    letters->set_calendar(&rules->calendar());
    figures->Resize(rules->department_count());
    engine_metrics->Rebind(*rules);
    daemon_metrics->SetOnTimeTargets(*rules);
    daemon_metrics->CountReload(true);
    const Config& next = *loaded.config;
    if (!SameKafka(next.kafka, config.kafka)) {
      log.Warning("reload: kafka settings changed; they take effect after a restart");
    }
    if (next.http.listen != config.http.listen || next.state_dir != config.state_dir ||
        next.alertmanager.url != config.alertmanager.url) {
      log.Warning("reload: http, state_dir or alertmanager changed; restart to apply");
    }
    config.rules = next.rules;
    config.log = next.log;
    if (next.retention.closed != config.retention.closed) {
      engine->set_retention(next.retention.closed);
      config.retention = next.retention;
    }
    config.ingest = next.ingest;
    config.output = next.output;
    config.letters = next.letters;
    processor->set_max_clock_skew(config.ingest.max_clock_skew);
    fresh->set_max_age(config.output.max_age);
    log.set_level(config.log.level);
    processor->RearmTimer();
    Recompute(reloads);
  }

  // The reload's deadlines recomputed kRecomputePerTurn dossiers a turn; events and timers go on
  // meanwhile (the engine recomputes a dossier they reach first). READY=1 once all are done.
  void Recompute(uint64_t reload) {
    // Finished already by a later reload, or stopping.
    if (reload != reloads || !recomputing || stopping) return;
    if (!engine->ContinueReconfigure(kRecomputePerTurn)) {
      loop.Post([this, reload] { Recompute(reload); });
      return;
    }
    FinishRecompute();
  }

  void FinishRecompute() {
    engine->ContinueReconfigure(SIZE_MAX);
    recomputing = false;
    daemon_metrics->CountRecomputations(engine->recomputed());
    log.Info("configuration reloaded",
             {{"procedures", std::to_string(rules->config().procedures.size())},
              {"departments", std::to_string(rules->department_count())},
              {"recomputed", std::to_string(engine->recomputed())},
              {"seconds", LogSeconds(loop.clock().Monotonic() - reload_began)}});
    processor->RearmTimer();
    notifier.Ready();
  }

  // --- stopping ---

  void StopTimers() {
    stopping = true;
    if (processor) processor->Stop();
    if (transactor) transactor->Stop();
    setup_timer->Cancel();
    watchdog_timer->Cancel();
    stats_timer->Cancel();
    stall_timer->Cancel();
    members_timer->Cancel();
    members_refresh_timer->Cancel();
    signals.cancel();
    hangup.cancel();
    if (http) http->Stop();
    if (pusher) pusher->Stop();
    if (setup_work) setup_work->Stop();
    if (restore_work) restore_work->Stop();
    if (refresher) refresher->Stop();
    if (standby) standby->Stop();
    if (checkpoint_work) checkpoint_work->Stop();
    if (members_work) members_work->Stop();
  }

  // Graceful: stop fetching, commit what was derived, leave (a static member keeps its
  // partitions for its successor until the session times out).
  void Shutdown() {
    notifier.Stopping();
    StopTimers();
    health.ready = false;
    bool ok = true;
    if (state) state->Close();
    if (consumer) {
      ok = transactor->CommitNow();
      if (!ok) log.Warning("the last transaction was not committed: it is derived again at start");
      consumer->Close();
    }
    SayOwnsNothing();
    log.Info("stopped", {{"events", std::to_string(processor->events())},
                         {"alerts", std::to_string(writer->alerts())},
                         {"letters", std::to_string(writer->letters())},
                         {"dead_letters", std::to_string(writer->dead_letters())},
                         {"transactions", std::to_string(transactor->commits())}});
    if (exit_code == 0 && !ok) exit_code = 1;
    io.stop();
  }

  void Fatal(const std::string& why) {
    if (stopping) return;
    log.Error("fatal: stopping", {{"error", why}});
    if (exit_code == 0) exit_code = 1;
    notifier.Stopping();
    StopTimers();
    if (state) state->Close();
    if (consumer) consumer->Close();
    io.stop();
  }

  Config config;
  std::string config_path;
  Logger log;
  Notifier notifier;
  asio::io_context io;
  AsioEventLoop loop;
  asio::signal_set signals;
  asio::signal_set hangup;
  std::unique_ptr<Timer> setup_timer;
  std::unique_ptr<Timer> watchdog_timer;
  std::unique_ptr<Timer> stats_timer;
  std::unique_ptr<Timer> stall_timer;
  std::unique_ptr<Timer> members_timer;
  std::unique_ptr<Timer> members_refresh_timer;
  HttpClient http_client;
  MemberDirectory directory;
  std::unique_ptr<WorkerThread> members_work;
  std::unique_ptr<KafkaMembers> members_topic;
  std::string advertised;
  int input_partitions = 0;
  streams::Partitioner partitioner = streams::Partitioner::kConsistentRandom;
  bool members_published = false;

  std::shared_ptr<const rules::CompiledRules> rules;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<EngineMetrics> engine_metrics;
  std::unique_ptr<DaemonMetrics> daemon_metrics;
  std::string instance_id;
  std::string changelog_topic;
  std::unique_ptr<streams::KafkaProducer> producer;
  std::unique_ptr<WorkerThread> setup_work;
  std::unique_ptr<WorkerThread> transaction_work;
  std::unique_ptr<WorkerPool> restore_work;
  std::unique_ptr<CheckpointStore> checkpoints;   // none when state.checkpoint_interval is 0
  std::unique_ptr<WorkerThread> checkpoint_work;  // the checkpoints' refreshes
  std::unique_ptr<CheckpointRefresher> refresher;
  std::unique_ptr<CheckpointRefresher> standby;  // with state.standby_replicas
  std::set<int32_t> standby_partitions;
  std::unique_ptr<KafkaTransactions> transactions;
  std::unique_ptr<Transactor> transactor;
  std::unique_ptr<OutputWriter> writer;
  std::unique_ptr<AlertmanagerPusher> pusher;
  std::unique_ptr<AlertmanagerListener> alertmanager_listener;
  ListenerFanOut outputs;
  std::unique_ptr<FreshOutputs> fresh;
  ListenerFanOut engine_listeners;
  std::unique_ptr<rules::Engine> engine;
  std::unique_ptr<LiveProcessor> processor;
  std::unique_ptr<KafkaChangelogReader> changelog_reader;
  std::unique_ptr<ChangelogState> state;
  std::unique_ptr<streams::KafkaConsumer> consumer;
  std::unique_ptr<LetterStore> letters;
  std::unique_ptr<TimelineStore> timeline;
  std::unique_ptr<AttentionIndex> attention;
  std::unique_ptr<BoardFigures> figures;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> http;
  HealthState health;

  std::chrono::steady_clock::time_point started_at;
  std::chrono::steady_clock::time_point last_setup_log{};
  std::chrono::steady_clock::time_point stall_window_began{};
  std::chrono::steady_clock::duration stall_window_max{};
  size_t alerts_resent = 0;
  bool ready = false;
  bool stopping = false;
  // Reloads begun; the latest one's deadlines still being recomputed (Recompute), since when.
  uint64_t reloads = 0;
  bool recomputing = false;
  std::chrono::steady_clock::time_point reload_began{};
  int exit_code = 0;
};

Daemon::Daemon(Config config, std::string config_path, std::ostream& log)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(config_path), log)) {}

Daemon::~Daemon() = default;

int Daemon::Run() { return impl_->Run(); }

void Daemon::LeaveStateToProcessExit() {
  // Reachable from a static until the end: not a leak to LeakSanitizer, and never destroyed.
  static auto* const kKept = new std::vector<std::shared_ptr<void>>();
  Impl& d = *impl_;
  for (std::shared_ptr<void> part : std::initializer_list<std::shared_ptr<void>>{
           std::move(d.engine), std::move(d.timeline), std::move(d.attention)}) {
    if (part) kKept->push_back(std::move(part));
  }
}

}  // namespace ontime::daemon
