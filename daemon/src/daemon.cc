#include "ontime/daemon/daemon.h"

#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <deque>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "logging.h"
#include "ontime/base/clock.h"
#include "ontime/daemon/alertmanager.h"
#include "ontime/daemon/dossier_api.h"
#include "ontime/daemon/http_server.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/notify.h"
#include "ontime/daemon/snapshot_store.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/dead_letters.h"
#include "ontime/streams/event_pipeline.h"
#include "ontime/streams/json_output.h"
#include "ontime/streams/kafka_consumer.h"
#include "ontime/streams/kafka_producer.h"

#ifndef ONTIME_VERSION
#define ONTIME_VERSION "dev"
#endif

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr size_t kPollBatch = 500;
constexpr auto kPollInterval = 5ms;
constexpr auto kMaxTimerWait = 1000ms;
constexpr auto kFlushTimeout = std::chrono::milliseconds(30s);
constexpr auto kQueryTimeout = std::chrono::milliseconds(15s);
constexpr auto kScanTimeout = std::chrono::milliseconds(120s);
constexpr int kStartAttempts = 10;

std::string Seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::chrono::duration<double>(d).count());
  return buf;
}

// The value of `"field":"..."` in a JSON object we produced ourselves (ids need no unescaping
// beyond \" and \\, which AppendJsonString writes for those two characters).
std::optional<std::string> JsonStringField(std::string_view json, std::string_view field) {
  std::string needle = "\"" + std::string(field) + "\":\"";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::string value;
  for (size_t i = at + needle.size(); i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') return value;
    if (c == '\\' && i + 1 < json.size()) c = json[++i];
    value.push_back(c);
  }
  return std::nullopt;
}

bool ClosesDossier(rules::EventType type) {
  switch (type) {
    case rules::EventType::kRefused:
    case rules::EventType::kWithdrawn:
    case rules::EventType::kStopped:
    case rules::EventType::kResolved:
    case rules::EventType::kReturned:
    case rules::EventType::kExtended:
      return true;
    default:
      return false;
  }
}

streams::KafkaSettings Settings(const KafkaConfig& kafka) {
  streams::KafkaSettings s;
  s.brokers = kafka.brokers;
  s.client_id = kafka.client_id;
  s.group_id = kafka.group_id;
  s.properties = kafka.properties;
  return s;
}

bool SameKafka(const KafkaConfig& a, const KafkaConfig& b) {
  return a.brokers == b.brokers && a.group_id == b.group_id && a.client_id == b.client_id &&
         a.topics.events == b.topics.events && a.topics.alerts == b.topics.alerts &&
         a.topics.letters == b.topics.letters && a.topics.dead_letters == b.topics.dead_letters &&
         a.properties == b.properties;
}

}  // namespace

struct Daemon::Impl final : public rules::EngineListener {
  // An input message whose effects are not all confirmed yet.
  struct Pending {
    int64_t offset;
    int outputs;  // produced messages not yet acknowledged
  };

  Impl(Config c, std::string path, std::ostream& log_stream)
      : config(std::move(c)),
        config_path(std::move(path)),
        log(log_stream, config.log.level),
        store(config.state_dir),
        signals(io, SIGTERM, SIGINT),
        hangup(io, SIGHUP),
        poll_timer(io),
        engine_timer(io),
        snapshot_timer(io),
        watchdog_timer(io),
        stats_timer(io) {}

  // --- engine output: alerts and letters to Kafka (and Alertmanager) ---

  void OnAlert(const rules::Alert& alert) override {
    if (Stale(alert.detected_at)) {
      daemon_metrics->CountStaleAlert(alert.kind);
      return;
    }
    if (pusher) pusher->OnAlert(alert);
    if (Suppressed(alert.AlertId())) return;
    buffer.clear();
    streams::AppendAlertJson(buffer, alert, rules->calendar());
    Produce(config.kafka.topics.alerts, alert.dossier_id, buffer, {});
    ++alerts_sent;
    // A dossier going overdue now is worth a line; overdues re-derived from a backlog (thousands
    // when replaying a month) and every other alert only at debug, for `journalctl DOSSIER_ID=`.
    bool live_overdue =
        alert.kind == rules::AlertKind::kOverdue && clock.Now() - alert.detected_at < 1h;
    auto level = live_overdue ? LogLevel::kInfo : LogLevel::kDebug;
    if (log.Enabled(level)) {
      log.Log(level, "alert", {{"dossier_id", std::string(alert.dossier_id)},
                               {"department", std::string(alert.department)},
                               {"alert_kind", std::string(rules::ToString(alert.kind))}});
    }
  }

  void OnApologyLetter(const rules::ApologyLetter& letter) override {
    if (Stale(letter.issued_at)) {
      daemon_metrics->CountStaleLetter();
      return;
    }
    if (Suppressed(letter.LetterId())) return;
    buffer.clear();
    streams::AppendLetterJson(buffer, letter, rules->calendar());
    Produce(config.kafka.topics.letters, letter.dossier_id, buffer, {});
    ++letters_sent;
    if (log.Enabled(LogLevel::kDebug)) {
      log.Debug("apology letter", {{"dossier_id", std::string(letter.dossier_id)},
                                   {"department", std::string(letter.department)}});
    }
  }

  // An output about an instant older than output.max_age (a first start on months of history, a
  // catch-up after a long outage) mails nobody: the cycle still advances in the state.
  bool Stale(Instant at) {
    if (clock.Now() - at <= config.output.max_age) return false;
    if (stale_outputs++ == 0) {
      log.Info("not producing alerts and letters older than output.max_age",
               {{"max_age_seconds", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                       config.output.max_age)
                                                       .count())}});
    }
    return true;
  }

  void MakePipeline() {
    pipeline = std::make_unique<streams::EventPipeline>(*engine);
    pipeline->RejectFutureEvents(clock, config.ingest.max_clock_skew);
  }

  bool Suppressed(const std::string& id) {
    if (already_emitted.empty() || !already_emitted.contains(id)) return false;
    ++suppressed;
    return true;
  }

  // Produces one message on behalf of the input message being processed (if any): its offset is
  // stored only once the broker has acknowledged this one too.
  void Produce(const std::string& topic, std::string_view key, std::string_view value,
               const std::vector<streams::KafkaHeader>& headers) {
    uint64_t tag = 0;
    if (current_input) {
      tag = ++last_tag;
      tags[tag] = *current_input;
      ++pending[current_input->first].back().outputs;
    }
    Status s = producer->Produce(topic, key, value, tag, headers);
    if (!s.ok()) Fatal("producing to " + topic + " failed: " + s.error().message);
  }

  void OnDelivered(const streams::Delivery& d) {
    if (d.tag == 0) return;
    auto it = tags.find(d.tag);
    if (it == tags.end()) return;
    auto [partition, offset] = it->second;
    tags.erase(it);
    auto& queue = pending[partition];
    auto entry = std::lower_bound(queue.begin(), queue.end(), offset,
                                  [](const Pending& p, int64_t o) { return p.offset < o; });
    if (entry != queue.end() && entry->offset == offset) --entry->outputs;
  }

  // Stores, per partition, the offset after the longest prefix of fully done messages.
  void StoreDoneOffsets() {
    for (auto& [partition, queue] : pending) {
      int64_t done = -1;
      while (!queue.empty() && queue.front().outputs <= 0) {
        done = queue.front().offset;
        queue.pop_front();
      }
      if (done >= 0) consumer->StoreOffset(partition, done + 1);
    }
  }

  // --- input ---

  void HandleMessage(const streams::KafkaMessage& m) {
    pending[m.partition].push_back({m.offset, 0});
    current_input = {m.partition, m.offset};
    // Partitions are not in event-time order with each other: before an event, only the timers
    // every partition has passed fire (the watermark), and the event's own dossier's. With one
    // partition this is exactly replay's order.
    streams::ProcessedEvent r = pipeline->Process(
        m.value, rules::Engine::TimersBefore::kDossier, [this, &m](Instant occurred_at) {
          partition_event_time[m.partition] = occurred_at;
          AdvanceToWatermark();
        });
    if (r.invalid) {
      daemon_metrics->CountInvalid(r.reason);
      daemon_metrics->CountDeadLetter(r.reason);
      ++dead_letters;
      Produce(config.kafka.topics.dead_letters, m.key, m.value,
              streams::DeadLetterHeaders(r.reason, r.message, m.topic, m.partition, m.offset));
    } else {
      daemon_metrics->CountEvent(r.type);
      if (pusher && r.status == rules::ApplyStatus::kApplied && ClosesDossier(r.type)) {
        pusher->ResolveDossier(m.key, r.occurred_at);
      }
      last_event_lag = std::chrono::duration<double>(clock.Now() - r.occurred_at).count();
    }
    if (m.timestamp_ms) {
      last_message_lag =
          std::chrono::duration<double>(clock.Now() - Instant(Duration(*m.timestamp_ms))).count();
    }
    current_input.reset();
    next_offsets[m.partition] = m.offset + 1;
    ++events;
  }

  void PollLoop() {
    if (stopping) return;
    size_t n = consumer->Poll(kPollBatch, [this](const streams::KafkaMessage& m) {
      HandleMessage(m);
    });
    producer->Poll();
    if (producer->fatal_error()) {
      Fatal("kafka producer: " + *producer->fatal_error());
      return;
    }
    StoreDoneOffsets();
    if (auto e = consumer->TakeError()) LogKafkaError(*e);
    if (n > 0) {
      if (broker_trouble) {
        log.Info("kafka: consuming again");
        broker_trouble = false;
      }
      ArmEngineTimer();  // an event may have brought a timer closer
    }
    if (!caught_up_once && consumer->caught_up()) OnCaughtUp();
    // Poll again at once while messages come (a short batch only means librdkafka's prefetch
    // queue was momentarily empty); sleep only when nothing came.
    if (n > 0) {
      asio::post(io, [this] { PollLoop(); });
    } else {
      poll_timer.expires_after(kPollInterval);
      poll_timer.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) PollLoop();
      });
    }
  }

  // Fires the timers every partition has passed in event time: the earliest of the latest event
  // times of the partitions that still have a backlog (the current one included). Once all are at their end the wall clock
  // takes over (ArmEngineTimer).
  void AdvanceToWatermark() {
    Instant watermark = Instant::max();
    for (int32_t p : consumer->assignment()) {
      if (consumer->at_end(p)) continue;
      auto it = partition_event_time.find(p);
      if (it == partition_event_time.end()) return;  // nothing read there yet
      watermark = std::min(watermark, it->second);
    }
    if (watermark != Instant::max()) engine->AdvanceTo(watermark);
  }

  void LogKafkaError(const std::string& error) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_kafka_log < 10s) return;
    last_kafka_log = now;
    broker_trouble = true;
    log.Warning("kafka: client error (retrying)", {{"error", error}});
  }

  // The backlog is consumed: wall-clock timers may fire from now on.
  void OnCaughtUp() {
    caught_up_once = true;
    engine->AdvanceTo(clock.Now());
    log.Info("caught up with the input", {{"events", std::to_string(events)},
                                          {"suppressed_duplicates", std::to_string(suppressed)},
                                          {"stale_outputs", std::to_string(stale_outputs)},
                                          {"dossiers", std::to_string(engine->dossiers_tracked())},
                                          {"seconds", Seconds(std::chrono::steady_clock::now() -
                                                              started_at)}});
    // Everything emitted before the restart has been re-derived by now; ids are never re-emitted.
    already_emitted.clear();
    stale_outputs = 0;  // the next catch-up (after an outage) says it again
    ArmEngineTimer();
  }

  void OnAssigned(const std::vector<int32_t>& partitions) {
    std::string list;
    for (int32_t p : partitions) list += (list.empty() ? "" : ",") + std::to_string(p);
    log.Info("kafka: partitions assigned", {{"topic", config.kafka.topics.events},
                                            {"partitions", list.empty() ? "none" : list}});
    if (!ready && !partitions.empty()) {
      ready = true;
      health.ready = true;
      daemon_metrics->SetReady(true);
      notifier.Ready();
    }
  }

  // --- wall-clock timers ---

  void ArmEngineTimer() {
    if (stopping) return;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxTimerWait);
    if (auto next = engine->next_timer()) {
      // AdvanceTo fires timers strictly earlier than now: wake 1 ms after the instant.
      auto until = *next - clock.Now() + 1ms;
      wait = std::clamp<std::chrono::milliseconds>(until, 0ms, wait);
    }
    auto deadline = std::chrono::steady_clock::now() + wait;
    if (engine_timer_armed && engine_timer.expiry() <= deadline) return;
    engine_timer_armed = true;
    engine_timer.expires_at(deadline);
    engine_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      engine_timer_armed = false;
      if (caught_up_once && consumer->caught_up()) engine->AdvanceTo(clock.Now());
      ArmEngineTimer();
    });
  }

  void ArmSnapshotTimer() {
    snapshot_timer.expires_after(config.snapshot_interval);
    snapshot_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      TakeSnapshot(/*final=*/false);
      ArmSnapshotTimer();
    });
  }

  void ArmWatchdog() {
    auto interval = notifier.watchdog_interval();
    if (!interval) return;
    notifier.Watchdog();
    watchdog_timer.expires_after(*interval);
    watchdog_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ArmWatchdog();
    });
  }

  void ArmStats() {
    daemon_metrics->SetEngineSizes(engine->dossiers_tracked(), engine->timers_pending());
    daemon_metrics->SetEventLag(last_event_lag);
    daemon_metrics->SetConsumerLagSeconds(last_message_lag);
    for (const auto& [p, lag] : consumer->Lag()) daemon_metrics->SetConsumerLag(p, lag);
    stats_timer.expires_after(1s);
    stats_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ArmStats();
    });
  }

  // --- snapshots ---

  // Flushes the producer (so the state never claims an output the broker lacks), records where
  // input and outputs stand, and writes the engine. Skipped before the restart has caught up:
  // the output topics' ends would then cover ids the engine has not re-derived yet.
  bool TakeSnapshot(bool final) {
    // While catching up after a restart, outputs found in the output topics are being
    // re-derived and suppressed; a snapshot then would record output ends past ids it has not
    // re-derived yet. With nothing to suppress, a snapshot is safe at any time.
    if (!caught_up_once && !already_emitted.empty()) {
      log.Warning("snapshot skipped: still catching up with the input");
      return false;
    }
    auto begin = std::chrono::steady_clock::now();
    if (!producer->Flush(final ? kFlushTimeout : std::chrono::milliseconds(10s))) {
      log.Warning("snapshot skipped: producer could not deliver everything",
                  {{"in_flight", std::to_string(producer->in_flight())}});
      return false;
    }
    StoreDoneOffsets();
    SnapshotMeta meta;
    meta.written_at = clock.Now();
    meta.input_topic = config.kafka.topics.events;
    meta.input_offsets = next_offsets;
    for (const std::string* topic : {&config.kafka.topics.alerts, &config.kafka.topics.letters}) {
      auto ends = streams::EndOffsets(Settings(config.kafka), *topic, kQueryTimeout);
      if (!ends.ok()) {
        log.Warning("snapshot skipped: cannot read output end offsets",
                    {{"error", ends.error().message}});
        return false;
      }
      meta.output_ends[*topic] = *ends;
    }
    Status written = store.Write(meta, [this](std::ostream& out) { engine->Save(out); });
    if (!written.ok()) {
      log.Error("snapshot failed", {{"error", written.error().message}});
      return false;
    }
    log.Log(final ? LogLevel::kInfo : LogLevel::kDebug, "snapshot written",
            {{"path", store.path()},
             {"dossiers", std::to_string(engine->dossiers_tracked())},
             {"seconds", Seconds(std::chrono::steady_clock::now() - begin)}});
    return true;
  }

  // --- start-up: restore state, find what was already emitted ---

  enum class StartResult { kOk, kConfig, kFailed };

  StartResult Restore() {
    notifier.Status("restoring state");
    notifier.ExtendTimeout(std::chrono::microseconds(kScanTimeout) * 2);
    auto read = store.Read();
    std::optional<Snapshot> snapshot;
    if (!read.ok()) {
      log.Error("snapshot unreadable: rebuilding from the input",
                {{"error", read.error().message}});
    } else {
      snapshot = std::move(read.value());
    }
    if (snapshot && snapshot->meta.input_topic != config.kafka.topics.events) {
      log.Warning("snapshot is for another input topic: rebuilding from the input",
                  {{"snapshot_topic", snapshot->meta.input_topic},
                   {"topic", config.kafka.topics.events}});
      snapshot.reset();
    }
    if (snapshot) {
      std::istringstream in(std::move(snapshot->engine));
      if (Status loaded = engine->Load(in); !loaded.ok()) {
        log.Error("snapshot rejected by the engine: rebuilding from the input",
                  {{"error", loaded.error().message}});
        snapshot.reset();
        engine = std::make_unique<rules::Engine>(rules, engine_metrics.get());
        MakePipeline();
      }
    }
    mode = snapshot ? "snapshot" : "rebuild";
    if (snapshot) next_offsets = snapshot->meta.input_offsets;

    // What was emitted after the snapshot (or ever, on a rebuild) must not be emitted again.
    notifier.Status("reading emitted alerts and letters");
    notifier.ExtendTimeout(std::chrono::microseconds(kScanTimeout) * 2);
    for (const auto& [topic, field] :
         {std::pair{config.kafka.topics.alerts, "alert_id"},
          std::pair{config.kafka.topics.letters, "letter_id"}}) {
      streams::PartitionOffsets from;
      if (snapshot) {
        auto it = snapshot->meta.output_ends.find(topic);
        if (it != snapshot->meta.output_ends.end()) from = it->second;
      }
      Status scanned = Error{"", ""};
      for (int attempt = 1; attempt <= kStartAttempts && !scanned.ok(); ++attempt) {
        scanned = streams::ScanTopic(Settings(config.kafka), topic, from, kScanTimeout,
                                     [&](const streams::KafkaMessage& m) {
                                       if (auto id = JsonStringField(m.value, field)) {
                                         already_emitted.insert(std::move(*id));
                                       }
                                     });
        if (!scanned.ok()) {
          log.Warning("cannot read an output topic yet",
                      {{"topic", topic}, {"attempt", std::to_string(attempt)},
                       {"error", scanned.error().message}});
        }
      }
      if (!scanned.ok()) {
        log.Error("giving up: output topic unreadable", {{"topic", topic}});
        return StartResult::kFailed;
      }
    }
    auto seconds = Seconds(std::chrono::steady_clock::now() - started_at);
    log.Info("state restored", {{"mode", mode},
                                {"dossiers", std::to_string(engine->dossiers_tracked())},
                                {"timers", std::to_string(engine->timers_pending())},
                                {"already_emitted", std::to_string(already_emitted.size())},
                                {"seconds", seconds}});
    daemon_metrics->CountRestart(mode);
    notifier.Status("state restored (" + mode + "), waiting for partitions");
    return StartResult::kOk;
  }

  // --- signals ---

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
    auto begin = std::chrono::steady_clock::now();
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
    engine_metrics->Rebind(*rules);
    daemon_metrics->SetOnTimeTargets(*rules);
    daemon_metrics->CountRecomputations(*recomputed);
    daemon_metrics->CountReload(true);
    const Config& fresh = *loaded.config;
    if (!SameKafka(fresh.kafka, config.kafka)) {
      log.Warning("reload: kafka settings changed; they take effect after a restart");
    }
    if (fresh.http.listen != config.http.listen || fresh.state_dir != config.state_dir ||
        fresh.alertmanager.url != config.alertmanager.url) {
      log.Warning("reload: http, state_dir or alertmanager changed; restart to apply");
    }
    config.rules = fresh.rules;
    config.log = fresh.log;
    config.ingest = fresh.ingest;
    config.output = fresh.output;
    pipeline->RejectFutureEvents(clock, config.ingest.max_clock_skew);
    config.snapshot_interval = fresh.snapshot_interval;
    log.set_level(config.log.level);
    log.Info("configuration reloaded",
             {{"procedures", std::to_string(rules->config().procedures.size())},
              {"departments", std::to_string(rules->department_count())},
              {"recomputed", std::to_string(*recomputed)},
              {"seconds", Seconds(std::chrono::steady_clock::now() - begin)}});
    ArmEngineTimer();
    notifier.Ready();
  }

  void StopTimers() {
    stopping = true;
    poll_timer.cancel();
    engine_timer.cancel();
    snapshot_timer.cancel();
    watchdog_timer.cancel();
    stats_timer.cancel();
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
    bool ok = TakeSnapshot(/*final=*/true) || (!caught_up_once && !already_emitted.empty());
    StoreDoneOffsets();
    if (Status c = consumer->CommitSync(); !c.ok()) {
      log.Warning("offset commit failed at shutdown", {{"error", c.error().message}});
    }
    consumer->Close();
    log.Info("stopped", {{"events", std::to_string(events)},
                         {"alerts", std::to_string(alerts_sent)},
                         {"letters", std::to_string(letters_sent)},
                         {"dead_letters", std::to_string(dead_letters)}});
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

  int Run() {
    started_at = std::chrono::steady_clock::now();
    auto compiled = rules::CompiledRules::Compile(config.rules);
    if (!compiled.ok()) {
      log.Error("rules do not compile", {{"error", compiled.error().message}});
      return kExitConfig;
    }
    rules = compiled.value();
    engine_metrics = std::make_unique<EngineMetrics>(*registry, *rules);
    daemon_metrics = std::make_unique<DaemonMetrics>(*registry, ONTIME_VERSION);
    daemon_metrics->SetOnTimeTargets(*rules);
    engine_metrics->set_next(this);
    engine = std::make_unique<rules::Engine>(rules, engine_metrics.get());
    MakePipeline();
    log.Info("starting", {{"version", ONTIME_VERSION},
                          {"brokers", config.kafka.brokers},
                          {"group", config.kafka.group_id},
                          {"input", config.kafka.topics.events},
                          {"state_dir", config.state_dir}});

    auto made = streams::KafkaProducer::Create(
        Settings(config.kafka), [this](const streams::Delivery& d) { OnDelivered(d); });
    if (!made.ok()) {
      log.Error("kafka producer", {{"error", made.error().message}});
      return made.error().code == "kafka_config" ? kExitConfig : 1;
    }
    producer = std::move(made.value());

    if (Restore() != StartResult::kOk) return 1;

    auto consumer_made = streams::KafkaConsumer::Create(
        Settings(config.kafka), config.kafka.topics.events,
        [this](int32_t partition) -> std::optional<int64_t> {
          auto it = next_offsets.find(partition);
          if (it == next_offsets.end()) return std::nullopt;
          return it->second;
        },
        [this](const std::vector<int32_t>& partitions) { OnAssigned(partitions); });
    if (!consumer_made.ok()) {
      log.Error("kafka consumer", {{"error", consumer_made.error().message}});
      return consumer_made.error().code == "kafka_config" ? kExitConfig : 1;
    }
    consumer = std::move(consumer_made.value());

    if (!config.alertmanager.url.empty()) {
      pusher = std::make_unique<AlertmanagerPusher>(io, config.alertmanager,
                                                    daemon_metrics.get(),
                                                    [this] { return clock.Now(); });
      pusher->Start();
    }
    router = std::make_unique<Router>(*engine, *registry, *engine_metrics, *daemon_metrics,
                                      health, [this] { return clock.Now(); });
    auto server = HttpServer::Start(io, config.http.listen, [this](std::string_view target) {
      return router->Handle(target);
    });
    if (!server.ok()) {
      log.Error("http server", {{"listen", config.http.listen},
                                {"error", server.error().message}});
      return 1;
    }
    http = std::move(server.value());
    log.Info("http listening", {{"address", config.http.listen},
                                {"port", std::to_string(http->port())}});

    WaitSignals();
    PollLoop();
    ArmEngineTimer();
    ArmSnapshotTimer();
    ArmWatchdog();
    ArmStats();
    io.run();
    return exit_code;
  }

  Config config;
  std::string config_path;
  Logger log;
  Notifier notifier;
  SystemClock clock;
  size_t stale_outputs = 0;  // since the last catch-up
  SnapshotStore store;
  asio::io_context io;
  asio::signal_set signals;
  asio::signal_set hangup;
  asio::steady_timer poll_timer;
  asio::steady_timer engine_timer;
  asio::steady_timer snapshot_timer;
  asio::steady_timer watchdog_timer;
  asio::steady_timer stats_timer;
  bool engine_timer_armed = false;

  std::shared_ptr<const rules::CompiledRules> rules;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<EngineMetrics> engine_metrics;
  std::unique_ptr<DaemonMetrics> daemon_metrics;
  std::unique_ptr<rules::Engine> engine;
  std::unique_ptr<streams::EventPipeline> pipeline;
  std::unique_ptr<streams::KafkaProducer> producer;
  std::unique_ptr<streams::KafkaConsumer> consumer;
  std::unique_ptr<AlertmanagerPusher> pusher;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> http;
  HealthState health;

  std::map<int32_t, int64_t> next_offsets;  // per partition: the next input offset to process
  std::map<int32_t, std::deque<Pending>> pending;
  std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> tags;
  std::optional<std::pair<int32_t, int64_t>> current_input;
  uint64_t last_tag = 0;
  std::unordered_set<std::string> already_emitted;
  std::string buffer;
  std::string mode;

  std::chrono::steady_clock::time_point started_at;
  std::chrono::steady_clock::time_point last_kafka_log{};
  bool broker_trouble = false;
  bool caught_up_once = false;
  std::map<int32_t, Instant> partition_event_time;  // the last event's occurred_at, by partition
  bool ready = false;
  bool stopping = false;
  int exit_code = 0;
  double last_event_lag = 0;
  double last_message_lag = 0;
  uint64_t events = 0;
  uint64_t alerts_sent = 0;
  uint64_t letters_sent = 0;
  uint64_t dead_letters = 0;
  uint64_t suppressed = 0;
};

Daemon::Daemon(Config config, std::string config_path, std::ostream& log)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(config_path), log)) {}

Daemon::~Daemon() = default;

int Daemon::Run() { return impl_->Run(); }

}  // namespace ontime::daemon
