#pragma once
// The daemon's HTTP routes: /metrics, /healthz, /readyz, the read-only dossier API
// (GET /api/v1/dossiers, GET /api/v1/dossiers/{id}) and, given the views, the board (GET / and
// GET /api/v1/board), the dossier pages (GET /dossiers/{id}) and the apology letters as documents
// (GET /letters/{id}). With a token, every route but /metrics, /healthz and /readyz (those too
// when token_for_health) needs it: "Authorization: Bearer <token>", or the cookie ontime_token,
// which a first `?token=<token>` on any route sets (so a browser can open the board); compared
// in constant time; 401 with WWW-Authenticate: Bearer otherwise. Turns a request into a response;
// the HttpServer calls it on the event-loop thread, which is the engine's thread, so it reads the
// engine directly. Owns nothing: the engine, registry, metrics, health state and views outlive
// it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ontime/base/time.h"
#include "ontime/daemon/board.h"
#include "ontime/daemon/config.h"
#include "ontime/daemon/http_client.h"
#include "ontime/daemon/http_server.h"
#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/letter_store.h"
#include "ontime/daemon/members.h"
#include "ontime/daemon/metrics.h"
#include "ontime/daemon/timeline_store.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

struct HealthState {
  bool ready = false;
};

// Several instances in one group: which partitions are this instance's, who owns the others, and
// how a request reaches them. Without `local`, every dossier is answered here (one instance).
// GET /api/v1/dossiers/{id} and GET /dossiers/{id} for a dossier of a partition another instance
// owns are forwarded to it (with the bearer token and X-Ontime-Forwarded-By; a forwarded request
// is never forwarded again), its answer passed on with X-Ontime-Served-By; 503 (with Retry-After)
// when no instance owns the partition now or this one is still restoring it, 502 when the owner
// does not answer; each error names the partition (and the owner). Lists cover this instance's
// partitions and say so ("partitions", "members").
struct RouterCluster {
  std::function<LocalPartitions()> local;
  const MemberDirectory* directory = nullptr;
  using Forward = std::function<void(OutgoingRequest, std::function<void(Result<HttpResponse>)>)>;
  Forward forward;
};

// What the pages and the extended API read; each may be null (that part is then 404, or left
// out of the dossier API).
struct RouterViews {
  const LetterStore* letters = nullptr;
  const TimelineStore* timeline = nullptr;
  const AttentionIndex* attention = nullptr;
  const BoardFigures* figures = nullptr;
  const LettersConfig* letters_config = nullptr;
  std::string token;  // empty: no access control
  bool token_for_health = false;
  RouterCluster cluster = {};
};

class Router {
 public:
  static constexpr size_t kDefaultLimit = 100;
  static constexpr size_t kMaxLimit = 10000;
  static constexpr size_t kBoardLimit = 200;  // attention rows on the board by default

  Router(const rules::Engine& engine, prometheus::Registry& registry, EngineMetrics& metrics,
         DaemonMetrics& daemon_metrics, const HealthState& health, std::function<Instant()> now,
         RouterViews views = {});

  HttpResponse Handle(const HttpRequest& request);
  // `target` is "/path?query" as received (percent-encoded); no credentials.
  HttpResponse Handle(std::string_view target) { return Handle(HttpRequest{target, {}, {}}); }

 private:
  HttpResponse Route(const HttpRequest& request, std::string_view path, std::string_view query);
  HttpResponse Metrics();
  HttpResponse ListDossiers(std::string_view query);
  HttpResponse GetDossier(const HttpRequest& request, std::string_view path,
                          std::string_view encoded_id);
  HttpResponse Board(std::string_view query, bool page);
  HttpResponse DossierPage(const HttpRequest& request, std::string_view path,
                           std::string_view encoded_id);
  // The answer when the dossier `id` is not answered here (forwarded, or why not); nullopt when
  // it is. `path` is the request's, forwarded as is.
  std::optional<HttpResponse> Elsewhere(const std::string& id, const HttpRequest& request,
                                        std::string_view path, bool page);
  // A letter kept here; else asked of its dossier's owner, then of every other instance (the
  // letter stays with the instance that derived it, which may have owned the dossier before a
  // rebalance). A forwarded request is answered from here only.
  HttpResponse Letter(const HttpRequest& request, std::string_view path,
                      std::string_view encoded_id);
  HttpResponse AskOthersForLetter(const std::string& letter_id, std::string_view path,
                                  std::vector<PartitionOwner> instances);
  std::vector<LetterFields> LettersOf(std::string_view dossier_id) const;

  const rules::Engine& engine_;
  prometheus::Registry& registry_;
  EngineMetrics& metrics_;
  DaemonMetrics& daemon_metrics_;
  const HealthState& health_;
  std::function<Instant()> now_;
  RouterViews views_;
};

// Whether `given` equals `expected`, in time that depends on their lengths only.
bool ConstantTimeEquals(std::string_view given, std::string_view expected);

// Percent-decoding of one URL component ("+" is a space in a query); nullopt on a bad escape.
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space);

}  // namespace ontime::daemon
