#include "ontime/daemon/snapshot_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ontime::daemon {
namespace {

constexpr std::string_view kMagic = "ontime-snapshot 1\n";
constexpr std::string_view kFileName = "snapshot.bin";

Error IoError(const std::string& what, const std::string& path) {
  return Error{"snapshot_io", what + " " + path + ": " + std::strerror(errno)};
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

SnapshotStore::SnapshotStore(std::string dir) : dir_(std::move(dir)) {}

std::string SnapshotStore::path() const { return dir_ + "/" + std::string(kFileName); }

Status SnapshotStore::Write(const SnapshotMeta& meta,
                            const std::function<void(std::ostream&)>& save_engine) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Error{"snapshot_io", "cannot create " + dir_ + ": " + ec.message()};

  std::ostringstream engine;
  save_engine(engine);
  std::string engine_bytes = std::move(engine).str();

  std::string out(kMagic);
  out += "written_at " + std::to_string(meta.written_at.time_since_epoch().count()) + "\n";
  out += "input " + meta.input_topic + "\n";
  for (const auto& [p, o] : meta.input_offsets) {
    out += "offset " + std::to_string(p) + " " + std::to_string(o) + "\n";
  }
  for (const auto& [topic, ends] : meta.output_ends) {
    for (const auto& [p, o] : ends) {
      out += "output " + topic + " " + std::to_string(p) + " " + std::to_string(o) + "\n";
    }
  }
  out += "engine " + std::to_string(engine_bytes.size()) + "\n";
  out += engine_bytes;
  out += "\nend\n";

  std::string tmp = path() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return IoError("cannot create", tmp);
  if (!WriteAll(fd, out) || ::fsync(fd) != 0) {
    Error e = IoError("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::close(fd) != 0) return IoError("cannot write", tmp);
  if (::rename(tmp.c_str(), path().c_str()) != 0) return IoError("cannot rename to", path());
  int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Ok{};
}

Result<std::optional<Snapshot>> SnapshotStore::Read() const {
  std::ifstream in(path(), std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path())) return std::optional<Snapshot>();
    return IoError("cannot read", path());
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto corrupt = [&](const std::string& why) {
    return Error{"snapshot_corrupt", path() + ": " + why};
  };
  if (data.rfind(kMagic, 0) != 0) return corrupt("not an ontime snapshot");
  Snapshot snap;
  size_t pos = kMagic.size();
  while (true) {
    size_t eol = data.find('\n', pos);
    if (eol == std::string::npos) return corrupt("truncated header");
    std::istringstream line(data.substr(pos, eol - pos));
    pos = eol + 1;
    std::string word;
    line >> word;
    if (word == "written_at") {
      int64_t ms = 0;
      line >> ms;
      snap.meta.written_at = Instant(Duration(ms));
    } else if (word == "input") {
      line >> snap.meta.input_topic;
    } else if (word == "offset") {
      int32_t p = 0;
      int64_t o = 0;
      line >> p >> o;
      snap.meta.input_offsets[p] = o;
    } else if (word == "output") {
      std::string topic;
      int32_t p = 0;
      int64_t o = 0;
      line >> topic >> p >> o;
      snap.meta.output_ends[topic][p] = o;
    } else if (word == "engine") {
      size_t size = 0;
      line >> size;
      if (line.fail() || pos + size > data.size()) return corrupt("truncated engine state");
      snap.engine = data.substr(pos, size);
      pos += size;
      if (data.compare(pos, std::string::npos, "\nend\n") != 0) return corrupt("bad trailer");
      return std::optional<Snapshot>(std::move(snap));
    } else {
      return corrupt("unknown header line '" + word + "'");
    }
    if (line.fail()) return corrupt("malformed header line '" + word + "'");
  }
}

}  // namespace ontime::daemon
