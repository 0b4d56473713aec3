// Kafka-side tooling for the end-to-end benchmarks driven by bench/kafka/kafka_bench.py (which
// starts the broker and ontimed). Uses librdkafka's C API directly (reached through
// ontime::daemon -> ontime::streams, whose static library links rdkafka). Three modes:
//
//   kafka_bench load    --brokers B --topic T --file F
//       Produces every line of F (JSON Lines) keyed by its "dossier_id" (as the contract wants:
//       one dossier, one partition), as fast as the broker takes it. Prints RESULT lines.
//   kafka_bench consume --brokers B --topic T
//       The raw baseline: a fresh consumer group from the beginning, rd_kafka_consumer_poll in
//       a loop until partition EOF on every partition, counting messages and bytes; no parsing.
//   kafka_bench latency --brokers B --rate R --seconds S --trigger-every K [--topic T]
//                       [--alerts T] [--letters T] [--linger-ms MS] [--run TAG]
//                       [--trigger wall|resolved] [--warmup SECONDS (5; untimed, no triggers)]
//       --trigger resolved sends, right after each trigger's `accepted`, a `resolved` of the same
//       dossier (occurred_at now, past the due): applying it fires the dossier's own overdue
//       first; latency is then timed from the `resolved`. `wall` (default): the `accepted` alone.
//       A producer paced at R events/s for S seconds of `accepted` events (procedure P-LONG,
//       due far away); every K-th event is a trigger: dossier LAT-NNNNNNNN accepted 2 h ago with
//       due_at 1 h ago, so applying it breaches at once (overdue alert + apology letter). A
//       consumer on dossier.sla.alerts and dossier.apology-letters (assigned at their end before
//       the first event) notes when the trigger's overdue alert / letter arrives; p50/p99/max
//       of (arrival - producev call) in ms.
// Benchmarks report; nothing here fails on a slow number.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "kafka_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Args {
  std::map<std::string, std::string> v;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = v.find(k);
    if (it != v.end()) return it->second;
    if (def.empty()) Die("missing --" + k);
    return def;
  }
};

void Set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    Die(std::string("config ") + k + ": " + err);
  }
}

rd_kafka_t* NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) Die(std::string("rd_kafka_new: ") + err);
  return rk;
}

int PartitionCount(rd_kafka_t* rk, const std::string& topic) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 5000);
    rd_kafka_topic_destroy(t);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0 &&
        md->topics[0].partition_cnt > 0) {
      int n = md->topics[0].partition_cnt;
      rd_kafka_metadata_destroy(md);
      return n;
    }
    if (md) rd_kafka_metadata_destroy(md);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Die("no metadata for topic " + topic);
}

std::string Uptime() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string_view JsonField(std::string_view line, std::string_view name) {
  std::string pat(1, '"');
  pat.append(name);
  pat.append("\":\"");
  auto p = line.find(pat);
  if (p == std::string_view::npos) return {};
  p += pat.size();
  auto q = line.find('"', p);
  if (q == std::string_view::npos) return {};
  return line.substr(p, q - p);
}

// --- load ---

int Load(const Args& a) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", a.Get("brokers"));
  Set(conf, "linger.ms", "50");
  Set(conf, "batch.size", "1000000");
  Set(conf, "queue.buffering.max.kbytes", "1048576");
  Set(conf, "compression.codec", "none");
  Set(conf, "enable.idempotence", "true");
  std::atomic<int64_t> failed{0};
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* op) {
    if (m->err) static_cast<std::atomic<int64_t>*>(op)->fetch_add(1);
  });
  rd_kafka_t* rk = NewClient(RD_KAFKA_PRODUCER, conf);
  std::string topic = a.Get("topic");
  std::ifstream in(a.Get("file"));
  if (!in) Die("cannot read " + a.Get("file"));
  std::string line;
  int64_t n = 0, bytes = 0;
  auto t0 = Clock::now();
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::string_view key = JsonField(line, "dossier_id");
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(line.data(), line.size()),
          RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(e));
      rd_kafka_poll(rk, 10);
    }
    ++n;
    bytes += static_cast<int64_t>(line.size());
    if ((n & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_flush(rk, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
  }
  double s = Secs(Clock::now() - t0);
  std::printf("RESULT kafka_load_messages %" PRId64 "\nRESULT kafka_load_bytes %" PRId64
              "\nRESULT kafka_load_seconds %.3f\nRESULT kafka_load_events_per_s %.0f\n"
              "RESULT kafka_load_failed %" PRId64 "\n",
              n, bytes, s, n / s, failed.load());
  rd_kafka_destroy(rk);
  return failed.load() == 0 ? 0 : 1;
}

// --- consume (raw baseline) ---

int Consume(const Args& a) {
  std::string topic = a.Get("topic");
  auto t0 = Clock::now();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", a.Get("brokers"));
  Set(conf, "group.id", a.Get("group", "kafka-bench-raw-" + std::to_string(::time(nullptr))));
  Set(conf, "auto.offset.reset", "earliest");
  Set(conf, "enable.partition.eof", "true");
  Set(conf, "enable.auto.commit", "false");
  rd_kafka_t* rk = NewClient(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk);
  int partitions = PartitionCount(rk, topic);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_subscribe(rk, sub) != 0) Die("subscribe");
  rd_kafka_topic_partition_list_destroy(sub);

  int64_t n = 0, bytes = 0;
  std::vector<bool> eof(partitions, false);
  int eofs = 0;
  Clock::time_point first{};
  while (eofs < partitions) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 1000);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (!eof[m->partition]) {
        eof[m->partition] = true;
        ++eofs;
      }
    } else if (m->err) {
      std::fprintf(stderr, "kafka_bench: consume: %s\n", rd_kafka_message_errstr(m));
    } else {
      if (n == 0) first = Clock::now();
      ++n;
      bytes += static_cast<int64_t>(m->len + m->key_len);
    }
    rd_kafka_message_destroy(m);
  }
  auto end = Clock::now();
  double total = Secs(end - t0);
  double from_first = n > 0 ? Secs(end - first) : 0;
  std::printf("RESULT raw_messages %" PRId64 "\nRESULT raw_bytes %" PRId64
              "\n"
              "RESULT raw_seconds_from_start %.3f\nRESULT raw_seconds_from_first_message %.3f\n"
              "RESULT raw_events_per_s_from_start %.0f\n"
              "RESULT raw_events_per_s_from_first_message %.0f\n",
              n, bytes, total, from_first, n / total, from_first > 0 ? n / from_first : 0.0);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

// --- latency ---

std::string IsoUtc(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Latency(const Args& a) {
  const std::string brokers = a.Get("brokers");
  const std::string topic = a.Get("topic", "dossier.events");
  const double rate = std::stod(a.Get("rate", "10000"));
  const double seconds = std::stod(a.Get("seconds", "30"));
  const int64_t every = std::stoll(a.Get("trigger-every", "100"));
  // Background only (not timed) for the first --warmup seconds: JIT of a fresh broker, metadata,
  // the daemon's first fetches.
  const int64_t warm = static_cast<int64_t>(rate * std::stod(a.Get("warmup", "5")));
  const int64_t total = warm + static_cast<int64_t>(rate * seconds);
  const int64_t triggers = (total - warm) / every + 1;
  const std::string run = a.Get("run", std::to_string(::time(nullptr)));
  // wall: the trigger is the `accepted` alone (its past due fires on the daemon's timer path);
  // resolved: `accepted` + `resolved` of the same dossier, timed from the `resolved`.
  const bool resolved_mode = a.Get("trigger", "wall") == "resolved";

  std::vector<std::atomic<int64_t>> sent_ns(triggers);
  std::vector<std::atomic<int64_t>> alert_ns(triggers), letter_ns(triggers), input_ns(triggers);
  for (int64_t i = 0; i < triggers; ++i) sent_ns[i] = alert_ns[i] = letter_ns[i] = input_ns[i] = 0;
  auto ns_now = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
  };

  // The consumer: assigned at the current end of both output topics.
  rd_kafka_conf_t* cconf = rd_kafka_conf_new();
  Set(cconf, "bootstrap.servers", brokers);
  Set(cconf, "group.id", "kafka-bench-latency-" + run);
  Set(cconf, "enable.auto.commit", "false");
  Set(cconf, "fetch.wait.max.ms", "5");
  Set(cconf, "fetch.error.backoff.ms", "5");
  rd_kafka_t* ck = NewClient(RD_KAFKA_CONSUMER, cconf);
  rd_kafka_poll_set_consumer(ck);
  rd_kafka_topic_partition_list_t* asg = rd_kafka_topic_partition_list_new(8);
  const std::string alerts_topic = a.Get("alerts", "dossier.sla.alerts");
  const std::string letters_topic = a.Get("letters", "dossier.apology-letters");
  // The input topic too: when the timed event itself becomes readable (broker leg, no daemon).
  for (const std::string& name : {alerts_topic, letters_topic, topic}) {
    const char* t = name.c_str();
    int n = PartitionCount(ck, t);
    for (int p = 0; p < n; ++p) {
      int64_t lo = 0, hi = 0;
      int tries = 0;
      while (rd_kafka_query_watermark_offsets(ck, t, p, &lo, &hi, 5000) != 0) {
        if (++tries == 50) Die(std::string("watermarks of ") + t);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      rd_kafka_topic_partition_list_add(asg, t, p)->offset = hi;
    }
  }
  if (rd_kafka_assign(ck, asg) != 0) Die("assign");
  rd_kafka_topic_partition_list_destroy(asg);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> outputs{0};
  std::thread consumer([&] {
    while (!stop.load()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(ck, 100);
      if (!m) continue;
      int64_t now = ns_now();
      if (!m->err) {
        outputs.fetch_add(1);
        std::string_view key(static_cast<const char*>(m->key), m->key_len);
        std::string_view value(static_cast<const char*>(m->payload), m->len);
        std::string prefix = "LAT-" + run + "-";
        if (key.substr(0, prefix.size()) == prefix) {
          int64_t k = std::atoll(std::string(key.substr(prefix.size())).c_str());
          bool letter = rd_kafka_topic_name(m->rkt) == letters_topic;
          bool input = rd_kafka_topic_name(m->rkt) == topic;
          const char* timed = resolved_mode ? "-r\"" : "-a\"";
          if (k >= 0 && k < triggers) {
            if (input) {
              if (value.find(timed) != std::string_view::npos) input_ns[k] = now;
            } else if (letter) {
              int64_t z = 0;
              letter_ns[k].compare_exchange_strong(z, now);
            } else if (value.find("\"kind\":\"overdue\"") != std::string_view::npos) {
              int64_t z = 0;
              alert_ns[k].compare_exchange_strong(z, now);
            }
          }
        }
      }
      rd_kafka_message_destroy(m);
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));  // let the fetchers start

  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  Set(pconf, "bootstrap.servers", brokers);
  Set(pconf, "linger.ms", a.Get("linger-ms", "1"));
  Set(pconf, "compression.codec", "none");
  rd_kafka_t* pk = NewClient(RD_KAFKA_PRODUCER, pconf);

  auto t0 = Clock::now();
  int64_t k = 0;
  for (int64_t i = 0; i < total; ++i) {
    auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * i / rate));
    auto now = Clock::now();
    if (due > now) std::this_thread::sleep_until(due);
    auto wall = std::chrono::system_clock::now();
    std::string id, value;
    bool trigger = i >= warm && (i - warm) % every == 0;
    if (trigger) {
      id = "LAT-" + run + "-" + std::to_string(k);
      value = "{\"event_id\":\"" + id + "-a\",\"type\":\"accepted\",\"dossier_id\":\"" + id +
              "\",\"occurred_at\":\"" + IsoUtc(wall - std::chrono::hours(2)) +
              "\",\"procedure\":\"P-LONG\",\"department\":\"SXD\",\"due_at\":\"" +
              IsoUtc(wall - std::chrono::hours(1)) + "\"}";
    } else {
      id = "BG-" + run + "-" + std::to_string(i);
      value = "{\"event_id\":\"" + id + "-a\",\"type\":\"accepted\",\"dossier_id\":\"" + id +
              "\",\"occurred_at\":\"" + IsoUtc(wall) +
              "\",\"procedure\":\"P-LONG\",\"department\":\"SXD\"}";
    }
    if (trigger && resolved_mode) {
      // The same dossier's `resolved`, right behind: its own overdue timer fires before it.
      for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            pk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(id.data(), id.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(e));
        rd_kafka_poll(pk, 1);
      }
      value = "{\"event_id\":\"" + id + "-r\",\"type\":\"resolved\",\"dossier_id\":\"" + id +
              "\",\"occurred_at\":\"" + IsoUtc(wall) + "\"}";
    }
    for (;;) {
      if (trigger) sent_ns[k] = ns_now();
      rd_kafka_resp_err_t e = rd_kafka_producev(
          pk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(id.data(), id.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
          RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("produce: ") + rd_kafka_err2str(e));
      rd_kafka_poll(pk, 1);
    }
    if (trigger) ++k;
    rd_kafka_poll(pk, 0);
  }
  double produce_s = Secs(Clock::now() - t0);
  rd_kafka_flush(pk, 10000);
  // Wait for the last alerts (up to 10 s).
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    bool all = true;
    for (int64_t j = 0; j < k && all; ++j) all = alert_ns[j] != 0 && letter_ns[j] != 0;
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  consumer.join();
  std::vector<double> al, le, in, daemon_leg;
  for (int64_t j = 0; j < k; ++j) {
    if (input_ns[j]) in.push_back((input_ns[j] - sent_ns[j]) / 1e6);
    // The same trigger's input readable -> its alert readable: the daemon's share (consume,
    // apply, produce), without the producer -> broker -> consumer leg both paths share.
    if (input_ns[j] && alert_ns[j]) daemon_leg.push_back((alert_ns[j] - input_ns[j]) / 1e6);
    if (alert_ns[j]) al.push_back((alert_ns[j] - sent_ns[j]) / 1e6);
    if (letter_ns[j]) le.push_back((letter_ns[j] - sent_ns[j]) / 1e6);
  }
  std::printf("RESULT latency_events_sent %" PRId64
              "\nRESULT latency_produce_seconds %.3f\n"
              "RESULT latency_achieved_rate %.0f\nRESULT latency_triggers %" PRId64
              "\n"
              "RESULT latency_alerts_seen %zu\nRESULT latency_letters_seen %zu\n",
              total, produce_s, total / produce_s, k, al.size(), le.size());
  std::printf(
      "RESULT latency_input_ms_p50 %.2f\nRESULT latency_input_ms_p99 %.2f\n"
      "RESULT latency_input_to_alert_ms_p50 %.2f\n"
      "RESULT latency_input_to_alert_ms_p99 %.2f\n",
      Percentile(in, 0.5), Percentile(in, 0.99), Percentile(daemon_leg, 0.5),
      Percentile(daemon_leg, 0.99));
  std::printf(
      "RESULT latency_alert_ms_p50 %.2f\nRESULT latency_alert_ms_p99 %.2f\n"
      "RESULT latency_alert_ms_max %.2f\n",
      Percentile(al, 0.5), Percentile(al, 0.99), Percentile(al, 1.0));
  std::printf(
      "RESULT latency_letter_ms_p50 %.2f\nRESULT latency_letter_ms_p99 %.2f\n"
      "RESULT latency_letter_ms_max %.2f\nRESULT latency_loadavg %s\n",
      Percentile(le, 0.5), Percentile(le, 0.99), Percentile(le, 1.0), Uptime().c_str());
  rd_kafka_destroy(pk);
  rd_kafka_consumer_close(ck);
  rd_kafka_destroy(ck);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: kafka_bench load|consume|latency --brokers B ...");
  std::string mode = argv[1];
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) Die("bad argument " + k);
    a.v[k.substr(2)] = argv[i + 1];
  }
  if (mode == "load") return Load(a);
  if (mode == "consume") return Consume(a);
  if (mode == "latency") return Latency(a);
  Die("unknown mode " + mode);
}
