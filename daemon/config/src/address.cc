#include "ontime/daemon/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace ontime::daemon {
namespace {

// Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a known false positive) on
// "literal" + std::string.
std::string Quote(std::string_view text) {
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted.push_back('"');
  quoted.append(text);
  quoted.push_back('"');
  return quoted;
}

Error Invalid(std::string message) { return Error{"invalid_address", std::move(message)}; }

bool IsIpv4(const std::string& text) {
  in_addr address{};
  return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool IsIpv6(const std::string& text) {
  in6_addr address{};
  return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

bool IsDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// RFC 1123 labels (plus '_', which container and cloud host names carry), 1..63 characters
// each, 253 in all. All-numeric names are left to IsIpv4: "10.0.0.256" is no name.
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  bool all_numeric = true;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (!std::isalnum(u) && c != '-' && c != '_') return false;
    }
    all_numeric = all_numeric && IsDigits(label);
    start = end + 1;
  }
  return !all_numeric;
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text, HostPortRules rules) {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Invalid(Quote(text) + ": an IPv6 address in brackets lacks its \"]\"");
    }
    host = text.substr(1, close - 1);
    bracketed = true;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Invalid(Quote(text) + " is not [address]:port");
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return Invalid(Quote(text) + ": write an IPv6 address in brackets, as in [::1]:9464");
    }
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (!has_port && rules.default_port == 0) {
    return Invalid(Quote(text) + " is not host:port");
  }
  HostPort parsed;
  parsed.port = rules.default_port;
  if (has_port) {
    const unsigned lowest = rules.allow_port_zero ? 0 : 1;
    const bool digits = IsDigits(port) && port.size() <= 5;
    const unsigned value = digits ? static_cast<unsigned>(std::stoul(std::string(port))) : 0;
    if (!digits || value < lowest || value > 65535) {
      return Invalid(Quote(text) + ": the port must be a number from " + std::to_string(lowest) +
                     " to 65535");
    }
    parsed.port = static_cast<uint16_t>(value);
  }
  if (host.empty()) return Invalid(Quote(text) + ": the host is missing");
  parsed.host = std::string(host);
  if (bracketed) {
    if (!IsIpv6(parsed.host)) {
      return Invalid(Quote(text) + ": " + Quote(host) + " is not an IPv6 address");
    }
    parsed.ip = true;
  } else if (IsIpv4(parsed.host)) {
    parsed.ip = true;
  } else if (!IsHostName(host)) {
    return Invalid(Quote(text) + ": " + Quote(host) + " is not an IP address or a host name");
  }
  return parsed;
}

Result<HostPort> ParseListenAddress(std::string_view text, HostPortRules rules) {
  Result<HostPort> parsed = ParseHostPort(text, rules);
  if (!parsed.ok()) return parsed;
  if (parsed->ip) return parsed;
  if (parsed->host == "localhost") {
    parsed->host = "127.0.0.1";
    parsed->ip = true;
    return parsed;
  }
  return Invalid(Quote(text) + ": " + Quote(parsed->host) +
                 " is a host name; a listening address is an IP address (127.0.0.1, 0.0.0.0, "
                 "[::1]) or localhost");
}

namespace {

Error UrlError(std::string_view url, std::string_view why) {
  std::string message = Quote(url);
  message.append(" ").append(why);
  return Error{"alertmanager_url", std::move(message)};
}

}  // namespace

Result<AlertmanagerEndpoint> ParseAlertmanagerUrl(std::string_view url) {
  const bool tls = url.starts_with("https://");
  const std::string_view scheme = tls ? "https://" : "http://";
  if (!url.starts_with(scheme)) return UrlError(url, "is not an http:// or https:// URL");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return UrlError(url, "contains a space or a control character");
    }
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return UrlError(url, "has a query or a fragment: give the Alertmanager's base URL");
  }
  std::string_view rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view prefix =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) {
    return UrlError(url, "carries credentials, which are not supported");
  }
  Result<HostPort> host =
      ParseHostPort(authority, {.default_port = static_cast<uint16_t>(tls ? 443 : 80)});
  if (!host.ok()) return UrlError(url, "has a bad host or port: " + host.error().message);
  AlertmanagerEndpoint e;
  e.host_header = std::string(authority);
  e.host = host->host;
  e.port = std::to_string(host->port);
  e.target = std::string(prefix) + "/api/v2/alerts";
  e.tls = tls;
  return e;
}

}  // namespace ontime::daemon
