#include "ontime/daemon/letter_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "ontime/streams/json_output.h"

namespace ontime::daemon {
namespace {

// The value of "key":"..." in a letter line the store wrote (JsonWriter escapes quotes, so the
// first unescaped quote ends it); empty when absent.
std::string_view RawString(std::string_view json, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) return {};
  const size_t begin = at + needle.size();
  size_t end = begin;
  while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
  return json.substr(begin, std::min(end, json.size()) - begin);
}

int CycleOf(std::string_view letter_id) {
  const size_t colon = letter_id.rfind(':');
  return colon == std::string_view::npos
             ? 0
             : std::atoi(std::string(letter_id.substr(colon + 1)).c_str());
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{"letter_store", std::strerror(errno)};
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

}  // namespace

LetterStore::LetterStore(std::string file, size_t keep) : file_(std::move(file)), keep_(keep) {}

LetterStore::~LetterStore() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<LetterStore>> LetterStore::Open(const std::string& file, size_t keep) {
  std::unique_ptr<LetterStore> store(new LetterStore(file, keep));
  if (file.empty()) return store;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ignored);
  if (Status loaded = store->Load(); !loaded.ok()) return loaded.error();
  if (Status compacted = store->Compact(); !compacted.ok()) return compacted.error();
  return store;
}

Status LetterStore::Load() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return Ok{};  // first start: nothing kept yet
  std::string line;
  uint64_t offset = 0;
  while (std::getline(in, line)) {
    const bool complete = !in.eof();  // a last line without '\n' was torn by a crash
    const uint64_t length = line.size();
    if (complete && !line.empty()) {
      std::string_view id = RawString(line, "letter_id");
      std::string_view dossier = RawString(line, "dossier_id");
      if (!id.empty()) {
        Index(std::string(id),
              Entry{std::string(dossier), CycleOf(id), offset, static_cast<uint32_t>(length), {}});
      }
    }
    offset += length + 1;
  }
  return Ok{};
}

// Rewrites the file with the indexed letters only, oldest first, then appends from there.
Status LetterStore::Compact() {
  std::string kept;
  {
    std::ifstream in(file_, std::ios::binary);
    for (const std::string& id : order_) {
      auto it = index_.find(id);
      if (it == index_.end()) continue;
      std::string line(it->second.length, '\0');
      in.seekg(static_cast<std::streamoff>(it->second.offset));
      in.read(line.data(), static_cast<std::streamsize>(line.size()));
      if (!in) return Error{"letter_store", "cannot read " + file_};
      it->second.offset = kept.size();
      kept += line;
      kept.push_back('\n');
    }
  }
  order_.clear();
  // order_ must follow the new file: rebuild it from the offsets.
  std::vector<std::pair<uint64_t, std::string>> by_offset;
  for (const auto& [id, entry] : index_) by_offset.emplace_back(entry.offset, id);
  std::sort(by_offset.begin(), by_offset.end());
  for (auto& [offset, id] : by_offset) order_.push_back(std::move(id));

  const std::string temp = file_ + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Error{"letter_store", "cannot write " + temp + ": " + std::strerror(errno)};
  Status written = WriteAll(fd, kept);
  if (written.ok() && ::fsync(fd) != 0) written = Error{"letter_store", std::strerror(errno)};
  ::close(fd);
  if (!written.ok()) return written;
  if (::rename(temp.c_str(), file_.c_str()) != 0) {
    return Error{"letter_store", "cannot rename " + temp + ": " + std::strerror(errno)};
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return Error{"letter_store", "cannot open " + file_ + ": " + std::strerror(errno)};
  file_size_ = kept.size();
  file_lines_ = index_.size();
  return Ok{};
}

void LetterStore::Index(std::string letter_id, Entry entry) {
  auto [it, inserted] = index_.insert_or_assign(letter_id, std::move(entry));
  (void)it;
  if (inserted) order_.push_back(std::move(letter_id));
  while (index_.size() > keep_ && !order_.empty()) {
    index_.erase(order_.front());
    order_.pop_front();
  }
}

void LetterStore::OnApologyLetter(const rules::ApologyLetter& letter) {
  if (calendar_ == nullptr) return;
  buffer_.clear();
  streams::AppendLetterJson(buffer_, letter, *calendar_);
  Put(letter.LetterId(), letter.dossier_id, buffer_);
}

void LetterStore::Put(std::string_view letter_id, std::string_view dossier_id,
                      std::string_view json) {
  Entry entry{std::string(dossier_id), CycleOf(letter_id), 0, 0, {}};
  if (fd_ < 0) {
    entry.json = std::string(json);
    Index(std::string(letter_id), std::move(entry));
    return;
  }
  std::string line(json);
  line.push_back('\n');
  if (Status written = WriteAll(fd_, line); !written.ok()) {
    error_ = written.error().message;
    return;
  }
  entry.offset = file_size_;
  entry.length = static_cast<uint32_t>(json.size());
  file_size_ += line.size();
  ++file_lines_;
  Index(std::string(letter_id), std::move(entry));
  if (file_lines_ > 2 * std::max<size_t>(keep_, 1024)) {
    if (Status compacted = Compact(); !compacted.ok()) error_ = compacted.error().message;
  }
}

std::optional<std::string> LetterStore::Find(std::string_view letter_id) const {
  auto it = index_.find(letter_id);
  if (it == index_.end()) return std::nullopt;
  if (fd_ < 0) return it->second.json;
  const int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string json(it->second.length, '\0');
  const ssize_t n = ::pread(fd, json.data(), json.size(), static_cast<off_t>(it->second.offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(json.size())) return std::nullopt;
  return json;
}

std::vector<std::string> LetterStore::IdsOf(std::string_view dossier_id) const {
  std::vector<std::pair<int, std::string>> found;
  const std::string prefix = std::string(dossier_id) + ":apology:";
  for (auto it = index_.lower_bound(prefix); it != index_.end() && it->first.starts_with(prefix);
       ++it) {
    if (it->second.dossier_id == dossier_id) found.emplace_back(it->second.cycle, it->first);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> ids;
  for (auto& [cycle, id] : found) ids.push_back(std::move(id));
  return ids;
}

}  // namespace ontime::daemon
