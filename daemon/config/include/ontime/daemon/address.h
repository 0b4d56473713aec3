#pragma once
// "host:port" as the configuration writes it, parsed by one function for every setting that has
// one: http.listen, the authority of alertmanager.url and each entry of kafka.brokers. Nothing is
// resolved here: a host name stays a name (checked to be one), an IP literal is recognised as
// such. Pure; call it from any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "ontime/base/result.h"

namespace ontime::daemon {

struct HostPort {
  std::string host;  // as written, without the brackets of "[::1]"
  uint16_t port = 0;
  bool ip = false;  // an IPv4 or (bracketed) IPv6 literal, not a name
};

struct HostPortRules {
  uint16_t default_port = 0;     // used when ":port" is left out; 0: the port is required
  bool allow_port_zero = false;  // ":0" (a listener's "any free port")
};

// "host:port" or "[v6]:port" (or the bare host when rules.default_port is set). The host is an
// IPv4 literal, an IPv6 literal in brackets, or a DNS name (letters, digits, '-', '_' and dots).
// The error message is a sentence about `text` without a YAML path, for the caller to prefix.
Result<HostPort> ParseHostPort(std::string_view text, HostPortRules rules = {});

// A listening address: an IP literal or "localhost" (taken as 127.0.0.1); other names are
// refused, since binding must not depend on a resolver. The rule of http.listen.
Result<HostPort> ParseListenAddress(std::string_view text, HostPortRules rules = {});

// Where pushes go: "http[s]://host[:port][/prefix]" (port 80, or 443 for https, when left out).
// Credentials in the URL, a query or a fragment are refused with the reason. The rule of
// alertmanager.url, applied by the configuration and by the pusher alike.
struct AlertmanagerEndpoint {
  std::string host;
  std::string port;
  std::string target;  // "<prefix>/api/v2/alerts"
  std::string host_header;
  bool tls = false;  // https://
};
Result<AlertmanagerEndpoint> ParseAlertmanagerUrl(std::string_view url);

}  // namespace ontime::daemon
