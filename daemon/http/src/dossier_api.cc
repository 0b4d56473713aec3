#include "ontime/daemon/dossier_api.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "ontime/daemon/letter_document.h"
#include "ontime/daemon/pages.h"
#include "ontime/streams/json_output.h"
#include "ontime/streams/json_writer.h"

namespace ontime::daemon {
namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kDossiersPath = "/api/v1/dossiers";
constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kTokenCookie = "ontime_token";

HttpResponse Html(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::string(kHtml);
  response.body = std::move(body);
  // The pages load nothing from elsewhere and run only their own inline script.
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

// The part after "<prefix>/" of `path`, or nullopt when `path` is not under it.
std::optional<std::string_view> Under(std::string_view path, std::string_view prefix) {
  if (path.size() <= prefix.size() + 1 || !path.starts_with(prefix) || path[prefix.size()] != '/') {
    return std::nullopt;
  }
  return path.substr(prefix.size() + 1);
}

// `name`'s value in a Cookie field ("a=1; ontime_token=x").
std::string_view CookieValue(std::string_view cookie, std::string_view name) {
  while (!cookie.empty()) {
    const size_t semicolon = cookie.find(';');
    std::string_view pair = cookie.substr(0, semicolon);
    cookie =
        semicolon == std::string_view::npos ? std::string_view() : cookie.substr(semicolon + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
  }
  return {};
}

HttpResponse Text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse JsonError(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::string(kJson);
  streams::JsonWriter(response.body).BeginObject().Field("error", message).EndObject();
  response.body.push_back('\n');
  return response;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class StateFilter { kOpen, kAtRisk, kOverdue, kPaused };

bool Matches(StateFilter filter, const rules::DossierView& d) {
  if (d.state != rules::DossierState::kOpen) return false;
  switch (filter) {
    case StateFilter::kOpen: return true;
    case StateFilter::kAtRisk: return d.at_risk;
    case StateFilter::kOverdue: return d.overdue;
    case StateFilter::kPaused: return d.paused;
  }
  return false;
}

// Which partitions a list covers: this instance's (those restoring included: their dossiers so
// far), and where the others are, so that a client can ask each member for the rest.
void WriteCoverage(streams::JsonWriter& w, const LocalPartitions& local,
                   const MemberDirectory* directory) {
  w.Key("instance").String(local.instance);
  w.Key("input_partitions").Int(local.input_partitions);
  w.Key("partitions").BeginArray();
  for (int32_t p : local.assigned) w.Int(p);
  w.EndArray();
  w.Key("restoring").BeginArray();
  for (int32_t p : local.restoring) w.Int(p);
  w.EndArray();
  w.Key("complete")
      .Bool(local.input_partitions > 0 &&
            local.assigned.size() == static_cast<size_t>(local.input_partitions) &&
            local.restoring.empty());
  w.Key("members").BeginArray();
  if (directory != nullptr) {
    for (const auto& [instance, record] : directory->members()) {
      if (instance == local.instance) continue;
      w.BeginObject().Field("instance", instance).Field("http", record.http);
      w.Key("partitions").BeginArray();
      for (int32_t p : record.partitions) w.Int(p);
      w.EndArray().EndObject();
    }
  }
  w.EndArray();
}

// A dossier that cannot be answered here: JSON for the API, a page for /dossiers/{id}.
HttpResponse Unavailable(int status, bool page, const std::string& message, int32_t partition,
                         const PartitionOwner* owner) {
  HttpResponse response;
  if (page) {
    response = Html(
        status,
        MessagePage(status == 502 ? "Owner not answering" : "Temporarily unavailable", message));
  } else {
    response.status = status;
    response.content_type = std::string(kJson);
    streams::JsonWriter w(response.body);
    w.BeginObject().Field("error", message);
    if (partition >= 0) w.Key("partition").Int(partition);
    if (owner != nullptr) w.Field("owner", owner->instance).Field("owner_http", owner->http);
    w.EndObject();
    response.body.push_back('\n');
  }
  if (status == 503) response.headers.emplace_back("Retry-After", "2");
  return response;
}

}  // namespace

std::optional<HttpResponse> Router::Elsewhere(const std::string& id, const HttpRequest& request,
                                              std::string_view path, bool page) {
  if (!views_.cluster.local || views_.cluster.directory == nullptr) return std::nullopt;
  const LocalPartitions local = views_.cluster.local();
  Placement place = PlaceDossier(id, local, *views_.cluster.directory);
  const std::string where =
      "dossier \"" + id + "\" is in partition " + std::to_string(place.partition);
  switch (place.kind) {
    case Placement::Kind::kHere: return std::nullopt;
    case Placement::Kind::kNotKnownYet:
      return Unavailable(503, page,
                         "this instance does not know the input's partitions yet (starting); "
                         "try again in a few seconds",
                         -1, nullptr);
    case Placement::Kind::kRestoringHere:
      return Unavailable(503, page,
                         where + ", which this instance (" + local.instance +
                             ") is restoring from the changelog; try again in a few seconds",
                         place.partition, nullptr);
    case Placement::Kind::kNoOwner:
      return Unavailable(503, page,
                         where +
                             ", which no instance owns now (a rebalance under way, or its "
                             "owner stopped); try again in a few seconds",
                         place.partition, nullptr);
    case Placement::Kind::kElsewhere: break;
  }
  if (!request.forwarded_by.empty() || !views_.cluster.forward) {
    return Unavailable(503, page,
                       where + ", which " + place.owner.instance + " owns, not this instance (" +
                           local.instance + "); " +
                           (request.forwarded_by.empty()
                                ? std::string("no forwarding here")
                                : "forwarded here by " + std::string(request.forwarded_by) +
                                      ", it is not forwarded again"),
                       place.partition, &place.owner);
  }
  OutgoingRequest out{place.owner.http, std::string(path), {}};
  out.headers.emplace_back(std::string(kForwardedByField), local.instance);
  if (!views_.token.empty()) out.headers.emplace_back("Authorization", "Bearer " + views_.token);
  HttpResponse response;
  response.deferred = [forward = views_.cluster.forward, out = std::move(out), where,
                       owner = place.owner, partition = place.partition,
                       page](HttpRespond respond) mutable {
    forward(std::move(out), [respond = std::move(respond), where, owner, partition,
                             page](Result<HttpResponse> answer) {
      if (!answer.ok()) {
        respond(Unavailable(502, page,
                            where + ", whose owner " + owner.instance + " (" + owner.http +
                                ") did not answer: " + answer.error().message,
                            partition, &owner));
        return;
      }
      HttpResponse got = std::move(answer).value();
      got.headers.emplace_back("X-Ontime-Served-By", owner.instance);
      respond(std::move(got));
    });
  };
  return response;
}

bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    const char e = expected.empty() ? '\0' : expected[i % expected.size()];
    diff |= static_cast<unsigned char>(given[i] ^ e);
  }
  return diff == 0;
}

std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Router::Router(const rules::Engine& engine, prometheus::Registry& registry, EngineMetrics& metrics,
               DaemonMetrics& daemon_metrics, const HealthState& health,
               std::function<Instant()> now, RouterViews views)
    : engine_(engine),
      registry_(registry),
      metrics_(metrics),
      daemon_metrics_(daemon_metrics),
      health_(health),
      now_(std::move(now)),
      views_(std::move(views)) {}

HttpResponse Router::Handle(const HttpRequest& request) {
  const std::string_view target = request.target;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  // "token=..." (a browser's first visit) is taken out of the query before routing.
  std::string rest;
  std::optional<std::string> query_token;
  if (query.find("token=") != std::string_view::npos) {
    std::string_view q = query;
    while (!q.empty()) {
      const size_t amp = q.find('&');
      const std::string_view pair = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      if (pair.starts_with("token=")) {
        query_token = UrlDecode(pair.substr(6), true);
        if (!query_token) query_token = std::string();
      } else if (!pair.empty()) {
        rest += (rest.empty() ? "" : "&") + std::string(pair);
      }
    }
    query = rest;
  }
  const bool health = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!views_.token.empty() && (!health || views_.token_for_health)) {
    std::string_view given;
    if (request.authorization.starts_with("Bearer ")) {
      given = request.authorization.substr(7);
    } else if (query_token) {
      given = *query_token;
    } else {
      given = CookieValue(request.cookie, kTokenCookie);
    }
    if (!ConstantTimeEquals(given, views_.token)) {
      HttpResponse denied = path.starts_with("/api/") ? JsonError(401, "a bearer token is required")
                                                      : Text(401, "a bearer token is required\n");
      denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ontimed\"");
      return denied;
    }
    HttpResponse response = Route(request, path, query);
    if (query_token) {
      std::string cookie =
          std::string(kTokenCookie) + "=" + *query_token + "; Path=/; HttpOnly; SameSite=Strict";
      if (response.deferred) {
        response.deferred = [inner = std::move(response.deferred),
                             cookie = std::move(cookie)](HttpRespond respond) {
          inner([respond = std::move(respond), cookie](HttpResponse later) {
            later.headers.emplace_back("Set-Cookie", cookie);
            respond(std::move(later));
          });
        };
      } else {
        response.headers.emplace_back("Set-Cookie", std::move(cookie));
      }
    }
    return response;
  }
  return Route(request, path, query);
}

HttpResponse Router::Route(const HttpRequest& request, std::string_view path,
                           std::string_view query) {
  if (path == "/metrics") return Metrics();
  if (path == "/healthz") return Text(200, "ok\n");
  if (path == "/readyz") return health_.ready ? Text(200, "ready\n") : Text(503, "not ready\n");
  if (path == kDossiersPath) return ListDossiers(query);
  if (path == "/" || path == "/index.html") return Board(query, /*page=*/true);
  if (path == "/api/v1/board") return Board(query, /*page=*/false);
  if (auto id = Under(path, "/dossiers")) return DossierPage(request, path, *id);
  if (auto id = Under(path, "/letters")) return Letter(request, path, *id);
  if (path.size() > kDossiersPath.size() + 1 && path.starts_with(kDossiersPath) &&
      path[kDossiersPath.size()] == '/') {
    return GetDossier(request, path, path.substr(kDossiersPath.size() + 1));
  }
  if (path.starts_with("/api/")) return JsonError(404, "no such resource");
  return Text(404, "not found\n");
}

HttpResponse Router::Metrics() {
  metrics_.RefreshGauges(engine_);
  daemon_metrics_.SetEngineSizes(engine_.dossiers_tracked(), engine_.timers_pending());
  HttpResponse response;
  response.content_type = std::string(kMetricsType);
  response.body = SerializeMetrics(registry_);
  return response;
}

HttpResponse Router::ListDossiers(std::string_view query) {
  StateFilter state = StateFilter::kOpen;
  std::optional<std::string> department;
  std::optional<std::string> procedure;
  size_t limit = kDefaultLimit;
  bool seen[4] = {false, false, false, false};
  const rules::CompiledRules& rules = engine_.rules();

  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::optional<std::string> key = UrlDecode(pair.substr(0, eq), true);
    std::optional<std::string> value =
        UrlDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return JsonError(400, "malformed percent-encoding in the query");
    int slot = -1;
    if (*key == "state") {
      slot = 0;
      if (*value == "open") {
        state = StateFilter::kOpen;
      } else if (*value == "at_risk") {
        state = StateFilter::kAtRisk;
      } else if (*value == "overdue") {
        state = StateFilter::kOverdue;
      } else if (*value == "paused") {
        state = StateFilter::kPaused;
      } else {
        return JsonError(
            400, "state must be one of open, at_risk, overdue, paused; got \"" + *value + "\"");
      }
    } else if (*key == "department") {
      slot = 1;
      if (!rules.FindDepartment(*value)) {
        return JsonError(400, "unknown department \"" + *value + "\"");
      }
      department = std::move(*value);
    } else if (*key == "procedure") {
      slot = 2;
      if (!rules.FindProcedure(*value)) {
        return JsonError(400, "unknown procedure \"" + *value + "\"");
      }
      procedure = std::move(*value);
    } else if (*key == "limit") {
      slot = 3;
      size_t n = 0;
      const char* begin = value->data();
      const char* end = begin + value->size();
      auto [stop, ec] = std::from_chars(begin, end, n);
      if (value->empty() || ec != std::errc() || stop != end || n < 1 || n > kMaxLimit) {
        return JsonError(400, "limit must be an integer from 1 to " + std::to_string(kMaxLimit) +
                                  "; got \"" + *value + "\"");
      }
      limit = n;
    } else {
      return JsonError(400, "unknown query parameter \"" + *key +
                                "\" (known: state, department, procedure, limit)");
    }
    if (seen[slot]) return JsonError(400, "query parameter \"" + *key + "\" given twice");
    seen[slot] = true;
  }

  // O(open and closed dossiers) per request: the engine has no secondary index yet.
  const Instant now = now_();
  std::vector<rules::DossierView> rows;
  engine_.ForEachDossier(now, [&](const rules::DossierView& d) {
    if (!Matches(state, d)) return;
    if (department && d.department != *department) return;
    if (procedure && d.procedure != *procedure) return;
    rows.push_back(d);
  });
  // Stable: equal dues stay in acceptance order.
  auto by_due = [](const rules::DossierView& a, const rules::DossierView& b) {
    return a.due_at < b.due_at;
  };
  std::stable_sort(rows.begin(), rows.end(), by_due);
  if (rows.size() > limit) rows.resize(limit);

  const rules::BusinessCalendar& calendar = rules.calendar();
  HttpResponse response;
  response.content_type = std::string(kJson);
  std::string& out = response.body;
  out.reserve(64 + rows.size() * 512);
  streams::JsonWriter w(out);
  w.BeginObject().Key("now").Time(now, calendar);
  w.Key("count").Int(static_cast<int64_t>(rows.size()));
  if (views_.cluster.local) WriteCoverage(w, views_.cluster.local(), views_.cluster.directory);
  w.Key("dossiers").BeginArray();
  for (const rules::DossierView& row : rows) streams::WriteDossierJson(w, row, calendar);
  w.EndArray().EndObject();
  out.push_back('\n');
  return response;
}

HttpResponse Router::GetDossier(const HttpRequest& request, std::string_view path,
                                std::string_view encoded_id) {
  std::optional<std::string> id = UrlDecode(encoded_id, false);
  if (!id) return JsonError(400, "malformed percent-encoding in the dossier id");
  if (auto elsewhere = Elsewhere(*id, request, path, /*page=*/false)) return std::move(*elsewhere);
  const Instant now = now_();
  std::optional<rules::DossierView> dossier = engine_.Find(*id, now);
  if (!dossier) return JsonError(404, "unknown dossier \"" + *id + "\"");
  const rules::BusinessCalendar& calendar = engine_.rules().calendar();
  HttpResponse response;
  response.content_type = std::string(kJson);
  std::string& out = response.body;
  streams::JsonWriter w(out);
  w.BeginObject().Key("now").Time(now, calendar);
  w.Key("dossier");
  streams::WriteDossierJson(w, *dossier, calendar);
  w.Key("timeline");
  std::vector<TimelineEntry> timeline;
  if (views_.timeline != nullptr) timeline = views_.timeline->Get(*id);
  WriteTimelineJson(w, *id, timeline, calendar);
  if (views_.letters != nullptr) {
    w.Key("letters").BeginArray();
    for (const std::string& letter : views_.letters->IdsOf(*id)) {
      w.BeginObject().Field("letter_id", letter).Field("url", LetterPath(letter)).EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  out.push_back('\n');
  return response;
}

}  // namespace ontime::daemon

namespace ontime::daemon {

HttpResponse Router::Board(std::string_view query, bool page) {
  if (views_.attention == nullptr || views_.figures == nullptr) {
    return page ? Text(404, "not found\n") : JsonError(404, "no such resource");
  }
  size_t limit = kBoardLimit;
  if (!query.empty()) {
    const std::string_view prefix = "limit=";
    size_t n = 0;
    const std::string_view value = query.substr(prefix.size());
    auto [stop, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (!query.starts_with(prefix) || value.empty() || ec != std::errc() ||
        stop != value.data() + value.size() || n < 1 || n > kMaxLimit) {
      return JsonError(400, "the only query parameter is limit, an integer from 1 to " +
                                std::to_string(kMaxLimit));
    }
    limit = n;
  }
  const BoardSnapshot board =
      TakeBoardSnapshot(engine_, *views_.attention, *views_.figures, now_(), limit);
  const rules::BusinessCalendar& calendar = engine_.rules().calendar();
  if (page) return Html(200, BoardPage(board, calendar));
  HttpResponse response;
  response.content_type = std::string(kJson);
  response.body = BoardJson(board, calendar);
  return response;
}

std::vector<LetterFields> Router::LettersOf(std::string_view dossier_id) const {
  std::vector<LetterFields> letters;
  if (views_.letters == nullptr) return letters;
  for (const std::string& id : views_.letters->IdsOf(dossier_id)) {
    std::optional<std::string> json = views_.letters->Find(id);
    if (!json) continue;
    Result<LetterFields> letter = ParseLetterJson(*json);
    if (letter.ok()) letters.push_back(std::move(letter).value());
  }
  return letters;
}

HttpResponse Router::DossierPage(const HttpRequest& request, std::string_view path,
                                 std::string_view encoded_id) {
  std::optional<std::string> id = UrlDecode(encoded_id, false);
  if (!id) return Html(400, MessagePage("Bad request", "malformed percent-encoding"));
  if (auto elsewhere = Elsewhere(*id, request, path, /*page=*/true)) return std::move(*elsewhere);
  const Instant now = now_();
  std::optional<rules::DossierView> dossier = engine_.Find(*id, now);
  if (!dossier) return Html(404, MessagePage("Unknown dossier", "no dossier \"" + *id + "\""));
  std::vector<TimelineEntry> timeline;
  std::optional<PredictedLate> predicted;
  if (views_.timeline != nullptr) {
    timeline = views_.timeline->Get(*id);
    predicted = views_.timeline->LatestPrediction(*id);
  }
  return Html(200, ontime::daemon::DossierPage(*dossier, timeline, LettersOf(*id), predicted,
                                               engine_.rules(), now));
}

HttpResponse Router::Letter(const HttpRequest& request, std::string_view path,
                            std::string_view encoded_id) {
  std::optional<std::string> id = UrlDecode(encoded_id, false);
  if (!id) return Html(400, MessagePage("Bad request", "malformed percent-encoding"));
  std::optional<std::string> json =
      views_.letters != nullptr ? views_.letters->Find(*id) : std::nullopt;
  if (!json) {
    // Letters are kept by the instance that derived them: the owner of the dossier's partition,
    // or an owner before it (a citizen's link may reach any instance).
    const size_t at = id->rfind(":apology:");
    if (at == std::string::npos || !request.forwarded_by.empty() || !views_.cluster.forward ||
        views_.cluster.directory == nullptr) {
      return Html(404, MessagePage("Unknown letter", "no apology letter \"" + *id + "\""));
    }
    const LocalPartitions local = views_.cluster.local();
    const Placement place = PlaceDossier(id->substr(0, at), local, *views_.cluster.directory);
    if (place.kind != Placement::Kind::kHere && place.kind != Placement::Kind::kElsewhere) {
      if (auto elsewhere = Elsewhere(id->substr(0, at), request, path, /*page=*/true)) {
        return std::move(*elsewhere);  // why it cannot be answered now (503)
      }
    }
    std::vector<PartitionOwner> instances;
    if (place.kind == Placement::Kind::kElsewhere) instances.push_back(place.owner);
    for (const auto& [instance, record] : views_.cluster.directory->members()) {
      if (instance == local.instance || record.http.empty()) continue;
      if (!instances.empty() && instances.front().instance == instance) continue;
      instances.push_back({instance, record.http});
    }
    if (instances.empty()) {
      return Html(404, MessagePage("Unknown letter", "no apology letter \"" + *id + "\""));
    }
    return AskOthersForLetter(*id, path, std::move(instances));
  }
  Result<LetterFields> letter = ParseLetterJson(*json);
  if (!letter.ok()) return Html(500, MessagePage("Unreadable letter", letter.error().message));
  static const LettersConfig kNoLetterhead;
  return Html(200, RenderLetterHtml(
                       *letter, engine_.rules(),
                       views_.letters_config != nullptr ? *views_.letters_config : kNoLetterhead));
}

namespace {

// A letter asked of one instance after the other until one keeps it.
struct LetterSearch : std::enable_shared_from_this<LetterSearch> {
  RouterCluster::Forward forward;
  std::string self;
  std::string token;
  std::string path;
  std::string letter_id;
  std::vector<PartitionOwner> instances;
  size_t next = 0;
  std::vector<std::string> silent;  // did not answer: "b (10.0.0.2:9464): why"
  HttpRespond respond;

  void AskNext() {
    if (next == instances.size()) {
      GiveUp();
      return;
    }
    const PartitionOwner instance = instances[next++];
    OutgoingRequest out{instance.http, path, {}};
    out.headers.emplace_back(std::string(kForwardedByField), self);
    if (!token.empty()) out.headers.emplace_back("Authorization", "Bearer " + token);
    forward(std::move(out), [search = shared_from_this(), instance](Result<HttpResponse> answer) {
      if (!answer.ok()) {
        search->silent.push_back(instance.instance + " (" + instance.http +
                                 "): " + answer.error().message);
      } else if (answer.value().status == 200) {
        HttpResponse got = std::move(answer).value();
        got.headers.emplace_back("X-Ontime-Served-By", instance.instance);
        search->respond(std::move(got));
        return;
      }
      search->AskNext();
    });
  }

  // Nobody keeps it: a 404, or a 502 when an instance that did not answer could.
  void GiveUp() {
    std::string asked;
    for (const PartitionOwner& o : instances) asked += (asked.empty() ? "" : ", ") + o.instance;
    if (silent.empty()) {
      respond(Html(404, MessagePage("Unknown letter", "no apology letter \"" + letter_id +
                                                          "\" here nor on " + asked)));
      return;
    }
    std::string not_answering;
    for (const std::string& s : silent) not_answering += (not_answering.empty() ? "" : "; ") + s;
    respond(Html(502, MessagePage("Owner not answering", "apology letter \"" + letter_id +
                                                             "\" is not kept here nor by " + asked +
                                                             "; not answering: " + not_answering)));
  }
};

}  // namespace

// One instance after the other, the owner first, until one keeps the letter.
HttpResponse Router::AskOthersForLetter(const std::string& letter_id, std::string_view path,
                                        std::vector<PartitionOwner> instances) {
  auto search = std::make_shared<LetterSearch>();
  search->forward = views_.cluster.forward;
  search->self = views_.cluster.local().instance;
  search->token = views_.token;
  search->path = std::string(path);
  search->letter_id = letter_id;
  search->instances = std::move(instances);
  HttpResponse response;
  response.deferred = [search](HttpRespond respond) {
    search->respond = std::move(respond);
    search->AskNext();
  };
  return response;
}

}  // namespace ontime::daemon
