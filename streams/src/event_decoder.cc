#include "ontime/streams/event_decoder.h"

#include <simdjson.h>

#include <string>

namespace ontime::streams {
namespace {

using rules::Event;
using rules::EventType;
using simdjson::dom::element;
using simdjson::dom::object;

Error Missing(std::string_view field) {
  return Error{std::string(kMissingField), "missing required field \"" + std::string(field) + "\""};
}

Error Invalid(std::string_view field, std::string_view why) {
  return Error{std::string(kInvalidField),
               "field \"" + std::string(field) + "\" " + std::string(why)};
}

// Looks a field up in the event object, then in CloudEvents `data`.
struct Fields {
  object top;
  object data;
  bool has_data = false;

  bool Get(std::string_view key, element& out) const {
    if (top[key].get(out) == simdjson::SUCCESS && !out.is_null()) return true;
    return has_data && data[key].get(out) == simdjson::SUCCESS && !out.is_null();
  }
};

// A string field: absent -> empty view (ok), present but not a string -> error.
std::optional<Error> GetString(const Fields& f, std::string_view key, std::string_view& out) {
  element value;
  if (!f.Get(key, value)) return std::nullopt;
  if (value.get_string().get(out) != simdjson::SUCCESS) return Invalid(key, "is not a string");
  return std::nullopt;
}

std::optional<Error> GetStringAt(const object& o, std::string_view key, std::string_view& out) {
  element value;
  if (o[key].get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  if (value.get_string().get(out) != simdjson::SUCCESS) return Invalid(key, "is not a string");
  return std::nullopt;
}

std::optional<Error> GetInstant(const Fields& f, std::string_view key,
                                std::optional<Instant>& out) {
  std::string_view text;
  if (auto error = GetString(f, key, text)) return error;
  if (text.empty()) return std::nullopt;
  out = ParseRfc3339(text);
  if (!out)
    return Invalid(key, "is not an RFC 3339 timestamp with offset: \"" + std::string(text) + "\"");
  return std::nullopt;
}

std::optional<Error> CheckId(std::string_view key, std::string_view value) {
  if (value.empty()) return Missing(key);
  if (value.size() > 128) return Invalid(key, "is longer than 128 characters");
  // Ids are keys of the changelog, where "\x01..." names the engine's own records: no control
  // characters, which no office system puts in an id.
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(key, "contains a control character");
    }
  }
  return std::nullopt;
}

}  // namespace

struct EventDecoder::Impl {
  simdjson::dom::parser parser;
};

EventDecoder::EventDecoder() : impl_(std::make_unique<Impl>()) {}
EventDecoder::~EventDecoder() = default;

Result<Event> EventDecoder::Decode(std::string_view json, bool padded) {
  element root;
  auto parse_error = impl_->parser.parse(json.data(), json.size(), !padded).get(root);
  if (parse_error != simdjson::SUCCESS) {
    return Error{std::string(kInvalidJson), std::string(simdjson::error_message(parse_error))};
  }
  Fields f;
  if (root.get_object().get(f.top) != simdjson::SUCCESS) {
    return Error{std::string(kInvalidJson), "the event is not a JSON object"};
  }
  Event e;
  element specversion;
  bool cloud_event = f.top["specversion"].get(specversion) == simdjson::SUCCESS;
  if (cloud_event) {
    element data;
    if (f.top["data"].get(data) == simdjson::SUCCESS && !data.is_null()) {
      if (data.get_object().get(f.data) != simdjson::SUCCESS) {
        return Invalid("data", "is not an object");
      }
      f.has_data = true;
    }
    if (auto error = GetStringAt(f.top, "id", e.event_id)) return *error;
    if (auto error = GetStringAt(f.top, "subject", e.dossier_id)) return *error;
    if (auto error = GetStringAt(f.top, "type", e.type_name)) return *error;
    std::string_view time;
    if (auto error = GetStringAt(f.top, "time", time)) return *error;
    if (e.event_id.empty()) GetString(f, "event_id", e.event_id);
    if (e.dossier_id.empty()) GetString(f, "dossier_id", e.dossier_id);
    if (!time.empty()) {
      auto t = ParseRfc3339(time);
      if (!t)
        return Invalid("time",
                       "is not an RFC 3339 timestamp with offset: \"" + std::string(time) + "\"");
      e.occurred_at = *t;
    } else {
      std::optional<Instant> t;
      if (auto error = GetInstant(f, "occurred_at", t)) return *error;
      if (!t) return Missing("time");
      e.occurred_at = *t;
    }
    if (e.type_name.empty()) return Missing("type");
    e.type = rules::EventTypeFromName(e.type_name);
  } else {
    if (auto error = GetString(f, "event_id", e.event_id)) return *error;
    if (auto error = GetString(f, "dossier_id", e.dossier_id)) return *error;
    element type;
    if (f.top["type"].get(type) == simdjson::SUCCESS && !type.is_null()) {
      if (type.get_string().get(e.type_name) != simdjson::SUCCESS) {
        return Invalid("type", "is not a string");
      }
      e.type = rules::EventTypeFromName(e.type_name);
    } else {
      element status;
      if (f.top["status"].get(status) != simdjson::SUCCESS || status.is_null()) {
        return Missing("type");
      }
      int64_t code = 0;
      if (status.get_int64().get(code) != simdjson::SUCCESS) {
        return Invalid("status", "is not an integer");
      }
      e.type = rules::EventTypeFromStatus(code);
      e.type_name = e.type == EventType::kUnknown ? "status" : rules::ToString(e.type);
    }
    std::optional<Instant> t;
    if (auto error = GetInstant(f, "occurred_at", t)) return *error;
    if (!t) return Missing("occurred_at");
    e.occurred_at = *t;
  }
  if (auto error = CheckId(cloud_event ? "id" : "event_id", e.event_id)) return *error;
  if (auto error = CheckId(cloud_event ? "subject" : "dossier_id", e.dossier_id)) return *error;
  if (e.type == EventType::kUnknown) return e;  // counted and skipped by the caller

  if (auto error = GetString(f, "procedure", e.procedure)) return *error;
  if (auto error = GetString(f, "department", e.department)) return *error;
  if (auto error = GetString(f, "reason", e.reason)) return *error;
  if (auto error = GetInstant(f, "due_at", e.due_at)) return *error;

  std::string_view text;
  if (auto error = GetString(f, "channel", text)) return *error;
  if (text == "online") {
    e.channel = rules::Channel::kOnline;
  } else if (text == "postal") {
    e.channel = rules::Channel::kPostal;
  } else if (text.empty() || text == "direct") {
    e.channel = rules::Channel::kDirect;
  } else {
    return Invalid("channel", "must be direct, online or postal");
  }

  element value;
  if (f.Get("reception_seconds", value)) {
    double seconds = 0;
    if (value.get_double().get(seconds) != simdjson::SUCCESS || seconds < 0) {
      return Invalid("reception_seconds", "is not a number >= 0");
    }
    e.reception_seconds = seconds;
  }
  if (f.Get("applicant", value)) {
    object applicant;
    if (value.get_object().get(applicant) != simdjson::SUCCESS) {
      return Invalid("applicant", "is not an object");
    }
    rules::ApplicantView view;
    if (auto error = GetStringAt(applicant, "name", view.name)) return *error;
    if (auto error = GetStringAt(applicant, "address", view.address)) return *error;
    if (auto error = GetStringAt(applicant, "phone", view.phone)) return *error;
    if (auto error = GetStringAt(applicant, "email", view.email)) return *error;
    e.applicant = view;
  }
  text = {};
  if (auto error = GetString(f, "rating", text)) return *error;
  if (text == "very_satisfied") {
    e.rating = rules::Rating::kVerySatisfied;
  } else if (text == "satisfied") {
    e.rating = rules::Rating::kSatisfied;
  } else if (text == "dissatisfied") {
    e.rating = rules::Rating::kDissatisfied;
  } else if (!text.empty()) {
    return Invalid("rating", "must be very_satisfied, satisfied or dissatisfied");
  }
  text = {};
  if (auto error = GetString(f, "method", text)) return *error;
  if (text == "online") {
    e.method = rules::PaymentMethod::kOnline;
  } else if (text == "cash") {
    e.method = rules::PaymentMethod::kCash;
  } else if (!text.empty()) {
    return Invalid("method", "must be online or cash");
  }
  text = {};
  if (auto error = GetString(f, "return_channel", text)) return *error;
  if (text == "postal") {
    e.return_channel = rules::ReturnChannel::kPostal;
  } else if (text == "online") {
    e.return_channel = rules::ReturnChannel::kOnline;
  } else if (text.empty() || text == "counter") {
    e.return_channel = rules::ReturnChannel::kCounter;
  } else {
    return Invalid("return_channel", "must be counter, postal or online");
  }

  switch (e.type) {
    case EventType::kAccepted:
      if (e.procedure.empty()) return Missing("procedure");
      break;
    case EventType::kTransferred:
      if (e.department.empty()) return Missing("department");
      break;
    case EventType::kRated:
      if (e.rating == rules::Rating::kNone) return Missing("rating");
      break;
    case EventType::kFeePaid:
      if (e.method == rules::PaymentMethod::kNone) return Missing("method");
      break;
    case EventType::kExtended:
      if (!e.due_at) return Missing("due_at");
      break;
    default: break;
  }
  return e;
}

}  // namespace ontime::streams
