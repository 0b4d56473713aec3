#include "ontime/daemon/daemon.h"

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include "ontime/daemon/alertmanager.h"
#include "ontime/daemon/board.h"
#include "ontime/daemon/dossier_api.h"
#include "ontime/daemon/event_loop.h"
#include "ontime/daemon/http_server.h"
#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/letter_store.h"
#include "ontime/daemon/listeners.h"
#include "ontime/daemon/live_processor.h"
#include "ontime/daemon/logging.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/notify.h"
#include "ontime/daemon/offset_tracker.h"
#include "ontime/daemon/output_writer.h"
#include "ontime/daemon/snapshot_store.h"
#include "ontime/daemon/state_persistence.h"
#include "ontime/daemon/timeline_store.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"

#ifndef ONTIME_VERSION
#define ONTIME_VERSION "dev"
#endif

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto kFlushTimeout = std::chrono::milliseconds(30s);
constexpr auto kPeriodicFlushTimeout = std::chrono::milliseconds(10s);

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
         a.topics.events == b.topics.events && a.topics.alerts == b.topics.alerts &&
         a.topics.letters == b.topics.letters && a.topics.dead_letters == b.topics.dead_letters &&
         a.properties == b.properties;
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

// Wiring and lifecycle: what the daemon is made of, in the order things start and stop. The live
// path itself is LiveProcessor's; its state across restarts StatePersistence's.
struct Daemon::Impl {
  Impl(Config c, std::string path, std::ostream& log_stream)
      : config(std::move(c)),
        config_path(std::move(path)),
        log(log_stream, config.log.level),
        loop(io),
        store(config.state_dir),
        signals(io, SIGTERM, SIGINT),
        hangup(io, SIGHUP),
        snapshot_timer(loop.CreateTimer()),
        watchdog_timer(loop.CreateTimer()),
        stats_timer(loop.CreateTimer()) {}

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
    log.Info("starting", {{"version", ONTIME_VERSION},
                          {"brokers", config.kafka.brokers},
                          {"group", config.kafka.group_id},
                          {"input", config.kafka.topics.events},
                          {"state_dir", config.state_dir}});

    auto made = streams::KafkaProducer::Create(
        Settings(config.kafka), [this](const streams::Delivery& d) { offsets.OnDelivered(d.tag); });
    if (!made.ok()) {
      log.Error("kafka producer", {{"error", made.error().message}});
      return made.error().code == "kafka_config" ? kExitConfig : 1;
    }
    producer = std::move(made.value());

    // The engine reports to its metrics and to the fresh outputs, side by side; the fresh ones go
    // to Kafka and to Alertmanager, side by side.
    writer = std::make_unique<OutputWriter>(*producer, offsets, loop.clock(), log,
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
    processor = std::make_unique<LiveProcessor>(
        loop, *engine, *producer, offsets, *writer, *daemon_metrics, log,
        LiveProcessor::Hooks{[this] { OnCaughtUp(); },
                             [this](const std::string& why) { Fatal(why); }});
    processor->set_max_clock_skew(config.ingest.max_clock_skew);

    if (!Restore()) return 1;
    SeedViews();

    auto consumer_made = streams::KafkaConsumer::Create(
        Settings(config.kafka), config.kafka.topics.events,
        [this](int32_t partition) { return offsets.next_offset(partition); },
        [this](const std::vector<int32_t>& partitions) { OnAssigned(partitions); });
    if (!consumer_made.ok()) {
      log.Error("kafka consumer", {{"error", consumer_made.error().message}});
      return consumer_made.error().code == "kafka_config" ? kExitConfig : 1;
    }
    consumer = std::move(consumer_made.value());

    if (pusher) pusher->Start();
    router = std::make_unique<Router>(
        *engine, *registry, *engine_metrics, *daemon_metrics, health,
        [this] { return loop.clock().Now(); },
        RouterViews{letters.get(), timeline.get(), attention.get(), figures.get(), &config.letters,
                    config.http.token, config.http.token_for_health});
    auto server = HttpServer::Start(io, config.http.listen, [this](const HttpRequest& request) {
      return router->Handle(request);
    });
    if (!server.ok()) {
      log.Error("http server", {{"listen", config.http.listen}, {"error", server.error().message}});
      return 1;
    }
    http = std::move(server.value());
    log.Info("http listening",
             {{"address", config.http.listen}, {"port", std::to_string(http->port())}});

    WaitSignals();
    processor->Start(*consumer);
    ArmSnapshotTimer();
    ArmWatchdog();
    ArmStats();
    io.run();
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

  // One walk over the restored state: the board's index and figures, and the alerts still active
  // re-sent to Alertmanager (which would otherwise forget them until they fire again).
  void SeedViews() {
    size_t resent = 0;
    engine->ForEachDossier(loop.clock().Now(), [&](const rules::DossierView& d) {
      attention->Seed(d);
      figures->Seed(d, *rules);
      if (!pusher || d.state != rules::DossierState::kOpen || !(d.overdue || d.at_risk)) return;
      std::optional<LetterFields> last_letter;
      if (d.apology_letters > 0) {
        std::vector<std::string> ids = letters->IdsOf(d.dossier_id);
        if (!ids.empty()) {
          if (auto json = letters->Find(ids.back())) {
            if (auto parsed = ParseLetterJson(*json); parsed.ok()) last_letter = *parsed;
          }
        }
      }
      resent += pusher->RestoreDossier(d, *rules, last_letter ? &*last_letter : nullptr,
                                       loop.clock().Now());
    });
    log.Info("views seeded", {{"letters", std::to_string(letters->size())},
                              {"attention", std::to_string(attention->candidates())},
                              {"alerts_resent", std::to_string(resent)}});
  }

  // --- start-up: restore state, find what was already produced ---

  bool Restore() {
    notifier.Status("restoring state");
    notifier.ExtendTimeout(std::chrono::minutes(5));
    output_log = std::make_unique<KafkaOutputLog>(Settings(config.kafka));
    persistence = std::make_unique<StatePersistence>(
        store, *output_log, loop.clock(), log, config.kafka.topics.events, Topics(config.kafka));
    auto restored = persistence->Restore(*engine);
    if (!restored.ok()) {
      log.Error("giving up: " + restored.error().message);
      return false;
    }
    mode = restored->mode;
    offsets.set_next_offsets(std::move(restored->next_offsets));
    const size_t already = restored->already_produced.size();
    writer->Suppress(std::move(restored->already_produced));
    log.Info("state restored", {{"mode", mode},
                                {"dossiers", std::to_string(engine->dossiers_tracked())},
                                {"timers", std::to_string(engine->timers_pending())},
                                {"already_emitted", std::to_string(already)},
                                {"seconds", LogSeconds(loop.clock().Monotonic() - started_at)}});
    daemon_metrics->CountRestart(mode);
    notifier.Status("state restored (" + mode + "), waiting for partitions");
    return true;
  }

  void OnAssigned(const std::vector<int32_t>& partitions) {
    std::string list;
    for (int32_t p : partitions) list += (list.empty() ? "" : ",") + std::to_string(p);
    log.Info("kafka: partitions assigned",
             {{"topic", config.kafka.topics.events}, {"partitions", list.empty() ? "none" : list}});
    if (!ready && !partitions.empty()) {
      ready = true;
      health.ready = true;
      daemon_metrics->SetReady(true);
      notifier.Ready();
    }
  }

  // The backlog is consumed: everything produced before the restart has been re-derived, so no
  // id needs suppressing any more.
  void OnCaughtUp() {
    log.Info("caught up with the input",
             {{"events", std::to_string(processor->events())},
              {"suppressed_duplicates", std::to_string(writer->suppressed())},
              {"stale_outputs", std::to_string(fresh->stale())},
              {"dossiers", std::to_string(engine->dossiers_tracked())},
              {"seconds", LogSeconds(loop.clock().Monotonic() - started_at)}});
    writer->EndSuppression();
    fresh->NewCatchUp();
  }

  // --- periodic work ---

  void ArmSnapshotTimer() {
    snapshot_timer->Arm(config.snapshot_interval, [this] {
      TakeSnapshot(/*final=*/false);
      ArmSnapshotTimer();
    });
  }

  // While catching up after a restart, outputs found in the output topics are being re-derived
  // and suppressed; a snapshot then would record output ends past ids it has not re-derived yet.
  // With nothing to suppress, a snapshot is safe at any time.
  bool TakeSnapshot(bool final) {
    if (!processor->caught_up_once() && writer->suppressing()) {
      log.Warning("snapshot skipped: still catching up with the input");
      return false;
    }
    const bool written = persistence->Snapshot(*engine, *producer, offsets,
                                               final ? kFlushTimeout : kPeriodicFlushTimeout,
                                               final ? LogLevel::kInfo : LogLevel::kDebug);
    processor->StoreDoneOffsets();
    return written;
  }

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
    for (const auto& [p, lag] : consumer->Lag()) daemon_metrics->SetConsumerLag(p, lag);
    stats_timer->Arm(1000ms, [this] { ArmStats(); });
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
    notifier.Reloading();
    auto recomputed = engine->Reconfigure(compiled.value());
    if (!recomputed.ok()) {
      log.Error("reload rejected by the engine", {{"error", recomputed.error().message}});
      daemon_metrics->CountReload(false);
      notifier.Ready();
      return;
    }
    rules = compiled.value();
    writer->set_calendar(&rules->calendar());
    letters->set_calendar(&rules->calendar());
    figures->Resize(rules->department_count());
    engine_metrics->Rebind(*rules);
    daemon_metrics->SetOnTimeTargets(*rules);
    daemon_metrics->CountRecomputations(*recomputed);
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
    config.snapshot_interval = next.snapshot_interval;
    config.ingest = next.ingest;
    config.output = next.output;
    config.letters = next.letters;
    processor->set_max_clock_skew(config.ingest.max_clock_skew);
    fresh->set_max_age(config.output.max_age);
    log.set_level(config.log.level);
    log.Info("configuration reloaded",
             {{"procedures", std::to_string(rules->config().procedures.size())},
              {"departments", std::to_string(rules->department_count())},
              {"recomputed", std::to_string(*recomputed)},
              {"seconds", LogSeconds(loop.clock().Monotonic() - begin)}});
    processor->RearmTimer();
    notifier.Ready();
  }

  // --- stopping ---

  void StopTimers() {
    stopping = true;
    if (processor) processor->Stop();
    snapshot_timer->Cancel();
    watchdog_timer->Cancel();
    stats_timer->Cancel();
    signals.cancel();
    hangup.cancel();
    if (http) http->Stop();
    if (pusher) pusher->Stop();
  }

  // Graceful: stop fetching, deliver what is in flight, store and commit offsets, final snapshot.
  void Shutdown() {
    notifier.Stopping();
    StopTimers();
    health.ready = false;
    const bool ok =
        TakeSnapshot(/*final=*/true) || (!processor->caught_up_once() && writer->suppressing());
    processor->StoreDoneOffsets();
    if (Status c = consumer->CommitSync(); !c.ok()) {
      log.Warning("offset commit failed at shutdown", {{"error", c.error().message}});
    }
    consumer->Close();
    log.Info("stopped", {{"events", std::to_string(processor->events())},
                         {"alerts", std::to_string(writer->alerts())},
                         {"letters", std::to_string(writer->letters())},
                         {"dead_letters", std::to_string(writer->dead_letters())}});
    if (exit_code == 0 && !ok) exit_code = 1;
    io.stop();
  }

  void Fatal(const std::string& why) {
    if (stopping && exit_code != 0) return;
    log.Error("fatal: stopping", {{"error", why}});
    exit_code = 1;
    notifier.Stopping();
    StopTimers();
    io.stop();
  }

  Config config;
  std::string config_path;
  Logger log;
  Notifier notifier;
  asio::io_context io;
  AsioEventLoop loop;
  SnapshotStore store;
  asio::signal_set signals;
  asio::signal_set hangup;
  std::unique_ptr<Timer> snapshot_timer;
  std::unique_ptr<Timer> watchdog_timer;
  std::unique_ptr<Timer> stats_timer;

  std::shared_ptr<const rules::CompiledRules> rules;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<EngineMetrics> engine_metrics;
  std::unique_ptr<DaemonMetrics> daemon_metrics;
  std::unique_ptr<streams::KafkaProducer> producer;
  OffsetTracker offsets;
  std::unique_ptr<OutputWriter> writer;
  std::unique_ptr<AlertmanagerPusher> pusher;
  std::unique_ptr<AlertmanagerListener> alertmanager_listener;
  ListenerFanOut outputs;
  std::unique_ptr<FreshOutputs> fresh;
  ListenerFanOut engine_listeners;
  std::unique_ptr<rules::Engine> engine;
  std::unique_ptr<LiveProcessor> processor;
  std::unique_ptr<KafkaOutputLog> output_log;
  std::unique_ptr<StatePersistence> persistence;
  std::unique_ptr<streams::KafkaConsumer> consumer;
  std::unique_ptr<LetterStore> letters;
  std::unique_ptr<TimelineStore> timeline;
  std::unique_ptr<AttentionIndex> attention;
  std::unique_ptr<BoardFigures> figures;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> http;
  HealthState health;

  std::string mode;
  std::chrono::steady_clock::time_point started_at;
  bool ready = false;
  bool stopping = false;
  int exit_code = 0;
};

Daemon::Daemon(Config config, std::string config_path, std::ostream& log)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(config_path), log)) {}

Daemon::~Daemon() = default;

int Daemon::Run() { return impl_->Run(); }

}  // namespace ontime::daemon
