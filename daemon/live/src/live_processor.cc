#include "ontime/daemon/live_processor.h"

#include <algorithm>

namespace ontime::daemon {
namespace {

using namespace std::chrono_literals;

constexpr auto kPollInterval = 5ms;
constexpr auto kMaxTimerWait = 1000ms;
constexpr auto kErrorLogInterval = 10s;
constexpr auto kMisroutedLogInterval = 60s;

}  // namespace

LiveProcessor::LiveProcessor(EventLoop& loop, rules::Engine& engine, streams::OutputSink& sink,
                             OutputWriter& writer, DaemonMetrics& metrics, Logger& log, Hooks hooks)
    : loop_(loop),
      engine_(engine),
      sink_(sink),
      writer_(writer),
      metrics_(metrics),
      log_(log),
      hooks_(std::move(hooks)),
      pipeline_(engine),
      poll_timer_(loop.CreateTimer()),
      engine_timer_(loop.CreateTimer()) {}

LiveProcessor::~LiveProcessor() = default;

void LiveProcessor::set_max_clock_skew(Duration skew) {
  pipeline_.RejectFutureEvents(loop_.clock(), skew);
}

void LiveProcessor::Start(streams::EventSource& source) {
  source_ = &source;
  stopped_ = false;
  PollLoop();
  ArmEngineTimer();
}

void LiveProcessor::Stop() {
  stopped_ = true;
  poll_timer_->Cancel();
  engine_timer_->Cancel();
  engine_wake_.reset();
}

void LiveProcessor::PollLoop() {
  if (stopped_) return;
  timer_budget_ = kTimersPerTurn;
  const bool accepting = !hooks_.accepting || hooks_.accepting();
  if (accepting && hooks_.input_taken) hooks_.input_taken(loop_.clock().Monotonic());
  const size_t n =
      accepting
          ? source_->Poll(kPollBatch, [this](const streams::KafkaMessage& m) { HandleMessage(m); })
          : 0;
  if (n > 0) UpdateLags();
  if (n > 0 && hooks_.changed) hooks_.changed();
  sink_.Poll();
  if (const auto& fatal = sink_.fatal_error()) {
    hooks_.fatal("kafka producer: " + *fatal);
    return;
  }
  if (auto error = source_->TakeError()) LogSourceError(*error);
  if (n > 0 && source_trouble_) {
    log_.Info("kafka: consuming again");
    source_trouble_ = false;
  }
  // An event may have brought a timer closer; an empty poll may mean the input is consumed, and a
  // timer already due then fires at once.
  ArmEngineTimer();
  if (!caught_up_once_ && source_->caught_up()) OnCaughtUp();
  if (stopped_) return;
  // Poll again at once while messages come (a short batch only means the client's prefetch
  // queue was momentarily empty); sleep only when nothing came.
  if (n > 0) {
    loop_.Post([this] { PollLoop(); });
  } else {
    poll_timer_->Arm(std::chrono::duration_cast<std::chrono::milliseconds>(kPollInterval),
                     [this] { PollLoop(); });
  }
}

void LiveProcessor::HandleMessage(const streams::KafkaMessage& m) {
  if (partitions_ > 0) CheckPartition(m);
  streams::ProcessedEvent r = pipeline_.Process(
      m.value, rules::Engine::TimersBefore::kDossier,
      [this, &m](Instant occurred_at) {
        watermark_.Observe(m.partition, occurred_at);
        AdvanceToWatermark();
      },
      m.partition);
  if (r.invalid) {
    metrics_.CountInvalid(r.reason);
    metrics_.CountDeadLetter(r.reason);
    writer_.DeadLetter(m, r.reason, r.message);
  } else {
    metrics_.CountEvent(r.type);
    metrics_.CountSkipped(r.status);
    last_occurred_at_ = r.occurred_at;
  }
  if (m.timestamp_ms) last_timestamp_ = Instant(Duration(*m.timestamp_ms));
  if (hooks_.consumed) hooks_.consumed(m.partition, m.offset + 1);
  ++events_;
}

void LiveProcessor::CheckPartition(const streams::KafkaMessage& m) {
  const std::optional<int32_t> expected =
      streams::PartitionForKey(m.key, partitions_, partitioner_);
  if (!expected || *expected == m.partition) return;  // no key: the pipeline says so
  ++misrouted_;
  metrics_.CountMisrouted();
  const auto now = loop_.clock().Monotonic();
  if (misrouted_log_ && now - *misrouted_log_ < kMisroutedLogInterval) return;
  misrouted_log_ = now;
  log_.Warning("kafka: an event arrived on another partition than its key's",
               {{"key", std::string(m.key)},
                {"partition", std::to_string(m.partition)},
                {"expected", std::to_string(*expected)},
                {"partitioner", std::string(streams::PartitionerName(partitioner_))},
                {"misrouted_since_last_line", std::to_string(misrouted_ - misrouted_logged_)},
                {"hint",
                 "set kafka.input_partitioner to the producers' partitioner (murmur2_random for "
                 "Java producers), and key every event by its dossier_id"}});
  misrouted_logged_ = misrouted_;
}

// The lags of the batch's last event and message: one clock read a batch, not one an event.
void LiveProcessor::UpdateLags() {
  const Instant now = loop_.clock().Now();
  if (last_occurred_at_) {
    last_event_lag_ = std::chrono::duration<double>(now - *last_occurred_at_).count();
  }
  if (last_timestamp_) {
    last_message_lag_ = std::chrono::duration<double>(now - *last_timestamp_).count();
  }
  last_occurred_at_.reset();
  last_timestamp_.reset();
}

void LiveProcessor::AdvanceToWatermark() {
  if (auto watermark = watermark_.Value(*source_)) engine_.AdvanceTo(*watermark, timer_budget_);
}

void LiveProcessor::OnCaughtUp() {
  caught_up_once_ = true;
  if (hooks_.input_taken) hooks_.input_taken(loop_.clock().Monotonic());
  engine_.AdvanceTo(loop_.clock().Now(), timer_budget_);  // the rest on the next turns
  if (hooks_.changed) hooks_.changed();
  if (hooks_.caught_up) hooks_.caught_up();
  ArmEngineTimer();
}

void LiveProcessor::ArmEngineTimer() {
  if (stopped_) return;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxTimerWait);
  if (auto next = engine_.next_timer()) {
    // AdvanceTo fires timers strictly earlier than now: wake 1 ms after the instant.
    auto until =
        std::chrono::duration_cast<std::chrono::milliseconds>(*next - loop_.clock().Now() + 1ms);
    wait = std::clamp<std::chrono::milliseconds>(until, 0ms, wait);
  }
  // A timer already due fires on the wall clock only once the input is consumed; while events
  // still come (at 10 k/s the consumer is rarely at every partition's end), look again after a
  // poll interval rather than spin on a 0 ms timer.
  if (wait == 0ms && !(caught_up_once_ && source_->caught_up())) {
    wait = std::chrono::duration_cast<std::chrono::milliseconds>(kPollInterval);
  }
  const auto wake = loop_.clock().Monotonic() + wait;
  if (engine_wake_ && *engine_wake_ <= wake) return;
  engine_wake_ = wake;
  engine_timer_->Arm(wait, [this] {
    engine_wake_.reset();
    if (caught_up_once_ && source_->caught_up()) {
      timer_budget_ = kTimersPerTurn;
      if (hooks_.input_taken) hooks_.input_taken(loop_.clock().Monotonic());
      // Timers left over (the budget ran out) keep next_timer() in the past: the next turn goes
      // on at once.
      engine_.AdvanceTo(loop_.clock().Now(), timer_budget_);
      if (hooks_.changed) hooks_.changed();
    }
    ArmEngineTimer();
  });
}

void LiveProcessor::LogSourceError(const std::string& error) {
  const auto now = loop_.clock().Monotonic();
  if (now - last_error_log_ < kErrorLogInterval) return;
  last_error_log_ = now;
  source_trouble_ = true;
  log_.Warning("kafka: client error (retrying)", {{"error", error}});
}

}  // namespace ontime::daemon
