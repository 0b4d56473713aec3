#pragma once
// The apology letters the engine derived, kept so GET /letters/{id} can print them after any
// restart. An EngineListener fed with every letter (fresh or not); each letter's event JSON is
// appended to a file (state_dir/letters.jsonl) with one write(2), so a SIGKILL loses nothing the
// kernel has, and only an index (letter id -> offset, about 80 bytes a letter) stays in memory.
// At most `keep` letters are indexed, the oldest dropped first; the file is compacted to them
// when it is opened and when it holds twice as many lines. Re-derived letters (a replay after
// restart) replace the stored one. Single-threaded: the engine's thread.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

class LetterStore final : public rules::EngineListener {
 public:
  // `file` empty: memory only (tests, replay). Reads the file's letters back; a torn last line
  // (a crash mid-write) is dropped.
  static Result<std::unique_ptr<LetterStore>> Open(const std::string& file, size_t keep);
  ~LetterStore() override;
  LetterStore(const LetterStore&) = delete;
  LetterStore& operator=(const LetterStore&) = delete;

  // The calendar letters' instants are written in (the engine's; reload changes it).
  void set_calendar(const rules::BusinessCalendar* calendar) { calendar_ = calendar; }

  void OnApologyLetter(const rules::ApologyLetter& letter) override;
  // Stores one letter event as JSON (what OnApologyLetter does after serialising it).
  void Put(std::string_view letter_id, std::string_view dossier_id, std::string_view json);

  // The letter event JSON, or nullopt when unknown (or dropped as older than `keep`).
  std::optional<std::string> Find(std::string_view letter_id) const;
  // The ids of a dossier's letters, by cycle.
  std::vector<std::string> IdsOf(std::string_view dossier_id) const;
  size_t size() const { return index_.size(); }
  const std::string& error() const { return error_; }  // the last write error, if any

 private:
  struct Entry {
    std::string dossier_id;
    int cycle = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    std::string json;  // memory-only stores
  };
  LetterStore(std::string file, size_t keep);
  Status Load();
  Status Compact();
  void Index(std::string letter_id, Entry entry);

  std::string file_;
  size_t keep_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  size_t file_lines_ = 0;
  const rules::BusinessCalendar* calendar_ = nullptr;
  std::map<std::string, Entry, std::less<>> index_;  // by letter id "<dossier>:apology:<n>"
  std::deque<std::string> order_;                    // letter ids, oldest first (may be stale)
  std::string error_;
  std::string buffer_;
};

}  // namespace ontime::daemon
