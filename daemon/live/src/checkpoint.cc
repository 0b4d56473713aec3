#include "ontime/daemon/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "ontime/base/crc32c.h"

namespace ontime::daemon {
namespace {

constexpr std::string_view kMagic = "ONTCKPT1";
constexpr std::string_view kEndMagic = "ONTCKEND";
constexpr size_t kBuffer = 1 << 20;
// Lengths no record of ours comes near: a corrupt length is an error, not a huge allocation.
constexpr uint32_t kMaxKey = 1 << 16;
constexpr uint32_t kMaxValue = 64u << 20;

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

void PutU16(std::string& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint64_t GetLe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string EncodeHeader(const CheckpointHeader& h) {
  std::string out(kMagic);
  PutU32(out, CheckpointHeader::kVersion);
  PutU16(out, static_cast<uint16_t>(h.topic.size()));
  out += h.topic;
  PutU32(out, static_cast<uint32_t>(h.partition));
  PutU64(out, static_cast<uint64_t>(h.offset));
  PutU64(out, static_cast<uint64_t>(h.created.time_since_epoch().count()));
  PutU64(out, h.records);
  PutU32(out, Crc32c::Of(out));
  return out;
}

// Writes a checkpoint's file; `source` says, before the rename, whether what `next` handed was
// whole (a merge's old file may turn out corrupt halfway).
Result<CheckpointHeader> WriteFile(const std::string& path, CheckpointHeader header,
                                   const NextRecord& next, const std::function<Status()>& source) {
  const std::filesystem::path target(path);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) return Error{"checkpoint_write", "cannot create " + target.parent_path().string()};
  const std::string temporary = path + ".tmp";
  File f(std::fopen(temporary.c_str(), "wb"));
  if (!f) return Error{"checkpoint_write", Errno("cannot create " + temporary)};
  std::setvbuf(f.get(), nullptr, _IOFBF, kBuffer);
  auto fail = [&temporary](const std::string& why) -> Result<CheckpointHeader> {
    std::remove(temporary.c_str());
    return Error{"checkpoint_write", why};
  };
  header.records = 0;
  std::string bytes = EncodeHeader(header);  // rewritten with the count at the end
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return fail(Errno("cannot write " + temporary));
  }
  Crc32c crc;
  std::string_view key, value;
  std::string record;
  std::string last_key;
  while (next(key, value)) {
    if (header.records > 0 && key <= last_key) {
      return fail("records not in key order at " + std::string(key));
    }
    last_key.assign(key);
    record.clear();
    PutU32(record, static_cast<uint32_t>(key.size()));
    record += key;
    PutU32(record, static_cast<uint32_t>(value.size()));
    record += value;
    crc.Update(record.data(), record.size());
    if (std::fwrite(record.data(), 1, record.size(), f.get()) != record.size()) {
      return fail(Errno("cannot write " + temporary));
    }
    ++header.records;
  }
  if (source) {
    if (Status s = source(); !s.ok()) return fail(s.error().message);
  }
  std::string trailer(kEndMagic);
  PutU64(trailer, header.records);
  PutU32(trailer, crc.value());
  bytes = EncodeHeader(header);
  if (std::fwrite(trailer.data(), 1, trailer.size(), f.get()) != trailer.size() ||
      std::fflush(f.get()) != 0 || std::fseek(f.get(), 0, SEEK_SET) != 0 ||
      std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size() ||
      std::fflush(f.get()) != 0 || ::fsync(fileno(f.get())) != 0) {
    return fail(Errno("cannot write " + temporary));
  }
  if (std::fclose(f.release()) != 0) return fail(Errno("cannot close " + temporary));
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return fail(Errno("cannot rename " + temporary));
  }
  // The rename itself survives a power cut once the folder is synced (best effort).
  const int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return header;
}

// Reads a checkpoint's file, as a sequence: Open (the header, then `check` on it), Next for each
// record, End (the trailer and checksums).
class FileReader {
 public:
  Result<CheckpointHeader> Open(const std::string& path,
                                const std::function<Status(const CheckpointHeader&)>& check) {
    path_ = path;
    f_.reset(std::fopen(path.c_str(), "rb"));
    if (!f_) {
      if (errno == ENOENT) return Error{"checkpoint_missing", "no checkpoint at " + path};
      return Error{"checkpoint_invalid", Errno("cannot open " + path)};
    }
    std::setvbuf(f_.get(), nullptr, _IOFBF, kBuffer);
    unsigned char fixed[8 + 4 + 2];
    if (!Get(fixed, sizeof fixed)) return Invalid("cut short in its header");
    if (std::string_view(reinterpret_cast<char*>(fixed), 8) != kMagic) {
      return Error{"checkpoint_foreign", path + " is not an ontime checkpoint"};
    }
    const auto version = static_cast<uint32_t>(GetLe(fixed + 8, 4));
    if (version != CheckpointHeader::kVersion) {
      return Error{"checkpoint_foreign", path + " has format version " + std::to_string(version) +
                                             "; this ontimed reads version " +
                                             std::to_string(CheckpointHeader::kVersion)};
    }
    const auto topic_size = static_cast<size_t>(GetLe(fixed + 12, 2));
    CheckpointHeader h;
    h.topic.resize(topic_size);
    unsigned char rest[4 + 8 + 8 + 8 + 4];
    if (!Get(h.topic.data(), topic_size) || !Get(rest, sizeof rest)) {
      return Invalid("cut short in its header");
    }
    h.partition = static_cast<int32_t>(GetLe(rest, 4));
    h.offset = static_cast<int64_t>(GetLe(rest + 4, 8));
    h.created = Instant(Duration(static_cast<int64_t>(GetLe(rest + 12, 8))));
    h.records = GetLe(rest + 20, 8);
    const std::string encoded = EncodeHeader(h);
    if (static_cast<uint32_t>(GetLe(rest + 28, 4)) !=
        static_cast<uint32_t>(GetLe(
            reinterpret_cast<const unsigned char*>(encoded.data()) + encoded.size() - 4, 4))) {
      return Invalid("header checksum mismatch");
    }
    if (check) {
      if (Status s = check(h); !s.ok()) return s.error();
    }
    header_ = h;
    return h;
  }

  // The next record into key_ and value_; false at the end of the records (or on an error,
  // then in error_).
  bool Next() {
    if (read_ == header_.records || error_) return false;
    unsigned char size[4];
    if (!Get(size, 4)) return Fail("cut short after " + std::to_string(read_) + " records");
    const auto key_size = static_cast<uint32_t>(GetLe(size, 4));
    if (key_size > kMaxKey) return Fail("a key length of " + std::to_string(key_size));
    key_.resize(key_size);
    if (!Get(key_.data(), key_size) || !Get(size, 4)) {
      return Fail("cut short after " + std::to_string(read_) + " records");
    }
    const auto value_size = static_cast<uint32_t>(GetLe(size, 4));
    if (value_size > kMaxValue) return Fail("a value length of " + std::to_string(value_size));
    value_.resize(value_size);
    if (!Get(value_.data(), value_size)) {
      return Fail("cut short after " + std::to_string(read_) + " records");
    }
    if (read_ > 0 && key_ <= last_key_) return Fail("records not in key order");
    last_key_ = key_;
    scratch_.clear();
    PutU32(scratch_, key_size);
    crc_.Update(scratch_.data(), scratch_.size());
    crc_.Update(key_.data(), key_.size());
    crc_.Update(size, sizeof size);  // the value's length
    crc_.Update(value_.data(), value_.size());
    ++read_;
    return true;
  }

  // After the last Next: the trailer, both counts, the records' checksum, nothing after.
  Status End() {
    if (error_) return *error_;
    if (read_ != header_.records) return Error{"checkpoint_invalid", path_ + ": records missing"};
    unsigned char trailer[8 + 8 + 4];
    if (!Get(trailer, sizeof trailer)) return Invalid("cut short before its trailer");
    if (std::string_view(reinterpret_cast<char*>(trailer), 8) != kEndMagic ||
        GetLe(trailer + 8, 8) != header_.records) {
      return Error{"checkpoint_invalid", path_ + ": its trailer does not match its header"};
    }
    if (static_cast<uint32_t>(GetLe(trailer + 16, 4)) != crc_.value()) {
      return Error{"checkpoint_invalid", path_ + ": records checksum mismatch"};
    }
    if (std::fgetc(f_.get()) != EOF) {
      return Error{"checkpoint_invalid", path_ + ": bytes after its trailer"};
    }
    return Ok{};
  }

  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }

 private:
  Error Invalid(const std::string& why) const {
    return Error{"checkpoint_invalid", path_ + ": " + why};
  }

  bool Get(void* out, size_t size) { return std::fread(out, 1, size, f_.get()) == size; }
  bool Fail(const std::string& why) {
    error_ = Error{"checkpoint_invalid", path_ + ": " + why};
    return false;
  }

  std::string path_;
  File f_;
  CheckpointHeader header_;
  uint64_t read_ = 0;
  Crc32c crc_;
  std::string key_, value_, last_key_, scratch_;
  std::optional<Error> error_;
};

}  // namespace

Status WriteCheckpoint(const std::string& path, CheckpointHeader header, const NextRecord& next) {
  auto written = WriteFile(path, std::move(header), next, {});
  if (!written.ok()) return written.error();
  return Ok{};
}

Result<CheckpointHeader> ReadCheckpointHeader(const std::string& path) {
  FileReader reader;
  return reader.Open(path, {});
}

Result<CheckpointHeader> ReadCheckpoint(const std::string& path, const VisitRecord& visit) {
  FileReader reader;
  auto header = reader.Open(path, {});
  if (!header.ok()) return header;
  while (reader.Next()) visit(reader.key(), reader.value());
  if (Status end = reader.End(); !end.ok()) return end.error();
  return header;
}

Result<CheckpointHeader> MergeCheckpoint(const std::string& old_path, const Tail& tail,
                                         CheckpointHeader header, const std::string& new_path) {
  FileReader old;
  if (auto opened = old.Open(old_path, {}); !opened.ok()) return opened;
  bool old_has = old.Next();
  auto it = tail.begin();
  std::string key_held, value_held;  // the record handed last: its views must outlive the call
  const NextRecord next = [&](std::string_view& key, std::string_view& value) {
    while (true) {
      const bool tail_has = it != tail.end();
      if (!old_has && !tail_has) return false;
      if (tail_has && (!old_has || it->first <= old.key())) {
        const bool replaces = old_has && it->first == old.key();
        const auto& entry = *it++;
        if (replaces) old_has = old.Next();
        if (!entry.second) continue;  // a tombstone: the dossier left the state
        key = entry.first;
        value = *entry.second;
        return true;
      }
      key_held = old.key();
      value_held = old.value();
      old_has = old.Next();
      key = key_held;
      value = value_held;
      return true;
    }
  };
  return WriteFile(new_path, std::move(header), next, [&old] { return old.End(); });
}

CheckpointStore::CheckpointStore(std::string folder, std::string topic, Duration max_age)
    : folder_(std::move(folder)), topic_(std::move(topic)), max_age_(max_age.count()) {}

std::string CheckpointStore::Path(int32_t partition) const {
  return folder_ + "/" + topic_ + "-" + std::to_string(partition) + ".ckpt";
}

Status CheckpointStore::CheckUsable(const CheckpointHeader& h, int32_t partition,
                                    Instant now) const {
  if (h.topic != topic_ || h.partition != partition) {
    return Error{"checkpoint_foreign", "it is of " + h.topic + "[" + std::to_string(h.partition) +
                                           "], not " + topic_ + "[" + std::to_string(partition) +
                                           "]"};
  }
  if (h.offset < 0) return Error{"checkpoint_invalid", "its offset is negative"};
  if (now - h.created >= max_age()) {
    return Error{"checkpoint_too_old",
                 "it is " + std::to_string((now - h.created) / std::chrono::seconds(1)) +
                     " s old, the changelog's tombstones are kept " +
                     std::to_string(max_age() / std::chrono::seconds(1)) +
                     " s (delete.retention.ms): one may be gone since"};
  }
  return Ok{};
}

Result<CheckpointHeader> CheckpointStore::Load(int32_t partition, Instant now,
                                               const VisitRecord& visit) const {
  FileReader reader;
  auto header = reader.Open(
      Path(partition), [&](const CheckpointHeader& h) { return CheckUsable(h, partition, now); });
  if (!header.ok()) return header;
  while (reader.Next()) visit(reader.key(), reader.value());
  if (Status end = reader.End(); !end.ok()) return end.error();
  return header;
}

Result<CheckpointHeader> CheckpointStore::Usable(int32_t partition, Instant now) const {
  FileReader reader;
  return reader.Open(Path(partition),
                     [&](const CheckpointHeader& h) { return CheckUsable(h, partition, now); });
}

Status CheckpointStore::Write(int32_t partition, int64_t offset, Instant created,
                              const NextRecord& next) const {
  return WriteCheckpoint(Path(partition), CheckpointHeader{topic_, partition, offset, created, 0},
                         next);
}

Result<CheckpointHeader> CheckpointStore::Merge(int32_t partition, const Tail& tail, int64_t offset,
                                                Instant created) const {
  return MergeCheckpoint(Path(partition), tail,
                         CheckpointHeader{topic_, partition, offset, created, 0}, Path(partition));
}

void CheckpointStore::Remove(int32_t partition) const { std::remove(Path(partition).c_str()); }

bool CheckpointStore::TryLock(int32_t partition) {
  std::lock_guard lock(mutex_);
  if (busy_[partition]) return false;
  busy_[partition] = true;
  return true;
}

void CheckpointStore::Lock(int32_t partition) {
  std::unique_lock lock(mutex_);
  released_.wait(lock, [&] { return !busy_[partition]; });
  busy_[partition] = true;
}

void CheckpointStore::Unlock(int32_t partition) {
  std::lock_guard lock(mutex_);
  busy_[partition] = false;
  released_.notify_all();
}

}  // namespace ontime::daemon
