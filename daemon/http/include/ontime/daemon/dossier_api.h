#pragma once
// The daemon's HTTP routes: /metrics, /healthz, /readyz and the read-only dossier API
// (GET /api/v1/dossiers, GET /api/v1/dossiers/{id}). Turns a request target into a response; the
// HttpServer calls it on the event-loop thread, which is the engine's thread, so it reads the
// engine directly. Owns nothing: the engine, registry, metrics and health state outlive it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/time.h"
#include "ontime/daemon/http_server.h"
#include "ontime/daemon/metrics.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

struct HealthState {
  bool ready = false;
};

class Router {
 public:
  static constexpr size_t kDefaultLimit = 100;
  static constexpr size_t kMaxLimit = 10000;

  Router(const rules::Engine& engine, prometheus::Registry& registry, EngineMetrics& metrics,
         DaemonMetrics& daemon_metrics, const HealthState& health, std::function<Instant()> now);

  // `target` is "/path?query" as received (percent-encoded).
  HttpResponse Handle(std::string_view target);

 private:
  HttpResponse Metrics();
  HttpResponse ListDossiers(std::string_view query);
  HttpResponse GetDossier(std::string_view encoded_id);

  const rules::Engine& engine_;
  prometheus::Registry& registry_;
  EngineMetrics& metrics_;
  DaemonMetrics& daemon_metrics_;
  const HealthState& health_;
  std::function<Instant()> now_;
};

// Percent-decoding of one URL component ("+" is a space in a query); nullopt on a bad escape.
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space);

}  // namespace ontime::daemon
