#include "ontime/daemon/address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ontime::daemon {
namespace {

struct HostPortCase {
  std::string text;
  HostPortRules rules;
  std::string host;  // empty: an error is expected
  uint16_t port = 0;
  bool ip = false;
};

TEST(AddressTest, HostPortTable) {
  const HostPortRules kafka{.default_port = 9092};
  const HostPortRules listener{.allow_port_zero = true};
  const std::vector<HostPortCase> cases = {
      {"127.0.0.1:9464", {}, "127.0.0.1", 9464, true},
      {"[::1]:9464", {}, "::1", 9464, true},
      {"[2001:db8::7]:1", {}, "2001:db8::7", 1, true},
      {"kafka-1.example.gov.vn:9092", {}, "kafka-1.example.gov.vn", 9092, false},
      {"kafka_1:65535", {}, "kafka_1", 65535, false},
      {"localhost:80", {}, "localhost", 80, false},
      {"kafka-1", kafka, "kafka-1", 9092, false},  // the default port
      {"[::1]", kafka, "::1", 9092, true},
      {"0.0.0.0:0", listener, "0.0.0.0", 0, true},  // "any free port" where allowed
      {"0.0.0.0:0", {}, ""},
      {"kafka-1", {}, ""},  // no port, none by default
      {"host:", {}, ""},
      {"host:65536", {}, ""},
      {"host:12ab", {}, ""},
      {"host:+80", {}, ""},
      {"host:123456", {}, ""},
      {":9464", {}, ""},      // no host
      {"::1:9464", {}, ""},   // IPv6 without brackets
      {"[::1:9464", {}, ""},  // unclosed
      {"[::1]9464", {}, ""},
      {"[host]:80", {}, ""},      // brackets hold an IPv6 address only
      {"10.0.0.256:80", {}, ""},  // all-numeric: an IPv4 address or nothing
      {"-host:80", {}, ""},
      {"a..b:80", {}, ""},
      {"user@host:80", {}, ""},
      {"host name:80", {}, ""},
      {"", kafka, ""},
  };
  for (const HostPortCase& c : cases) {
    Result<HostPort> parsed = ParseHostPort(c.text, c.rules);
    if (c.host.empty()) {
      EXPECT_FALSE(parsed.ok()) << c.text << " -> " << (parsed.ok() ? parsed->host : "");
      if (!parsed.ok()) {
        EXPECT_EQ(parsed.error().code, "invalid_address");
        EXPECT_EQ(parsed.error().message.rfind("\"" + c.text + "\"", 0), 0u)
            << "the message starts with the text: " << parsed.error().message;
      }
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_EQ(parsed->ip, c.ip) << c.text;
  }
}

TEST(AddressTest, ListenAddressesAreIpLiteralsOrLocalhost) {
  Result<HostPort> localhost = ParseListenAddress("localhost:9464");
  ASSERT_TRUE(localhost.ok()) << localhost.error().message;
  EXPECT_EQ(localhost->host, "127.0.0.1");
  EXPECT_TRUE(localhost->ip);
  EXPECT_TRUE(ParseListenAddress("[::1]:9464").ok());
  EXPECT_TRUE(ParseListenAddress("0.0.0.0:9100").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:0").ok());
  EXPECT_TRUE(ParseListenAddress("127.0.0.1:0", {.allow_port_zero = true}).ok());
  Result<HostPort> name = ParseListenAddress("metrics.example.gov.vn:9464");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().message,
            R"("metrics.example.gov.vn:9464": "metrics.example.gov.vn" is a host name; a )"
            R"(listening address is an IP address (127.0.0.1, 0.0.0.0, [::1]) or localhost)");
}

}  // namespace
}  // namespace ontime::daemon
