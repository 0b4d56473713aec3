#include "ontime/daemon/alertmanager.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ontime/daemon/address.h"
#include "ontime/streams/json_writer.h"

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

std::string_view AlertName(rules::AlertKind kind) {
  switch (kind) {
    case rules::AlertKind::kAtRisk: return "OntimeDossierAtRisk";
    case rules::AlertKind::kOverdue: return "OntimeDossierOverdue";
    case rules::AlertKind::kStepOverdue: return "OntimeStepOverdue";
    case rules::AlertKind::kEscalated: return "OntimeDossierEscalated";
    case rules::AlertKind::kPredictedLate: return "OntimeDossierPredictedLate";
  }
  return "OntimeDossierAlert";
}

std::string_view Severity(rules::AlertKind kind) {
  return kind == rules::AlertKind::kOverdue || kind == rules::AlertKind::kEscalated ? "critical"
                                                                                    : "warning";
}

std::string Utc(Instant t) { return FormatRfc3339(t, std::chrono::seconds(0)); }

std::string Base64(std::string_view in) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kDigits[(n >> shift) & 63]);
  }
  if (i + 1 == in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    out += {kDigits[(n >> 18) & 63], kDigits[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += {kDigits[(n >> 18) & 63], kDigits[(n >> 12) & 63], kDigits[(n >> 6) & 63], '='};
  }
  return out;
}

// The client's TLS context: the configured CA file (else the system's store), the peer
// verified, an optional client certificate. Throws what Asio throws on a bad file.
std::unique_ptr<asio::ssl::context> TlsContext(const AlertmanagerConfig& config) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  if (config.ca_file.empty()) {
    context->set_default_verify_paths();
  } else {
    context->load_verify_file(config.ca_file);
  }
  context->set_verify_mode(asio::ssl::verify_peer);
  if (!config.cert_file.empty()) {
    context->use_certificate_chain_file(config.cert_file);
    context->use_private_key_file(config.key_file, asio::ssl::context::pem);
  }
  return context;
}

std::string Hours(Duration d) {
  const double hours = std::chrono::duration<double>(d).count() / 3600.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", std::abs(hours));
  return buffer;
}

}  // namespace

struct AlertmanagerPusher::Impl : std::enable_shared_from_this<AlertmanagerPusher::Impl> {
  struct Entry {
    std::string dossier_id;
    std::string labels;  // JSON objects, as pushed
    std::string annotations;
    Instant starts_at{};
    std::optional<Instant> ends_at;
    uint64_t version = 0;
    bool dirty = true;  // changed since last delivered
  };

  Impl(asio::io_context& io_context, const AlertmanagerConfig& c, DaemonMetrics* m)
      : config(c),
        metrics(m),
        resend_timer(io_context),
        batch_timer(io_context),
        deadline(io_context),
        resolver(io_context),
        socket(io_context) {
    Result<AlertmanagerEndpoint> parsed = ParseAlertmanagerUrl(config.url);
    // A bad URL leaves no endpoint: every push then fails, counted (the loader refuses one).
    if (parsed.ok()) endpoint = std::move(parsed).value();
    if (endpoint && endpoint->tls) {
      try {
        tls_context = TlsContext(config);
      } catch (const std::exception& e) {
        tls_error = e.what();  // unreadable CA or key: every push fails, counted
        endpoint.reset();
      }
    }
    if (!config.bearer_token.empty()) {
      authorization = "Bearer " + config.bearer_token;
    } else if (!config.basic_username.empty()) {
      authorization = "Basic " + Base64(config.basic_username + ":" + config.basic_password);
    }
  }

  // The socket under the current attempt's stream.
  tcp::socket& Socket() { return tls ? tls->next_layer() : socket; }

  void Touch(Entry& entry) {
    ++entry.version;
    entry.dirty = true;
  }

  void ScheduleBatch() {
    if (!started || stopped || batch_scheduled) return;
    batch_scheduled = true;
    batch_timer.expires_after(kBatchDelay);
    batch_timer.async_wait([self = shared_from_this()](error_code ec) {
      self->batch_scheduled = false;
      if (ec || self->stopped) return;
      self->Flush(false);
    });
  }

  void ScheduleTick() {
    resend_timer.expires_after(std::max(config.resend_interval, std::chrono::seconds(1)));
    resend_timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->stopped) return;
      self->Flush(true);
      self->ScheduleTick();
    });
  }

  // Sends the changed alerts, or every alert held when `all`.
  void Flush(bool all) {
    if (!started || stopped) return;
    if (in_flight) {
      flush_after = true;
      flush_after_all = flush_after_all || all;
      return;
    }
    batch.clear();
    std::string body;
    streams::JsonWriter w(body);
    w.BeginArray();
    for (const auto& [id, entry] : alerts) {
      if (!all && !entry.dirty) continue;
      w.BeginObject();
      w.Key("labels").RawValue(entry.labels);
      w.Key("annotations").RawValue(entry.annotations);
      w.Field("startsAt", Utc(entry.starts_at));
      if (entry.ends_at) w.Field("endsAt", Utc(std::max(*entry.ends_at, entry.starts_at)));
      w.EndObject();
      batch.emplace_back(id, entry.version);
    }
    w.EndArray();
    if (batch.empty()) return;
    if (!endpoint) {
      Finish(false);  // a bad URL: every push fails, visibly
      return;
    }
    in_flight = true;
    request = {};
    request.method(http::verb::post);
    request.target(endpoint->target);
    request.version(11);
    request.set(http::field::host, endpoint->host_header);
    request.set(http::field::user_agent, "ontimed");
    request.set(http::field::content_type, "application/json");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.keep_alive(false);
    request.body() = std::move(body);
    request.prepare_payload();
    response = {};
    buffer.clear();
    const uint64_t attempt = ++attempts;
    deadline.expires_after(std::max(config.timeout, std::chrono::seconds(1)));
    deadline.async_wait([self = shared_from_this(), attempt](error_code ec) {
      if (ec || self->stopped || attempt != self->attempts || !self->in_flight) return;
      self->resolver.cancel();
      error_code ignored;
      self->Socket().close(ignored);  // the pending operation completes with an error
    });
    if (endpoint->tls) {
      tls = std::make_unique<asio::ssl::stream<tcp::socket>>(resolver.get_executor(), *tls_context);
      // SNI, and the certificate must name the host (or IP address) of the URL.
      SSL_set_tlsext_host_name(tls->native_handle(), endpoint->host.c_str());
      tls->set_verify_callback(asio::ssl::host_name_verification(endpoint->host));
    } else {
      tls.reset();
    }
    resolver.async_resolve(
        endpoint->host, endpoint->port,
        [self = shared_from_this(), attempt](error_code ec, tcp::resolver::results_type results) {
          if (self->Stale(attempt)) return;
          if (ec) return self->Finish(false);
          asio::async_connect(self->Socket(), results,
                              [self, attempt](error_code connect_ec, const tcp::endpoint&) {
                                if (self->Stale(attempt)) return;
                                if (connect_ec) return self->Finish(false);
                                if (!self->tls) return self->Send(self->socket, attempt);
                                self->tls->async_handshake(
                                    asio::ssl::stream_base::client,
                                    [self, attempt](error_code handshake_ec) {
                                      if (self->Stale(attempt)) return;
                                      if (handshake_ec) return self->Finish(false);
                                      self->Send(*self->tls, attempt);
                                    });
                              });
        });
  }

  template <typename Stream>
  void Send(Stream& stream, uint64_t attempt) {
    http::async_write(stream, request,
                      [self = shared_from_this(), &stream, attempt](error_code ec, size_t) {
                        if (self->Stale(attempt)) return;
                        if (ec) return self->Finish(false);
                        http::async_read(stream, self->buffer, self->response,
                                         [self, attempt](error_code read_ec, size_t) {
                                           if (self->Stale(attempt)) return;
                                           const unsigned status = self->response.result_int();
                                           self->Finish(!read_ec && status >= 200 && status < 300);
                                         });
                      });
  }

  bool Stale(uint64_t attempt) const { return stopped || attempt != attempts; }

  void Finish(bool ok) {
    in_flight = false;
    deadline.cancel();
    error_code ignored;
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
    if (metrics != nullptr) metrics->CountAlertmanagerPush(ok);
    if (ok) {
      ++pushes_ok;
      for (const auto& [id, version] : batch) {
        auto it = alerts.find(id);
        if (it == alerts.end() || it->second.version != version) continue;  // changed meanwhile
        if (it->second.ends_at) {
          alerts.erase(it);  // resolved and delivered: done
        } else {
          it->second.dirty = false;
        }
      }
    } else {
      ++pushes_failed;  // entries stay dirty; the next tick sends them again
    }
    batch.clear();
    if (flush_after) {
      const bool all = flush_after_all;
      flush_after = false;
      flush_after_all = false;
      if (ok) Flush(all);
    }
  }

  AlertmanagerConfig config;
  DaemonMetrics* metrics;
  std::optional<AlertmanagerEndpoint> endpoint;

  std::map<std::string, Entry, std::less<>> alerts;  // by alert_id, which starts "<dossier_id>:"
  asio::steady_timer resend_timer;
  asio::steady_timer batch_timer;
  asio::steady_timer deadline;
  tcp::resolver resolver;
  tcp::socket socket;
  std::unique_ptr<asio::ssl::context> tls_context;      // https:// only
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls;  // the current attempt's, https:// only
  std::string tls_error;
  std::string authorization;  // the Authorization field, empty for none
  http::request<http::string_body> request;
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  std::vector<std::pair<std::string, uint64_t>> batch;
  uint64_t attempts = 0;
  bool started = false;
  bool stopped = false;
  bool in_flight = false;
  bool batch_scheduled = false;
  bool flush_after = false;
  bool flush_after_all = false;
  size_t pushes_ok = 0;
  size_t pushes_failed = 0;
};

AlertmanagerPusher::AlertmanagerPusher(asio::io_context& io, const AlertmanagerConfig& config,
                                       DaemonMetrics* metrics)
    : impl_(std::make_shared<Impl>(io, config, metrics)) {}

AlertmanagerPusher::~AlertmanagerPusher() { Stop(); }

void AlertmanagerPusher::OnAlert(const rules::Alert& alert) {
  Impl& m = *impl_;
  std::string id = alert.AlertId();
  Impl::Entry entry;
  entry.dossier_id = std::string(alert.dossier_id);
  entry.starts_at = alert.detected_at;
  streams::JsonWriter labels(entry.labels);
  labels.BeginObject();
  labels.Field("alertname", AlertName(alert.kind));
  labels.Field("severity", Severity(alert.kind));
  labels.Field("kind", rules::ToString(alert.kind));  // what routes escalations (generate.py)
  labels.Field("department", alert.department);
  labels.Field("procedure", alert.procedure);
  labels.Field("dossier_id", alert.dossier_id);
  labels.Field("alert_id", id);
  if (alert.kind == rules::AlertKind::kStepOverdue) {
    labels.Field("step", std::to_string(alert.step));
  } else {
    labels.Field("cycle", std::to_string(alert.cycle));
  }
  labels.EndObject();
  const std::string due = Utc(alert.due_at);
  const std::string detected = Utc(alert.detected_at);
  std::string summary = "Dossier " + std::string(alert.dossier_id) + " (procedure " +
                        std::string(alert.procedure) + ", " + std::string(alert.department) + ")";
  std::string description;
  switch (alert.kind) {
    case rules::AlertKind::kAtRisk:
      summary += " is at risk of missing its due";
      description = "Cycle " + std::to_string(alert.cycle) + " is due at " + due + "; " +
                    Hours(alert.remaining) + " working hours remained at " + detected + ".";
      break;
    case rules::AlertKind::kOverdue:
      summary += " is overdue: an apology letter is required";
      description = "Cycle " + std::to_string(alert.cycle) + " was due at " + due +
                    "; the breach was detected at " + detected + ".";
      break;
    case rules::AlertKind::kStepOverdue:
      summary += " is over its step budget in " + std::string(alert.department);
      description = "Step " + std::to_string(alert.step) + " was due at " + due + "; detected at " +
                    detected + ".";
      break;
    case rules::AlertKind::kEscalated:
      summary += " is still late after the last apology letter allowed";
      description = "Cycle " + std::to_string(alert.cycle) + " was due at " + due +
                    "; no further apology letter is sent; escalated at " + detected + ".";
      break;
    case rules::AlertKind::kPredictedLate:
      summary += " will likely miss its due (learned from its procedure's history)";
      description = "P(late) " + std::to_string(static_cast<int>(alert.probability * 100 + 0.5)) +
                    "% at " + detected + "; due at " + due + ", expected to close at " +
                    Utc(alert.expected_close_at) + ".";
      break;
  }
  if (alert.notify != nullptr && !alert.notify->email.empty()) {
    description += " Notify " + alert.notify->name + " <" + alert.notify->email + ">.";
  }
  streams::JsonWriter annotations(entry.annotations);
  annotations.BeginObject();
  annotations.Field("summary", summary);
  annotations.Field("description", description);
  annotations.Field("due_at", due);
  annotations.Field("detected_at", detected);
  if (alert.notify != nullptr) {
    annotations.Field("notify_name", alert.notify->name);
    annotations.Field("notify_title", alert.notify->title);
    annotations.Field("notify_email", alert.notify->email);
  }
  annotations.EndObject();

  auto [it, inserted] = m.alerts.try_emplace(std::move(id));
  const uint64_t version = it->second.version;
  it->second = std::move(entry);
  it->second.version = version;
  m.Touch(it->second);

  if (alert.kind == rules::AlertKind::kOverdue) {
    const std::string at_risk = std::string(alert.dossier_id) + ":" +
                                std::string(rules::ToString(rules::AlertKind::kAtRisk)) + ":" +
                                std::to_string(alert.cycle);
    if (auto found = m.alerts.find(at_risk); found != m.alerts.end() && !found->second.ends_at) {
      found->second.ends_at = alert.detected_at;
      m.Touch(found->second);
    }
  }
  m.ScheduleBatch();
}

void AlertmanagerPusher::ResolveDossier(std::string_view dossier_id, Instant at) {
  Impl& m = *impl_;
  const std::string prefix = std::string(dossier_id) + ":";
  bool changed = false;
  for (auto it = m.alerts.lower_bound(prefix);
       it != m.alerts.end() && it->first.starts_with(prefix); ++it) {
    // "A:" is also a prefix of dossier "A:x"'s alerts: compare the dossier itself.
    if (it->second.dossier_id != dossier_id || it->second.ends_at) continue;
    it->second.ends_at = at;
    m.Touch(it->second);
    changed = true;
  }
  if (changed) m.ScheduleBatch();
}

size_t AlertmanagerPusher::RestoreDossier(const rules::DossierView& d,
                                          const rules::CompiledRules& rules,
                                          const LetterFields* last_letter, Instant now) {
  if (d.state != rules::DossierState::kOpen) return 0;
  size_t restored = 0;
  auto head = [&](std::string_view code) -> const rules::Person* {
    std::optional<uint32_t> i = rules.FindDepartment(code);
    return i ? &rules.department(*i).head : nullptr;
  };
  if (d.overdue && (last_letter != nullptr || d.cycle > 1)) {
    rules::Alert alert;
    alert.kind = rules::AlertKind::kOverdue;
    alert.dossier_id = d.dossier_id;
    alert.procedure = d.procedure;
    alert.department =
        last_letter != nullptr ? std::string_view(last_letter->department) : d.department;
    alert.cycle = last_letter != nullptr ? last_letter->cycle : d.cycle - 1;
    alert.due_at = last_letter != nullptr ? last_letter->issued_at : d.original_due_at;
    alert.detected_at = alert.due_at;
    alert.notify = head(alert.department);
    if (std::optional<uint32_t> i = rules.FindDepartment(alert.department)) {
      alert.department_index = *i;
    }
    OnAlert(alert);
    ++restored;
  }
  if (d.at_risk && !d.paused) {
    rules::Alert alert;
    alert.kind = rules::AlertKind::kAtRisk;
    alert.dossier_id = d.dossier_id;
    alert.procedure = d.procedure;
    alert.department = d.department;
    alert.cycle = d.cycle;
    alert.due_at = d.due_at;
    alert.detected_at = std::min(now, d.due_at);
    alert.remaining = d.remaining;
    alert.notify = head(d.department);
    OnAlert(alert);
    ++restored;
  }
  return restored;
}

void AlertmanagerPusher::Start() {
  Impl& m = *impl_;
  if (m.started || m.stopped) return;
  m.started = true;
  m.ScheduleTick();
  if (std::any_of(m.alerts.begin(), m.alerts.end(),
                  [](const auto& entry) { return entry.second.dirty; })) {
    m.ScheduleBatch();
  }
}

void AlertmanagerPusher::Stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.resend_timer.cancel();
  m.batch_timer.cancel();
  m.deadline.cancel();
  m.resolver.cancel();
  error_code ignored;
  m.Socket().close(ignored);
}

size_t AlertmanagerPusher::active() const { return impl_->alerts.size(); }
size_t AlertmanagerPusher::pushes_ok() const { return impl_->pushes_ok; }
size_t AlertmanagerPusher::pushes_failed() const { return impl_->pushes_failed; }

}  // namespace ontime::daemon
