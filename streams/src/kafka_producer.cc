#include "ontime/streams/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "kafka_util.h"

namespace ontime::streams {
namespace {

// Takes ownership of `error` (null: success).
TransactionResult ToResult(rd_kafka_error_t* error, TransactionResult::Kind unclassified) {
  if (!error) return {};
  TransactionResult result;
  if (rd_kafka_error_is_fatal(error)) {
    result.kind = TransactionResult::Kind::kFatal;
  } else if (rd_kafka_error_txn_requires_abort(error)) {
    result.kind = TransactionResult::Kind::kAbortRequired;
  } else if (rd_kafka_error_is_retriable(error)) {
    result.kind = TransactionResult::Kind::kRetriable;
  } else {
    result.kind = unclassified;
  }
  result.message = std::string(rd_kafka_error_name(error)) + ": " + rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  return result;
}

Status ToStatus(rd_kafka_error_t* error) {
  TransactionResult r = ToResult(error, TransactionResult::Kind::kAbortRequired);
  switch (r.kind) {
    case TransactionResult::Kind::kOk: return Ok{};
    case TransactionResult::Kind::kRetriable: return Error{"kafka_txn_retriable", r.message};
    case TransactionResult::Kind::kFatal: return Error{"kafka_txn_fatal", r.message};
    case TransactionResult::Kind::kAbortRequired: break;
  }
  return Error{"kafka_txn", r.message};
}

}  // namespace

// Everything but the atomics is touched by the loop thread only (Produce, Poll, Flush and the
// delivery reports they serve); the transaction calls use `rk` and the atomics.
struct KafkaProducer::Impl {
  struct Retry {
    std::string topic;
    std::string key;
    std::string value;
    bool null_value = false;
    int32_t partition = kAnyPartition;
    std::vector<KafkaHeader> headers;
    uint64_t tag = 0;
  };

  rd_kafka_t* rk = nullptr;
  rd_kafka_queue_t* events = nullptr;  // the main queue: delivery reports and errors
  bool transactional = false;
  DeliveredFn delivered;
  size_t in_flight = 0;
  uint64_t redeliveries = 0;
  std::optional<std::string> fatal;
  std::optional<std::string> last_delivery_error;
  std::vector<Retry> retries;
  // Topic handles by name, made once: producev with a topic name looks it up under the client's
  // lock (and copies the name) for every message.
  std::vector<std::pair<std::string, rd_kafka_topic_t*>> topics;
  // The current transaction's input offsets are in it (a retried commit does not send them again).
  std::atomic<bool> offsets_sent{false};
  // The thread that calls Produce/Poll/Flush, the only one serving delivery reports.
  std::atomic<std::thread::id> loop_thread{};

  void OnLoopThread() { loop_thread.store(std::this_thread::get_id(), std::memory_order_relaxed); }

  // Runs a blocking transaction call. Its internal flush waits for delivery reports to be served:
  // by the loop thread when called from a worker; when called on the loop thread itself (inside a
  // rebalance callback...), the call runs on a helper thread while this one serves them.
  rd_kafka_error_t* Blocking(const std::function<rd_kafka_error_t*()>& call) {
    if (loop_thread.load(std::memory_order_relaxed) != std::this_thread::get_id()) return call();
    auto result = std::async(std::launch::async, call);
    while (result.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      Serve(10);
    }
    return result.get();
  }

  ~Impl() {
    for (auto& [name, rkt] : topics) rd_kafka_topic_destroy(rkt);
    if (events) rd_kafka_queue_destroy(events);
    if (rk) rd_kafka_destroy(rk);
  }

  void OnDelivery(const rd_kafka_message_t* m) {
    uint64_t tag = reinterpret_cast<uintptr_t>(m->_private);
    --in_flight;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      delivered({tag, rd_kafka_topic_name(m->rkt), m->partition, m->offset});
      return;
    }
    if (transactional) {
      // The transaction cannot commit now; its abort drops the rest. Never produced again.
      if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        last_delivery_error = std::string(rd_kafka_err2name(m->err)) + ": " +
                              rd_kafka_message_errstr(m) + " (topic " +
                              rd_kafka_topic_name(m->rkt) + ")";
      }
      return;
    }
    // Not delivered within message.timeout.ms (broker away too long...): send it again.
    Retry retry;
    retry.topic = rd_kafka_topic_name(m->rkt);
    if (m->key) retry.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) {
      retry.value.assign(static_cast<const char*>(m->payload), m->len);
    } else {
      retry.null_value = true;
    }
    retry.partition = m->partition >= 0 ? m->partition : kAnyPartition;
    retry.headers = CopyHeaders(m);
    retry.tag = tag;
    retries.push_back(std::move(retry));
  }

  // Serves queued delivery reports and errors, waiting up to `timeout_ms` for the first.
  void ServeEvents(int timeout_ms) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(events, timeout_ms);
    while (ev) {
      if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DR) {
        while (const rd_kafka_message_t* m = rd_kafka_event_message_next(ev)) OnDelivery(m);
      }
      rd_kafka_event_destroy(ev);
      ev = rd_kafka_queue_poll(events, 0);
    }
    if (!fatal) {
      char reason[512];
      rd_kafka_resp_err_t original = rd_kafka_fatal_error(rk, reason, sizeof reason);
      if (original != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fatal = std::string(rd_kafka_err2name(original)) + ": " + reason;
      }
    }
  }

  rd_kafka_topic_t* Topic(std::string_view name) {
    for (const auto& [known, rkt] : topics) {
      if (known == name) return rkt;
    }
    std::string copy(name);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, copy.c_str(), nullptr);
    if (rkt) topics.emplace_back(std::move(copy), rkt);
    return rkt;
  }

  Status ProduceOnce(std::string_view topic, std::string_view key,
                     std::optional<std::string_view> value, uint64_t tag,
                     const std::vector<KafkaHeader>& headers, int32_t partition) {
    while (true) {
      if (fatal) return Error{"kafka_fatal", *fatal};
      rd_kafka_topic_t* rkt = Topic(topic);
      if (!rkt) {
        return Error{"kafka_produce", std::string(rd_kafka_err2str(rd_kafka_last_error())) +
                                          " (topic " + std::string(topic) + ")"};
      }
      rd_kafka_headers_t* hdrs = nullptr;
      if (!headers.empty()) {
        hdrs = rd_kafka_headers_new(headers.size());
        for (const KafkaHeader& h : headers) {
          rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()),
                              h.value.data(), static_cast<ssize_t>(h.value.size()));
        }
      }
      // A null payload is a tombstone; an empty value needs a non-null pointer.
      void* payload = value ? const_cast<char*>(value->data() ? value->data() : "") : nullptr;
      size_t size = value ? value->size() : 0;
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(tag))),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++in_flight;
        return Ok{};
      }
      if (hdrs) rd_kafka_headers_destroy(hdrs);  // not taken over on failure
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        ServeEvents(50);  // make room: serve delivery reports
        continue;
      }
      return Error{"kafka_produce",
                   std::string(rd_kafka_err2str(err)) + " (topic " + std::string(topic) + ")"};
    }
  }

  void Serve(int timeout_ms) {
    ServeEvents(timeout_ms);
    while (!retries.empty() && !fatal) {
      std::vector<Retry> again;
      again.swap(retries);
      for (Retry& r : again) {
        ++redeliveries;
        std::optional<std::string_view> value;
        if (!r.null_value) value = r.value;
        Status s = ProduceOnce(r.topic, r.key, value, r.tag, r.headers, r.partition);
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
  impl->transactional = !settings.transactional_id.empty();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", settings.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
  };
  if (impl->transactional) {
    // librdkafka wants message.timeout.ms <= transaction.timeout.ms; a message not delivered in
    // that time fails its transaction, which is aborted and redone.
    props.push_back({"transactional.id", settings.transactional_id});
    props.push_back({"transaction.timeout.ms", "30000"});
    props.push_back({"message.timeout.ms", "30000"});
    // Room for a busy stretch's outputs and changelog records: the daemon stops consuming when
    // a million are in flight (Transactor::accepting) rather than wait here on a full queue.
    props.push_back({"queue.buffering.max.messages", "2000000"});
  } else {
    props.push_back({"message.timeout.ms", "120000"});
  }
  for (const auto& p : settings.properties) {
    if (IsConsumerOnlyProperty(p.first)) continue;
    props.push_back(p);
  }
  if (Status s = ApplyProperties(conf, props); !s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s.error();
  }
  // Delivery reports as events, served by Poll/Flush only: a commit's internal flush on a worker
  // thread then waits for the loop thread to serve them instead of serving them itself.
  rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
  char err[512];
  impl->rk = NewKafkaClient(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka_config", err};
  }
  impl->events = rd_kafka_queue_get_main(impl->rk);
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

Status KafkaProducer::Produce(std::string_view topic, std::string_view key, std::string_view value,
                              uint64_t tag, const std::vector<KafkaHeader>& headers,
                              int32_t partition) {
  impl_->OnLoopThread();
  return impl_->ProduceOnce(topic, key, value, tag, headers, partition);
}

Status KafkaProducer::ProduceTombstone(std::string_view topic, std::string_view key, uint64_t tag,
                                       int32_t partition) {
  impl_->OnLoopThread();
  return impl_->ProduceOnce(topic, key, std::nullopt, tag, {}, partition);
}

void KafkaProducer::Poll() {
  impl_->OnLoopThread();
  impl_->Serve(0);
}

bool KafkaProducer::Flush(std::chrono::milliseconds timeout) {
  impl_->OnLoopThread();
  auto deadline = Clock::now() + timeout;
  while (impl_->in_flight > 0 || !impl_->retries.empty()) {
    if (impl_->fatal) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    impl_->Serve(static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  return true;
}

size_t KafkaProducer::in_flight() const { return impl_->in_flight + impl_->retries.size(); }
const std::optional<std::string>& KafkaProducer::fatal_error() const { return impl_->fatal; }
uint64_t KafkaProducer::redeliveries() const { return impl_->redeliveries; }
const std::optional<std::string>& KafkaProducer::last_delivery_error() const {
  return impl_->last_delivery_error;
}
bool KafkaProducer::transactional() const { return impl_->transactional; }

Status KafkaProducer::InitTransactions(std::chrono::milliseconds timeout) {
  if (!impl_->transactional) return Error{"kafka_txn", "the producer has no transactional id"};
  return ToStatus(rd_kafka_init_transactions(impl_->rk, static_cast<int>(timeout.count())));
}

Status KafkaProducer::BeginTransaction() {
  if (!impl_->transactional) return Error{"kafka_txn", "the producer has no transactional id"};
  impl_->offsets_sent = false;
  return ToStatus(rd_kafka_begin_transaction(impl_->rk));
}

TransactionResult KafkaProducer::CommitTransaction(const std::string& input_topic,
                                                   const PartitionOffsets& next_offsets,
                                                   const GroupMetadata& group,
                                                   std::chrono::milliseconds timeout) {
  using Kind = TransactionResult::Kind;
  if (!impl_->transactional) return {Kind::kFatal, "the producer has no transactional id"};
  auto deadline = Clock::now() + timeout;
  if (!next_offsets.empty() && !impl_->offsets_sent) {
    if (!group.valid()) return {Kind::kAbortRequired, "no consumer group metadata for the offsets"};
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
    for (const auto& [partition, offset] : next_offsets) {
      rd_kafka_topic_partition_list_add(list, input_topic.c_str(), partition)->offset = offset;
    }
    rd_kafka_error_t* error = impl_->Blocking([&] {
      return rd_kafka_send_offsets_to_transaction(impl_->rk, list, group.impl()->handle,
                                                  RemainingMsAtLeastOne(deadline));
    });
    rd_kafka_topic_partition_list_destroy(list);
    if (error) return ToResult(error, Kind::kAbortRequired);
    impl_->offsets_sent = true;
  }
  return ToResult(impl_->Blocking([&] {
    return rd_kafka_commit_transaction(impl_->rk, RemainingMsAtLeastOne(deadline));
  }),
                  Kind::kAbortRequired);
}

TransactionResult KafkaProducer::AbortTransaction(std::chrono::milliseconds timeout) {
  using Kind = TransactionResult::Kind;
  if (!impl_->transactional) return {Kind::kFatal, "the producer has no transactional id"};
  return ToResult(impl_->Blocking([&] {
    return rd_kafka_abort_transaction(impl_->rk, static_cast<int>(timeout.count()));
  }),
                  Kind::kFatal);
}

}  // namespace ontime::streams
