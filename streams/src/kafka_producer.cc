#include "ontime/streams/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstring>
#include <string>

#include "kafka_util.h"

namespace ontime::streams {

struct KafkaProducer::Impl {
  struct Retry {
    std::string topic;
    std::string key;
    std::string value;
    std::vector<KafkaHeader> headers;
    uint64_t tag = 0;
  };

  rd_kafka_t* rk = nullptr;
  DeliveredFn delivered;
  size_t in_flight = 0;
  uint64_t redeliveries = 0;
  std::optional<std::string> fatal;
  std::vector<Retry> retries;

  ~Impl() {
    if (rk) rd_kafka_destroy(rk);
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    uint64_t tag = reinterpret_cast<uintptr_t>(m->_private);
    --self->in_flight;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->delivered({tag, rd_kafka_topic_name(m->rkt), m->partition, m->offset});
      return;
    }
    // Not delivered within message.timeout.ms (broker away too long...): send it again.
    Retry retry;
    retry.topic = rd_kafka_topic_name(m->rkt);
    if (m->key) retry.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) retry.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        retry.headers.push_back({name, std::string(static_cast<const char*>(value), size)});
      }
    }
    retry.tag = tag;
    self->retries.push_back(std::move(retry));
  }

  static void OnError(rd_kafka_t* handle, int err, const char*, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err != RD_KAFKA_RESP_ERR__FATAL || self->fatal) return;
    char reason[512];
    rd_kafka_resp_err_t original = rd_kafka_fatal_error(handle, reason, sizeof reason);
    self->fatal = std::string(rd_kafka_err2name(original)) + ": " + reason;
  }

  Status ProduceOnce(std::string_view topic, std::string_view key, std::string_view value,
                     uint64_t tag, const std::vector<KafkaHeader>& headers) {
    while (true) {
      if (fatal) return Error{"kafka_fatal", *fatal};
      rd_kafka_headers_t* hdrs = nullptr;
      if (!headers.empty()) {
        hdrs = rd_kafka_headers_new(headers.size());
        for (const KafkaHeader& h : headers) {
          rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()),
                              h.value.data(), static_cast<ssize_t>(h.value.size()));
        }
      }
      std::string topic_name(topic);
      rd_kafka_resp_err_t err =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic_name.c_str()),
                            RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(tag))),
                            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++in_flight;
        return Ok{};
      }
      if (hdrs) rd_kafka_headers_destroy(hdrs);  // not taken over on failure
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 50);  // make room: serve delivery reports
        continue;
      }
      return Error{"kafka_produce",
                   std::string(rd_kafka_err2str(err)) + " (topic " + topic_name + ")"};
    }
  }

  void Serve(int timeout_ms) {
    rd_kafka_poll(rk, timeout_ms);
    while (!retries.empty() && !fatal) {
      std::vector<Retry> again;
      again.swap(retries);
      for (Retry& r : again) {
        ++redeliveries;
        Status s = ProduceOnce(r.topic, r.key, r.value, r.tag, r.headers);
        if (!s.ok() && !fatal) fatal = "cannot produce again: " + s.error().message;
      }
    }
  }
};

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaProducer::~KafkaProducer() = default;

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(const KafkaSettings& settings,
                                                             DeliveredFn delivered) {
  auto impl = std::make_unique<Impl>();
  impl->delivered = std::move(delivered);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"message.timeout.ms", "120000"},
  };
  for (const auto& p : settings.properties) {
    if (IsConsumerOnlyProperty(p.first)) continue;
    props.push_back(p);
  }
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  rd_kafka_conf_set_opaque(conf, impl.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
  rd_kafka_conf_set_error_cb(conf, &Impl::OnError);
  char err[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka_config", err};
  }
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

Status KafkaProducer::Produce(std::string_view topic, std::string_view key, std::string_view value,
                              uint64_t tag, const std::vector<KafkaHeader>& headers) {
  return impl_->ProduceOnce(topic, key, value, tag, headers);
}

void KafkaProducer::Poll() { impl_->Serve(0); }

bool KafkaProducer::Flush(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (impl_->in_flight > 0 || !impl_->retries.empty()) {
    if (impl_->fatal) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    impl_->Serve(static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  return true;
}

size_t KafkaProducer::in_flight() const { return impl_->in_flight + impl_->retries.size(); }
const std::optional<std::string>& KafkaProducer::fatal_error() const { return impl_->fatal; }
uint64_t KafkaProducer::redeliveries() const { return impl_->redeliveries; }

}  // namespace ontime::streams
