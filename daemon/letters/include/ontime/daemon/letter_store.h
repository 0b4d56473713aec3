#pragma once
// The apology letters the engine derived, kept so GET /letters/{id} can print them after any
// restart. An EngineListener fed with every letter (fresh or not); each letter's event JSON is a
// line of an append-only segment file (`letters.000001.jsonl`, ... beside the configured
// `letters.jsonl`, which an older version wrote and is read as the oldest segment). Only an index
// (letter id -> segment, offset, about 90 bytes a letter) stays in memory.
//
// The disk is never touched on the engine's thread: a writer thread appends the lines, opens the
// next segment and deletes the segments no indexed letter is in any more; nothing is ever
// rewritten. WrittenBarrier() gives what the transaction's worker waits on before a commit, so a
// letter is in the kernel's hands before the Kafka transaction that carries it is committed, and
// a SIGKILL loses nothing a committed transaction holds.
//
// At most `keep` letters are indexed, the oldest dropped first; a segment holds up to
// max(keep / 4, 1024) lines, and each start begins a new one. Re-derived letters (a replay after
// restart) replace the stored one. Single-threaded (the engine's thread) but for the writer.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/rules/engine.h"

namespace ontime::daemon {

class LetterStore final : public rules::EngineListener {
 public:
  // `file` empty: memory only (tests, replay). Reads every segment's letters back; a torn last
  // line (a crash mid-write) is dropped.
  static Result<std::unique_ptr<LetterStore>> Open(const std::string& file, size_t keep);
  // Writes what is still queued, then stops the writer.
  ~LetterStore() override;
  LetterStore(const LetterStore&) = delete;
  LetterStore& operator=(const LetterStore&) = delete;

  // The calendar letters' instants are written in (the engine's; reload changes it).
  void set_calendar(const rules::BusinessCalendar* calendar) { calendar_ = calendar; }

  void OnApologyLetter(const rules::ApologyLetter& letter) override;
  // Stores one letter event as JSON (what OnApologyLetter does after serialising it).
  void Put(std::string_view letter_id, std::string_view dossier_id, std::string_view json);

  // Called on the engine's thread: a function that returns once every letter put so far is
  // written (or its write failed); it may run on any thread, any time later.
  std::function<void()> WrittenBarrier();

  // The letter event JSON, or nullopt when unknown (or dropped as older than `keep`).
  std::optional<std::string> Find(std::string_view letter_id) const;
  // The ids of a dossier's letters, by cycle.
  std::vector<std::string> IdsOf(std::string_view dossier_id) const;
  size_t size() const { return index_.size(); }
  // Segment files on disk (or about to be), for tests and the log.
  size_t segments() const { return segments_.size(); }
  std::string error() const;  // the last write error, if any

 private:
  struct Entry {
    std::string dossier_id;
    int cycle = 0;
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint64_t put = 0;  // the writer's ticket for its line
    std::string json;  // until written (memory-only stores: always)
  };
  struct Segment {
    std::string path;
    size_t live = 0;   // indexed letters in it
    size_t lines = 0;  // lines in it
    uint64_t size = 0;
  };
  class Writer;

  LetterStore(std::string file, size_t keep);
  Status Load();
  Status LoadSegment(uint32_t number, const std::string& path);
  void StartSegment();
  void Index(std::string letter_id, Entry entry);
  void Release(uint32_t segment);
  void Settle();  // forgets the in-memory copies of written letters

  std::string file_;
  size_t keep_;
  size_t segment_lines_;
  const rules::BusinessCalendar* calendar_ = nullptr;
  std::map<std::string, Entry, std::less<>> index_;  // by letter id "<dossier>:apology:<n>"
  std::deque<std::string> order_;                    // letter ids, oldest first (may be stale)
  std::map<uint32_t, Segment> segments_;             // by number; the last one is appended to
  std::deque<std::pair<uint64_t, std::string>> unwritten_;  // (writer's ticket, letter id)
  std::string buffer_;
  std::shared_ptr<Writer> writer_;  // shared with the barriers handed out
};

}  // namespace ontime::daemon
