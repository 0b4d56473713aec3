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

// The keys the decoder reads. An object's fields are collected in one pass (looking each key up
// would scan the object again for every one of the ~15 fields an event may have, with a memcmp
// per field), each the first of its name as simdjson's object[key] would find it.
enum Key : uint8_t {
  kEventIdKey,
  kDossierIdKey,
  kTypeKey,
  kStatusKey,
  kOccurredAtKey,
  kProcedureKey,
  kDepartmentKey,
  kReasonKey,
  kDueAtKey,
  kChannelKey,
  kReceptionSecondsKey,
  kApplicantKey,
  kRatingKey,
  kMethodKey,
  kReturnChannelKey,
  kSpecversionKey,
  kDataKey,
  kIdKey,
  kSubjectKey,
  kTimeKey,
  kNameKey,  // the applicant's
  kAddressKey,
  kPhoneKey,
  kEmailKey,
  kKeyCount,
  kOtherKey = kKeyCount,
};
static_assert(kKeyCount <= 32);

Key KeyOf(std::string_view key) {
  switch (key.size()) {
    case 2:
      if (key == "id") return kIdKey;
      break;
    case 4:
      if (key == "type") return kTypeKey;
      if (key == "time") return kTimeKey;
      if (key == "data") return kDataKey;
      if (key == "name") return kNameKey;
      break;
    case 5:
      if (key == "phone") return kPhoneKey;
      if (key == "email") return kEmailKey;
      break;
    case 6:
      if (key == "status") return kStatusKey;
      if (key == "reason") return kReasonKey;
      if (key == "due_at") return kDueAtKey;
      if (key == "rating") return kRatingKey;
      if (key == "method") return kMethodKey;
      break;
    case 7:
      if (key == "channel") return kChannelKey;
      if (key == "subject") return kSubjectKey;
      if (key == "address") return kAddressKey;
      break;
    case 8:
      if (key == "event_id") return kEventIdKey;
      break;
    case 9:
      if (key == "procedure") return kProcedureKey;
      if (key == "applicant") return kApplicantKey;
      break;
    case 10:
      if (key == "dossier_id") return kDossierIdKey;
      if (key == "department") return kDepartmentKey;
      break;
    case 11:
      if (key == "occurred_at") return kOccurredAtKey;
      if (key == "specversion") return kSpecversionKey;
      break;
    case 14:
      if (key == "return_channel") return kReturnChannelKey;
      break;
    case 17:
      if (key == "reception_seconds") return kReceptionSecondsKey;
      break;
    default: break;
  }
  return kOtherKey;
}

// The known fields of one object, by key.
class FieldTable {
 public:
  explicit FieldTable(const object& o) {
    for (const simdjson::dom::key_value_pair field : o) {
      const Key key = KeyOf(field.key);
      if (key == kOtherKey || (present_ & Bit(key)) != 0) continue;
      present_ |= Bit(key);
      values_[key] = field.value;
    }
  }
  FieldTable() = default;
  bool Has(Key key) const { return (present_ & Bit(key)) != 0; }
  // The field when present and not null.
  bool Get(Key key, element& out) const {
    if (!Has(key) || values_[key].is_null()) return false;
    out = values_[key];
    return true;
  }

 private:
  static uint32_t Bit(Key key) { return uint32_t{1} << key; }
  uint32_t present_ = 0;
  element values_[kKeyCount];
};

// Looks a field up in the event object, then in CloudEvents `data`.
struct Fields {
  FieldTable top;
  FieldTable data;

  bool Get(Key key, element& out) const { return top.Get(key, out) || data.Get(key, out); }
};

// A string field: absent -> empty view (ok), present but not a string -> error.
std::optional<Error> GetString(const Fields& f, Key key, std::string_view name,
                               std::string_view& out) {
  element value;
  if (!f.Get(key, value)) return std::nullopt;
  if (value.get_string().get(out) != simdjson::SUCCESS) return Invalid(name, "is not a string");
  return std::nullopt;
}

std::optional<Error> GetStringAt(const FieldTable& o, Key key, std::string_view name,
                                 std::string_view& out) {
  element value;
  if (!o.Get(key, value)) return std::nullopt;
  if (value.get_string().get(out) != simdjson::SUCCESS) return Invalid(name, "is not a string");
  return std::nullopt;
}

std::optional<Error> GetInstant(const Fields& f, Key key, std::string_view name,
                                std::optional<Instant>& out) {
  std::string_view text;
  if (auto error = GetString(f, key, name, text)) return error;
  if (text.empty()) return std::nullopt;
  out = ParseRfc3339(text);
  if (!out)
    return Invalid(name, "is not an RFC 3339 timestamp with offset: \"" + std::string(text) + "\"");
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
  object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return Error{std::string(kInvalidJson), "the event is not a JSON object"};
  }
  Fields f{FieldTable(top), FieldTable()};
  Event e;
  bool cloud_event = f.top.Has(kSpecversionKey);
  if (cloud_event) {
    element data;
    if (f.top.Get(kDataKey, data)) {
      object data_object;
      if (data.get_object().get(data_object) != simdjson::SUCCESS) {
        return Invalid("data", "is not an object");
      }
      f.data = FieldTable(data_object);
    }
    if (auto error = GetStringAt(f.top, kIdKey, "id", e.event_id)) return *error;
    if (auto error = GetStringAt(f.top, kSubjectKey, "subject", e.dossier_id)) return *error;
    if (auto error = GetStringAt(f.top, kTypeKey, "type", e.type_name)) return *error;
    std::string_view time;
    if (auto error = GetStringAt(f.top, kTimeKey, "time", time)) return *error;
    if (e.event_id.empty()) GetString(f, kEventIdKey, "event_id", e.event_id);
    if (e.dossier_id.empty()) GetString(f, kDossierIdKey, "dossier_id", e.dossier_id);
    if (!time.empty()) {
      auto t = ParseRfc3339(time);
      if (!t)
        return Invalid("time",
                       "is not an RFC 3339 timestamp with offset: \"" + std::string(time) + "\"");
      e.occurred_at = *t;
    } else {
      std::optional<Instant> t;
      if (auto error = GetInstant(f, kOccurredAtKey, "occurred_at", t)) return *error;
      if (!t) return Missing("time");
      e.occurred_at = *t;
    }
    if (e.type_name.empty()) return Missing("type");
    e.type = rules::EventTypeFromName(e.type_name);
  } else {
    if (auto error = GetString(f, kEventIdKey, "event_id", e.event_id)) return *error;
    if (auto error = GetString(f, kDossierIdKey, "dossier_id", e.dossier_id)) return *error;
    element type;
    if (f.top.Get(kTypeKey, type)) {
      if (type.get_string().get(e.type_name) != simdjson::SUCCESS) {
        return Invalid("type", "is not a string");
      }
      e.type = rules::EventTypeFromName(e.type_name);
    } else {
      element status;
      if (!f.top.Get(kStatusKey, status)) return Missing("type");
      int64_t code = 0;
      if (status.get_int64().get(code) != simdjson::SUCCESS) {
        return Invalid("status", "is not an integer");
      }
      e.type = rules::EventTypeFromStatus(code);
      e.type_name = e.type == EventType::kUnknown ? "status" : rules::ToString(e.type);
    }
    std::optional<Instant> t;
    if (auto error = GetInstant(f, kOccurredAtKey, "occurred_at", t)) return *error;
    if (!t) return Missing("occurred_at");
    e.occurred_at = *t;
  }
  if (auto error = CheckId(cloud_event ? "id" : "event_id", e.event_id)) return *error;
  if (auto error = CheckId(cloud_event ? "subject" : "dossier_id", e.dossier_id)) return *error;
  if (e.type == EventType::kUnknown) return e;  // counted and skipped by the caller

  if (auto error = GetString(f, kProcedureKey, "procedure", e.procedure)) return *error;
  if (auto error = GetString(f, kDepartmentKey, "department", e.department)) return *error;
  if (auto error = GetString(f, kReasonKey, "reason", e.reason)) return *error;
  if (auto error = GetInstant(f, kDueAtKey, "due_at", e.due_at)) return *error;

  std::string_view text;
  if (auto error = GetString(f, kChannelKey, "channel", text)) return *error;
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
  if (f.Get(kReceptionSecondsKey, value)) {
    double seconds = 0;
    if (value.get_double().get(seconds) != simdjson::SUCCESS || seconds < 0) {
      return Invalid("reception_seconds", "is not a number >= 0");
    }
    e.reception_seconds = seconds;
  }
  if (f.Get(kApplicantKey, value)) {
    object applicant_object;
    if (value.get_object().get(applicant_object) != simdjson::SUCCESS) {
      return Invalid("applicant", "is not an object");
    }
    const FieldTable applicant(applicant_object);
    rules::ApplicantView view;
    if (auto error = GetStringAt(applicant, kNameKey, "name", view.name)) return *error;
    if (auto error = GetStringAt(applicant, kAddressKey, "address", view.address)) return *error;
    if (auto error = GetStringAt(applicant, kPhoneKey, "phone", view.phone)) return *error;
    if (auto error = GetStringAt(applicant, kEmailKey, "email", view.email)) return *error;
    e.applicant = view;
  }
  text = {};
  if (auto error = GetString(f, kRatingKey, "rating", text)) return *error;
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
  if (auto error = GetString(f, kMethodKey, "method", text)) return *error;
  if (text == "online") {
    e.method = rules::PaymentMethod::kOnline;
  } else if (text == "cash") {
    e.method = rules::PaymentMethod::kCash;
  } else if (!text.empty()) {
    return Invalid("method", "must be online or cash");
  }
  text = {};
  if (auto error = GetString(f, kReturnChannelKey, "return_channel", text)) return *error;
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
