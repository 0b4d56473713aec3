#include "ontime/daemon/letter_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
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

// "dir/letters.jsonl" -> "dir/letters." and ".jsonl": segment n is "dir/letters.000012.jsonl".
std::pair<std::string, std::string> SegmentName(const std::string& file) {
  constexpr std::string_view kExtension = ".jsonl";
  if (file.ends_with(kExtension)) {
    return {file.substr(0, file.size() - kExtension.size()) + ".", std::string(kExtension)};
  }
  return {file + ".", ""};
}

std::string SegmentPath(const std::string& file, uint32_t number) {
  auto [stem, extension] = SegmentName(file);
  char digits[16];
  std::snprintf(digits, sizeof digits, "%06u", number);
  return stem + digits + extension;
}

}  // namespace

// The thread that touches the disk: appends, in order, and deletions of dead segments. `done`
// is the ticket of the last job done (a failure too: it is in `error`).
class LetterStore::Writer {
 public:
  Writer() : thread_([this] { Run(); }) {}
  ~Writer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();  // after the queue is drained
    if (fd_ >= 0) ::close(fd_);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Each returns its ticket: done() reaches it once the job is done.
  // `json` and its '\n'.
  uint64_t Append(const std::string& path, std::string_view json) {
    bool wake = false;
    uint64_t ticket = 0;
    {
      std::lock_guard lock(mutex_);
      ticket = ++tickets_;
      if (queue_.empty() || queue_.back().remove || queue_.back().path != path) {
        queue_.push_back(Job{false, path, {}, ticket});
      }
      queue_.back().bytes.append(json).push_back('\n');
      queue_.back().through = ticket;
      wake = waiting_;
    }
    if (wake) wake_.notify_one();
    return ticket;
  }

  uint64_t Remove(const std::string& path) {
    bool wake = false;
    uint64_t ticket = 0;
    {
      std::lock_guard lock(mutex_);
      ticket = ++tickets_;
      queue_.push_back(Job{true, path, {}, ticket});
      wake = waiting_;
    }
    if (wake) wake_.notify_one();
    return ticket;
  }

  uint64_t last_ticket() const {
    std::lock_guard lock(mutex_);
    return tickets_;
  }

  uint64_t done() const { return done_.load(std::memory_order_acquire); }

  void WaitFor(uint64_t through) {
    std::unique_lock lock(mutex_);
    written_.wait(lock, [&] { return done_.load(std::memory_order_relaxed) >= through; });
  }

  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  struct Job {
    bool remove = false;
    std::string path;
    std::string bytes;
    uint64_t through = 0;
  };

  void Run() {
    std::deque<Job> jobs;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        waiting_ = true;
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        waiting_ = false;
        if (queue_.empty()) return;  // stopping, and everything written
        jobs.swap(queue_);
      }
      for (Job& job : jobs) {
        Status status = job.remove ? RemoveFile(job.path) : AppendTo(job.path, job.bytes);
        std::lock_guard lock(mutex_);
        if (!status.ok()) error_ = status.error().message;
        done_.store(std::max(done_.load(std::memory_order_relaxed), job.through),
                    std::memory_order_release);
      }
      written_.notify_all();
      jobs.clear();
    }
  }

  Status AppendTo(const std::string& path, std::string_view bytes) {
    if (path != open_path_) {
      if (fd_ >= 0) ::close(fd_);
      open_path_ = path;
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
      if (fd_ < 0) {
        open_path_.clear();
        return Error{"letter_store", "cannot open " + path + ": " + std::strerror(errno)};
      }
    }
    return WriteAll(fd_, bytes);
  }

  Status RemoveFile(const std::string& path) {
    if (path == open_path_) {
      ::close(fd_);
      fd_ = -1;
      open_path_.clear();
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Error{"letter_store", "cannot delete " + path + ": " + std::strerror(errno)};
    }
    return Ok{};
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::deque<Job> queue_;
  bool waiting_ = false;
  bool stopping_ = false;
  uint64_t tickets_ = 0;
  std::atomic<uint64_t> done_{0};
  std::string error_;
  // The writer thread's own.
  int fd_ = -1;
  std::string open_path_;
  std::thread thread_;  // last: starts once the rest is constructed
};

LetterStore::LetterStore(std::string file, size_t keep)
    : file_(std::move(file)), keep_(keep), segment_lines_(std::max<size_t>(keep / 4, 1024)) {}

LetterStore::~LetterStore() = default;  // the writer drains its queue

Result<std::unique_ptr<LetterStore>> LetterStore::Open(const std::string& file, size_t keep) {
  std::unique_ptr<LetterStore> store(new LetterStore(file, keep));
  if (file.empty()) return store;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ignored);
  if (Status loaded = store->Load(); !loaded.ok()) return loaded.error();
  store->writer_ = std::make_shared<Writer>();
  store->StartSegment();
  return store;
}

// Every segment, oldest first: the legacy single file (number 0), then "letters.NNNNNN.jsonl".
// Segments left with no indexed letter are deleted at once.
Status LetterStore::Load() {
  std::vector<std::pair<uint32_t, std::string>> found;
  std::error_code error;
  if (std::filesystem::exists(file_, error)) found.emplace_back(0, file_);
  const std::filesystem::path path(file_);
  const auto [stem, extension] = SegmentName(path.filename().string());
  const std::filesystem::path folder =
      path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  for (const auto& item : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = item.path().filename().string();
    if (name.size() <= stem.size() + extension.size() || !name.starts_with(stem) ||
        !name.ends_with(extension)) {
      continue;
    }
    const std::string_view digits =
        std::string_view(name).substr(stem.size(), name.size() - stem.size() - extension.size());
    uint32_t number = 0;
    const auto [end, parsed] =
        std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (digits.empty() || parsed != std::errc() || end != digits.data() + digits.size() ||
        number == 0) {
      continue;
    }
    found.emplace_back(number, item.path().string());
  }
  if (error)
    return Error{"letter_store", "cannot list " + folder.string() + ": " + error.message()};
  std::sort(found.begin(), found.end());
  for (const auto& [number, segment] : found) {
    if (Status loaded = LoadSegment(number, segment); !loaded.ok()) return loaded;
  }
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second.live > 0) {
      ++it;
      continue;
    }
    std::filesystem::remove(it->second.path, error);
    it = segments_.erase(it);
  }
  return Ok{};
}

Status LetterStore::LoadSegment(uint32_t number, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"letter_store", "cannot read " + path};
  Segment& segment = segments_[number];
  segment.path = path;
  std::string line;
  while (std::getline(in, line)) {
    const bool complete = !in.eof();  // a last line without '\n' was torn by a crash
    const uint64_t length = line.size();
    if (complete && !line.empty()) {
      std::string_view id = RawString(line, "letter_id");
      std::string_view dossier = RawString(line, "dossier_id");
      if (!id.empty()) {
        Index(std::string(id), Entry{std::string(dossier),
                                     CycleOf(id),
                                     number,
                                     segment.size,
                                     static_cast<uint32_t>(length),
                                     0,
                                     {}});
      }
    }
    segment.size += length + 1;
    ++segment.lines;
  }
  return Ok{};
}

void LetterStore::StartSegment() {
  const uint32_t number = segments_.empty() ? 1 : std::max(segments_.rbegin()->first + 1, 1u);
  segments_[number].path = SegmentPath(file_, number);
}

void LetterStore::Index(std::string letter_id, Entry entry) {
  const uint32_t segment = entry.segment;
  auto it = index_.find(letter_id);
  if (it != index_.end()) {
    const uint32_t before = it->second.segment;
    it->second = std::move(entry);
    if (!segments_.empty()) {
      ++segments_[segment].live;
      Release(before);
    }
  } else {
    index_.emplace(letter_id, std::move(entry));
    order_.push_back(std::move(letter_id));
    if (!segments_.empty()) ++segments_[segment].live;
  }
  while (index_.size() > keep_ && !order_.empty()) {
    auto oldest = index_.find(order_.front());
    order_.pop_front();
    if (oldest == index_.end()) continue;
    const uint32_t in = oldest->second.segment;
    index_.erase(oldest);
    if (!segments_.empty()) Release(in);
  }
}

// One letter fewer in `number`: a segment that is not the one appended to, and holds no indexed
// letter any more, is deleted (by the writer, after what is queued before).
void LetterStore::Release(uint32_t number) {
  auto it = segments_.find(number);
  if (it == segments_.end()) return;
  if (it->second.live > 0) --it->second.live;
  const bool appended_to = writer_ != nullptr && std::next(it) == segments_.end();
  if (it->second.live > 0 || appended_to || writer_ == nullptr) return;
  writer_->Remove(it->second.path);
  segments_.erase(it);
}

void LetterStore::Settle() {
  const uint64_t done = writer_->done();
  while (!unwritten_.empty() && unwritten_.front().first <= done) {
    auto it = index_.find(unwritten_.front().second);
    if (it != index_.end() && it->second.put == unwritten_.front().first) {
      std::string().swap(it->second.json);
    }
    unwritten_.pop_front();
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
  Entry entry{std::string(dossier_id), CycleOf(letter_id), 0, 0, 0, 0, std::string(json)};
  if (writer_ == nullptr) {
    Index(std::string(letter_id), std::move(entry));
    return;
  }
  Settle();
  if (segments_.rbegin()->second.lines >= segment_lines_) StartSegment();
  auto& [number, segment] = *segments_.rbegin();
  entry.segment = number;
  entry.offset = segment.size;
  entry.length = static_cast<uint32_t>(json.size());
  segment.size += json.size() + 1;
  ++segment.lines;
  entry.put = writer_->Append(segment.path, json);
  unwritten_.emplace_back(entry.put, letter_id);
  Index(std::string(letter_id), std::move(entry));
}

std::function<void()> LetterStore::WrittenBarrier() {
  if (writer_ == nullptr) return [] {};
  Settle();
  return [writer = writer_, through = writer_->last_ticket()] { writer->WaitFor(through); };
}

std::optional<std::string> LetterStore::Find(std::string_view letter_id) const {
  auto it = index_.find(letter_id);
  if (it == index_.end()) return std::nullopt;
  if (writer_ == nullptr || !it->second.json.empty()) return it->second.json;
  auto segment = segments_.find(it->second.segment);
  if (segment == segments_.end()) return std::nullopt;
  const int fd = ::open(segment->second.path.c_str(), O_RDONLY | O_CLOEXEC);
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

std::string LetterStore::error() const { return writer_ ? writer_->error() : std::string(); }

}  // namespace ontime::daemon
