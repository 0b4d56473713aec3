#pragma once
// The daemon's configuration: the YAML file of contract section 2 (plus the daemon's own sections)
// as typed, validated structs. Loading collects every problem with its YAML path, so
// `ontimed check-config` and start-up can list them all and exit kExitConfig. Each setting is
// checked by the rule of the component that uses it (ParseListenAddress,
// ParseAlertmanagerUrl, librdkafka for kafka.properties), so a configuration that loads
// is one `run` starts with. Loading reads the file and the time-zone database and, when
// kafka.properties are given, builds (never connects) a Kafka producer and consumer for
// librdkafka to judge them; call it from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/rules/config.h"

namespace ontime::daemon {

struct KafkaTopics {
  std::string events = "dossier.events";
  std::string alerts = "dossier.sla.alerts";
  std::string letters = "dossier.apology-letters";
  std::string dead_letters = "dossier.events.dlq";
  // The compacted changelog of the dossiers' state; empty: "<group_id>.dossier-state".
  std::string changelog;
  // Extension: the compacted topic where each instance says which partitions it owns and at
  // which HTTP address (one partition); empty: "<group_id>.members".
  std::string members;
};

struct KafkaConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string group_id = "ontimed";
  std::string client_id = "ontimed";
  KafkaTopics topics;
  // This instance's static membership (group.instance.id) and the base of its transactional id;
  // empty: the host's name, so that a restart under systemd gets its partitions back at once.
  std::string instance_id;
  // Outputs, changelog records and input offsets are committed together this often.
  std::chrono::milliseconds commit_interval{100};
  // Missing output, dead-letter and changelog topics are created (never the input topic).
  bool create_topics = true;
  // Ready (/readyz, READY=1) once every assigned partition is restored and at most this many
  // messages behind.
  int64_t ready_max_lag = 1000;
  // Extension: how the input's producers choose a dossier's partition from its key (the
  // dossier_id): librdkafka's default "consistent_random" (CRC-32), or the Java client's
  // "murmur2_random". Used to send an HTTP request for a dossier to the instance that owns it.
  std::string input_partitioner = "consistent_random";
  // Passed to librdkafka as-is, in file order: TLS, SASL, tuning.
  std::vector<std::pair<std::string, std::string>> properties;
};

struct HttpConfig {
  std::string listen = "127.0.0.1:9464";  // "host:port"; "[::1]:9464" for IPv6
  // Extension: "host:port" the other instances of the group reach this one at (requests for
  // the dossiers it owns are forwarded there); empty: `listen`, with the host's name in place of
  // a wildcard address (0.0.0.0, [::]). The port 0 of a listen address is the bound port.
  std::string advertise;
  // Extension: a bearer token required for /api/, /letters/, /dossiers/ and the board at /.
  std::string token_file;  // empty: no token
  std::string token;       // the file's contents, trailing white space dropped (read at load)
  bool token_for_health = false;  // also require it for /metrics, /healthz and /readyz
  size_t timeline_limit = 32;     // entries kept per dossier for its timeline (0: none)
};

struct AlertmanagerConfig {
  std::string url;  // empty: no Alertmanager; "http://" or "https://"
  std::chrono::seconds resend_interval{60};
  std::chrono::seconds timeout{5};
  // Extensions for https:// (the system's CA store when ca_file is empty) and authentication.
  std::string ca_file;
  std::string cert_file;  // client certificate (PEM), with key_file
  std::string key_file;
  std::string bearer_token;  // read from bearer_token_file at load
  std::string basic_username;
  std::string basic_password;  // read from basic_auth.password_file at load
};

// Extension: what an apology letter prints about the agency that sends it (form 04 of Circular
// 03/2025/TT-VPCP). Every key is optional.
struct LetterheadConfig {
  std::string agency;         // default: the department's name
  std::string number_prefix;  // "Số: <dossier>-<cycle>/<prefix>"; default "XL-<code>"
};

struct LettersConfig {
  std::string parent_agency;  // the line above the agency ("UBND TỈNH ..."); empty: none
  std::string place;          // "<place>, ngày ... tháng ... năm ..."; empty: none
  std::map<std::string, LetterheadConfig, std::less<>> departments;  // by department code
  size_t keep = 100000;  // letters the daemon keeps for GET /letters/{id}
};

struct IngestConfig {
  // An event dated later than the wall clock (replay: --now) plus this is invalid
  // (`future_event`): a wrong clock upstream must never move ontime's clock.
  std::chrono::milliseconds max_clock_skew{std::chrono::minutes(5)};
};

struct OutputConfig {
  // The live daemon produces no alert or letter whose instant is older than this when it is
  // derived (a first start on a long history); replay --emit writes them all.
  std::chrono::milliseconds max_age{std::chrono::hours(7 * 24)};
};

struct RetentionConfig {
  // A dossier closed this long ago (event time, wall duration) leaves memory and the changelog.
  std::chrono::milliseconds closed{std::chrono::hours(30 * 24)};
};

// Extension: local checkpoints of the changelog partitions (`<state_dir>/checkpoints`), so that a
// restart or a partition's assignment reads a file and the changelog's tail only.
struct StateConfig {
  // Each restored partition's checkpoint is brought up to the changelog's end this often, on a
  // worker thread; 0: no checkpoints (every restore reads its whole changelog partition).
  std::chrono::milliseconds checkpoint_interval{std::chrono::minutes(5)};
  // Standby replicas: each partition another instance owns also has its checkpoint kept fresh
  // here (every few seconds) when this instance is one of the `standby_replicas` after its owner
  // in the members topic's order, so that it restores the partition from the checkpoint and a
  // short tail if it comes here. 0: none. Needs checkpoints.
  int standby_replicas = 0;
};

struct LogConfig {
  std::string level = "info";  // debug | info | warning | error
};

struct Config {
  rules::RulesConfig rules;
  KafkaConfig kafka;
  HttpConfig http;
  AlertmanagerConfig alertmanager;
  IngestConfig ingest;
  OutputConfig output;
  RetentionConfig retention;
  StateConfig state;
  LogConfig log;
  LettersConfig letters;
  std::string state_dir = "/var/lib/ontime";
  std::chrono::milliseconds snapshot_interval{60000};  // unused since the state lives on Kafka
  std::string source_path;  // the file it came from, or the source name given
};

// The changelog topic and the static member id, their defaults resolved.
std::string ChangelogTopic(const KafkaConfig& kafka);
std::string InstanceId(const KafkaConfig& kafka);
std::string MembersTopic(const KafkaConfig& kafka);
// http.advertise, its default resolved for the port the server bound (`bound_port`).
std::string AdvertisedAddress(const HttpConfig& http, uint16_t bound_port);

// One problem: `path` is the YAML path ("procedures[3].sla", "calendar.working_hours.mon-fri[1]"),
// or "file:line:column" for a file that cannot be read or parsed.
struct ConfigError {
  std::string path;
  std::string message;

  std::string ToString() const;  // "path: message"
};

// Either a config (and no errors) or every error found, in document order.
struct ConfigResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;

  bool ok() const { return config.has_value() && errors.empty(); }
};

// An unreadable file or a YAML syntax error gives one error with its line:column.
ConfigResult LoadConfigFile(const std::string& file);
ConfigResult LoadConfigString(std::string_view yaml, std::string source_name = "<string>");

inline constexpr int kExitConfig = 78;  // EX_CONFIG; the systemd unit does not restart on it

}  // namespace ontime::daemon
