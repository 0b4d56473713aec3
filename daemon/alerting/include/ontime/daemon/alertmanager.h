#pragma once
// Pushes the engine's alerts to Prometheus Alertmanager (POST <url>/api/v2/alerts), so SLA alerts
// reach the same routing, silences and receivers as every other alert. Keeps the set of active
// alerts keyed by alert_id: new ones are pushed within ~200 ms (batched), all active ones are
// re-sent every resend_interval so Alertmanager does not expire them, and resolved ones are sent
// once with endsAt and dropped. Asynchronous on the caller's io_context (the engine's thread):
// never blocks the loop, at most one request in flight, failures counted and retried on the next
// tick. http:// or https:// (the CA file given, else the system's; the certificate must name the
// URL's host or IP address; an optional client certificate), with a bearer token or basic auth.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "ontime/base/result.h"
#include "ontime/base/time.h"
#include "ontime/daemon/config.h"
#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/metrics.h"
#include "ontime/rules/output.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ontime::daemon {

class AlertmanagerPusher final : public rules::EngineListener {
 public:
  // How long new alerts wait for company before a push.
  static constexpr std::chrono::milliseconds kBatchDelay{200};

  // `metrics` may be null. Nothing is sent before Start().
  AlertmanagerPusher(boost::asio::io_context& io, const AlertmanagerConfig& config,
                     DaemonMetrics* metrics);
  ~AlertmanagerPusher() override;  // Stop()s
  AlertmanagerPusher(const AlertmanagerPusher&) = delete;
  AlertmanagerPusher& operator=(const AlertmanagerPusher&) = delete;

  // Records an active alert (keyed by alert_id). An overdue alert for cycle n also resolves the
  // at_risk alert of cycle n, which it supersedes.
  void OnAlert(const rules::Alert& alert) override;
  // The dossier closed or moved to a new cycle: its active alerts end at `at`.
  void ResolveDossier(std::string_view dossier_id, Instant at);
  // After a restart: the alerts a restored open dossier still has, with the labels they fired
  // with (the same alert_id, hence the same Alertmanager fingerprint). Overdue: the last breach's
  // (its letter's cycle and department, when `last_letter` is given; else the cycle before the
  // current one); at risk while running: the current cycle's. Returns how many it recorded.
  size_t RestoreDossier(const rules::DossierView& dossier, const rules::CompiledRules& rules,
                        const LetterFields* last_letter, Instant now);

  void Start();
  // Cancels the timers and any request in flight. On the io_context's thread, or while it is not
  // running.
  void Stop();

  // Alerts held: active ones and resolved ones not yet delivered.
  size_t active() const;
  // Requests completed so far (delivered or failed), for tests and logs.
  size_t pushes_ok() const;
  size_t pushes_failed() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ontime::daemon
